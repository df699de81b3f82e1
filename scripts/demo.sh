#!/usr/bin/env bash
# sudo scripts/demo.sh
#
# From a fresh Debian 12 machine to a container image started lazily from a registry, the way
# the Nydus tutorial does it:
#   1. installs the build and test dependencies (scripts/install-deps.sh)
#   2. builds nydus-image, nydusd, nydusify and nydusctl (build/, RelWithDebInfo, Ninja)
#   3. starts a local registry (Debian's docker-registry) on 127.0.0.1:$PORT (default 5000, or
#      a free port) and pushes a real image to it: python:bookworm, 3 layers, built with
#      debootstrap + apt-get + umoci by tests/tools/make-images.sh (cached in
#      $NYDUS_CACHE/images-python, default /var/cache/nydus-cpp; the first run needs the
#      Debian mirror and takes a few minutes)
#   4. nydusify convert --source …/python:bookworm --target …/python:bookworm-nydus
#   5. nydusd mounts the converted image lazily (registry backend, blob cache, API socket),
#      runs `python3 /app/main.py` from it in a chroot, and nydusctl shows how few bytes were
#      fetched
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
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  mountpoint -q "$OUT/mnt" 2>/dev/null && umount -l "$OUT/mnt" 2>/dev/null
  tests/tools/registry.sh stop "$OUT/registry" >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "1. dependencies"
scripts/install-deps.sh

step "2. build nydus-image, nydusd, nydusify, nydusctl"
[ -f build/CMakeCache.txt ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target nydus-image nydusd nydusify nydusctl
BIN=$REPO/build/src/tools
for t in nydus-image nydusd nydusify nydusctl; do
  [ -x "$BIN/$t" ] || { echo "$t was not built ($BIN/$t missing)" >&2; exit 1; }
done

step "3. a local registry with python:bookworm in it"
rm -rf "$OUT"; mkdir -p "$OUT"
PORT=${PORT:-5000}
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "port 5000 is busy; using $PORT"
fi
HOST=127.0.0.1:$PORT
show tests/tools/registry.sh start "$OUT/registry" "$PORT"
IMG=$NYDUS_CACHE/images-python
if [ ! -f "$IMG.complete" ] || [ ! -d "$IMG/oci" ]; then
  echo "building python:bookworm (debootstrap + apt-get install python3 + app layer) ..."
  mkdir -p "$NYDUS_CACHE"
  IMAGES=python EXTRA_TAGS=0 ROOTFS_DIR="$NYDUS_CACHE/rootfs-bookworm" \
    tests/tools/make-images.sh "$IMG" "$HOST"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$IMG.complete"
fi
show skopeo copy -q --dest-tls-verify=false "oci:$IMG/oci:python-bookworm" \
  "docker://$HOST/python:bookworm"

step "4. convert it to a Nydus image, registry to registry"
cd "$OUT"
t=$(date +%s%N)
show "$BIN/nydusify" convert --source "$HOST/python:bookworm" \
  --target "$HOST/python:bookworm-nydus" --source-insecure --target-insecure
echo "converted in $(( ($(date +%s%N) - t) / 1000000 )) ms; work dir:"
find tmp -maxdepth 2 | sort | sed 's/^/  /'
BOOT=$(ls tmp/bootstraps/3-sha256:* | grep -v output.json)
TOTAL=$(cat tmp/blobs/* | wc -c)

step "5. mount it lazily with nydusd and run the app from it"
MNT=$OUT/mnt
mkdir -p "$MNT"
cat > "$OUT/registry.json" <<JSON
{
  "device": {
    "backend": {"type": "registry",
                "config": {"scheme": "http", "host": "$HOST", "repo": "python",
                           "timeout": 5, "connect_timeout": 5, "retry_limit": 2}},
    "cache": {"type": "blobcache", "config": {"work_dir": "$OUT/cache"}}
  },
  "mode": "direct",
  "digest_validate": false,
  "iostats_files": false,
  "enable_xattr": true,
  "fs_prefetch": {"enable": false}
}
JSON
echo "\$ nydusd --config $OUT/registry.json --mountpoint $MNT --bootstrap $BOOT --apisock $OUT/api.sock &"
"$BIN/nydusd" --config "$OUT/registry.json" --mountpoint "$MNT" --bootstrap "$BOOT" \
  --apisock "$OUT/api.sock" --log-level warn &
PIDS+=($!)
for _ in $(seq 200); do mountpoint -q "$MNT" && break; sleep 0.05; done
mountpoint -q "$MNT" || { echo "nydusd did not mount $MNT" >&2; exit 1; }
show ls "$MNT"
t=$(date +%s%N)
show chroot "$MNT" /usr/bin/python3 /app/main.py hello nydus
echo "python started and ran in $(( ($(date +%s%N) - t) / 1000000 )) ms from a cold cache"
show "$BIN/nydusctl" -S "$OUT/api.sock" metrics backend
FETCHED=$(curl -s --unix-socket "$OUT/api.sock" http://localhost/api/v1/metrics/backend |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["read_amount_total"])')
echo "fetched $FETCHED of $TOTAL blob bytes ($(( FETCHED * 100 / TOTAL ))%) to run it"

echo
echo "done in $(( $(date +%s) - T0 ))s; everything is in $OUT (remove with: rm -rf $OUT)"
