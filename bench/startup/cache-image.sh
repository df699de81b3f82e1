#!/usr/bin/env bash
# cache-image.sh NAME [NAME...]   (NAME: python | node)
#
# Makes sure the testbed image NAME:bookworm is built by tests/tools/make-images.sh and cached
# as an OCI layout under $NYDUS_CACHE/images-NAME (default /var/cache/nydus-cpp), the same way
# tests/e2e/lib.sh caches python (python_image_layers): a private registry on a free port,
# make-images.sh IMAGES=NAME EXTRA_TAGS=0 with the shared debootstrap tree
# $NYDUS_CACHE/rootfs-bookworm, then a `.complete` marker. REFRESH=1 rebuilds.
# Holds $NYDUS_CACHE/images-NAME.lock while it works. Prints the OCI layout path per image.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOOLS=$REPO/tests/tools
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
[ $# -ge 1 ] || { echo "usage: $0 python|node ..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (make-images.sh uses chroot)" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cache_one() {
  local name=$1 img=$NYDUS_CACHE/images-$1 tag=$1-bookworm
  case $name in python|node) ;; *) echo "unknown image $name (python|node)" >&2; return 2 ;; esac
  mkdir -p "$NYDUS_CACHE"
  (
    flock 8
    if [ "${REFRESH:-0}" = 1 ] || [ ! -f "$img.complete" ] || [ ! -d "$img/expected/$tag/rootfs" ]; then
      local tmp port
      tmp=$(mktemp -d /tmp/cache-image.XXXXXX)
      port=$(free_port)
      rm -f "$img.complete"
      echo "building $name:bookworm into $img (make-images.sh; takes minutes)" >&2
      "$TOOLS/registry.sh" start "$tmp/registry" "$port" >&2
      local rc=0
      env IMAGES="$name" EXTRA_TAGS=0 ROOTFS_DIR="$NYDUS_CACHE/rootfs-bookworm" \
        "$TOOLS/make-images.sh" "$img" "127.0.0.1:$port" >&2 || rc=$?
      "$TOOLS/registry.sh" stop "$tmp/registry" >&2 || true
      rm -rf "$tmp"
      [ $rc = 0 ] || { echo "make-images.sh failed for $name ($rc)" >&2; exit $rc; }
      date -u +%Y-%m-%dT%H:%M:%SZ >"$img.complete"
    fi
  ) 8>"$img.lock"
  echo "$img/oci"
}

for n in "$@"; do cache_one "$n"; done
