#!/usr/bin/env bash
# cache-image.sh NAME [NAME...]   (NAME: python | node | debian)
#
# The one builder of the testbed image cache: makes sure NAME:bookworm is built by
# tests/tools/make-images.sh and cached as an OCI layout under $NYDUS_CACHE/images-NAME (default
# /var/cache/nydus-cpp): a private registry on a free port, make-images.sh IMAGES=NAME
# EXTRA_TAGS=0 with the shared debootstrap tree $NYDUS_CACHE/rootfs-bookworm, then a
# `.complete` marker. A cache is complete with the marker, oci/ and expected/NAME-bookworm/rootfs.
# REFRESH=1 rebuilds. Holds $NYDUS_CACHE/images-NAME.lock while it works. Prints the cache
# directory per image; the build's output goes to stderr.
# Used by tests/e2e/lib.sh (cached_image, python_image_layers) and bench/startup_bench.sh.
# Needs root (make-images.sh uses chroot), debootstrap, umoci, skopeo, docker-registry, a Debian
# mirror, and npm for node — only when it has to build.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
[ $# -ge 1 ] || { echo "usage: $0 python|node|debian ..." >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cache_one() {
  local name=$1 img=$NYDUS_CACHE/images-$1 tag=$1-bookworm
  case $name in python|node|debian) ;; *) echo "unknown image $name (python|node|debian)" >&2; return 2 ;; esac
  mkdir -p "$NYDUS_CACHE"
  (
    flock 8
    if [ "${REFRESH:-0}" = 1 ] || [ ! -f "$img.complete" ] || [ ! -d "$img/oci" ] ||
       [ ! -d "$img/expected/$tag/rootfs" ]; then
      [ "$(id -u)" = 0 ] || { echo "$0: building $name needs root (make-images.sh uses chroot)" >&2; exit 1; }
      local tmp port
      tmp=$(mktemp -d /tmp/cache-image.XXXXXX)
      port=$(free_port)
      rm -f "$img.complete"
      echo "building $name:bookworm into $img (make-images.sh; takes minutes)" >&2
      "$HERE/registry.sh" start "$tmp/registry" "$port" >&2
      local rc=0
      env IMAGES="$name" EXTRA_TAGS=0 ROOTFS_DIR="$NYDUS_CACHE/rootfs-bookworm" \
        "$HERE/make-images.sh" "$img" "127.0.0.1:$port" >&2 || rc=$?
      "$HERE/registry.sh" stop "$tmp/registry" >&2 || true
      rm -rf "$tmp"
      [ $rc = 0 ] || { echo "make-images.sh failed for $name ($rc)" >&2; exit $rc; }
      date -u +%Y-%m-%dT%H:%M:%SZ >"$img.complete"
    fi
  ) 8>"$img.lock"
  echo "$img"
}

for n in "$@"; do cache_one "$n"; done
