#!/usr/bin/env bash
# Prepares a fresh machine: pnpm (pinned), the workspace's dependencies, a build.
# With --test-servers, also the Debian packages the tests run against (Ceph's RADOS Gateway
# for S3, curl, openssl); with --e2e, also podman and what the image build needs; with
# --bench, also the contenders, nginx (the HTTP server) and GNU time.
# Idempotent: what is already there is not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
want_servers=false
want_bench=false
want_e2e=false
for arg in "$@"; do
  case "$arg" in
    --test-servers) want_servers=true ;;
    --e2e) want_servers=true; want_e2e=true ;;
    --bench) want_servers=true; want_bench=true ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if $want_servers; then
  missing=()
  wanted="ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common curl:curl openssl:openssl"
  # Benchmarks compare against the tools users would pick instead, and time them with GNU time.
  $want_bench && wanted="$wanted /usr/bin/aws:awscli /usr/bin/time:time nginx:nginx"
  # The pod tests: podman with runc and the pause image's init, busybox for the image builder.
  $want_e2e && wanted="$wanted podman:podman runc:runc /usr/libexec/podman/catatonit:catatonit /bin/busybox:busybox-static /etc/ssl/certs/ca-certificates.crt:ca-certificates"
  for bin in $wanted; do
    { command -v "${bin%%:*}" >/dev/null 2>&1 || [ -e "${bin%%:*}" ]; } || missing+=("${bin##*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
log=$(mktemp)
if ! pnpm exec turbo run build --output-logs=errors-only >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
rm -f "$log"

# The packaging test installs the packed packages with npm offline (tests stay on loopback):
# fill npm's cache with their dependencies now, while installing is what we are doing.
if $want_servers; then
  node --import tsx scripts/warm-npm-cache.ts
fi
