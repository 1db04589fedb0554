#!/usr/bin/env bash
# Every test, on a fresh machine: installs what the tests need (Debian's Ceph for the real S3
# server, podman for the pod tests, pnpm, dependencies), builds and typechecks, builds the
# init-container image, then runs all test files against real servers. Ends with
# "N passed, N failed".
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --no-e2e   without the image build and the podman pod tests
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--no-e2e" ]; then
  shift
  bash scripts/setup.sh --test-servers
  exec env FA_SKIP_E2E=1 pnpm test "$@"
fi
bash scripts/setup.sh --e2e
bash docker/build-local.sh
exec pnpm test "$@"
