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

step "2. build nydus-image and nydusd"
[ -f build/CMakeCache.txt ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target nydus-image nydusd
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

step "6. mount lazily with nydusd (localfs backend) and read from it"
NYDUSD=$REPO/build/src/tools/nydusd
MNT=$OUT/mnt
mkdir -p "$MNT"
cat > "$OUT/localfs.json" <<JSON
{
  "device": {
    "backend": {"type": "localfs", "config": {"dir": "$OUT/blobs"}}
  },
  "mode": "direct",
  "digest_validate": true,
  "iostats_files": false,
  "enable_xattr": true
}
JSON
echo "\$ $NYDUSD --config $OUT/localfs.json --mountpoint $MNT --bootstrap $OUT/image.boot --log-level warn &"
"$NYDUSD" --config "$OUT/localfs.json" --mountpoint "$MNT" --bootstrap "$OUT/image.boot" \
  --log-level warn &
NYDUSD_PID=$!
trap 'kill -TERM $NYDUSD_PID 2>/dev/null || true; wait $NYDUSD_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
mountpoint -q "$MNT" || { echo "nydusd did not mount $MNT" >&2; exit 1; }
show ls "$MNT"
f=$(cd "$SRC" && find . -xdev -type f -size +100k | sort | head -n 1)
echo "reading $f through the mount (digest validation on):"
a=$(sha256sum < "$MNT/$f" | cut -d' ' -f1); b=$(sha256sum < "$SRC/$f" | cut -d' ' -f1)
echo "  mount : $a"; echo "  source: $b"
[ "$a" = "$b" ] || { echo "content differs!" >&2; exit 1; }
if [ -e "$MNT/bin/bash" ]; then
  echo "running a program from the image (chroot into the read-only mount):"
  show chroot "$MNT" /bin/bash -c 'echo "hello from Debian $(</etc/debian_version), $(ls /usr/bin | wc -l) programs in /usr/bin"'
fi
kill -TERM $NYDUSD_PID; wait $NYDUSD_PID || true; trap - EXIT
echo "nydusd stopped; $MNT unmounted: $(mountpoint -q "$MNT" && echo no || echo yes)"

echo
echo "done in $(( $(date +%s) - T0 ))s; image in $OUT (remove with: rm -rf $OUT)"
