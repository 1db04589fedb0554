#!/usr/bin/env bash
# Every test, on a fresh machine: installs what the tests need (Debian's Ceph for the real S3
# server, pnpm, dependencies), builds, typechecks, then runs all test files against real
# servers. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test-servers
exec pnpm test "$@"
