#!/usr/bin/env bash
# sudo scripts/demo.sh [SOURCE_DIR]
#
# From a fresh Debian 12 machine to a RAFS v6 image of a real directory tree:
#   1. installs the build and test dependencies (scripts/install-deps.sh)
#   2. configures and builds nydus-image (build/, RelWithDebInfo, Ninja)
#   3. picks a source tree: SOURCE_DIR if given, else a debootstrapped Debian bookworm minbase
#      rootfs (cached in $NYDUS_CACHE/rootfs-bookworm, default /var/cache/nydus-cpp), else /usr
#   4. nydus-image create (defaults: RAFS v6, zstd, blake3, 1 MiB chunks) -> image.boot + blob
#   5. nydus-image check, then nydus-image inspect -R stats
# Output in $DEMO_OUT (default /var/tmp/nydus-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
[ "$(id -u)" = 0 ] || { echo "run as root: sudo $0 $*" >&2; exit 1; }
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
OUT=${DEMO_OUT:-/var/tmp/nydus-demo}
T0=$(date +%s)
step() { echo; echo "== [+$(( $(date +%s) - T0 ))s] $*"; }
show() { echo "\$ $*"; "$@"; }

step "1. dependencies"
scripts/install-deps.sh

step "2. build nydus-image"
[ -f build/CMakeCache.txt ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target nydus-image
NYDUS_IMAGE=$REPO/build/src/tools/nydus-image
[ -x "$NYDUS_IMAGE" ] || { echo "nydus-image was not built ($NYDUS_IMAGE missing)" >&2; exit 1; }

step "3. source tree"
if [ $# -ge 1 ]; then
  SRC=$(cd "$1" && pwd)
elif command -v debootstrap >/dev/null && tests/tools/make-rootfs.sh "$NYDUS_CACHE/rootfs-bookworm"; then
  SRC=$NYDUS_CACHE/rootfs-bookworm
else
  echo "debootstrap unavailable or failed: using /usr"
  SRC=/usr
fi
echo "source: $SRC ($(find "$SRC" -xdev | wc -l) entries, $(du -sh "$SRC" | cut -f1))"

step "4. create"
rm -rf "$OUT"; mkdir -p "$OUT/blobs"
t=$(date +%s%N)
show "$NYDUS_IMAGE" create -B "$OUT/image.boot" -D "$OUT/blobs" -J "$OUT/create.json" "$SRC"
echo "create took $(( ($(date +%s%N) - t) / 1000000 )) ms"
echo "bootstrap: $(stat -c %s "$OUT/image.boot") bytes"
for b in "$OUT"/blobs/*; do echo "blob:      $(stat -c %s "$b") bytes  $(basename "$b")"; done

step "5. check and inspect"
show "$NYDUS_IMAGE" check -B "$OUT/image.boot" -D "$OUT/blobs"
show "$NYDUS_IMAGE" inspect -R stats "$OUT/image.boot"
echo
echo "done in $(( $(date +%s) - T0 ))s; image in $OUT (remove with: rm -rf $OUT)"
