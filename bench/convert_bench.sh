#!/usr/bin/env bash
# bench/convert_bench.sh
#
# Image conversion time, side by side, on python:bookworm (3 layers; the cached OCI layout
# $NYDUS_CACHE/images-python/oci made by tests/tools/make-images.sh, see e2e.nydusify):
#   nydusify convert --source SRC/python:bookworm --target DST/pynydusI:latest
#   skopeo copy docker://SRC/python:bookworm docker://DST/pyskopeoI:latest
# The source is pushed once to a local registry SRC (tests/tools/registry.sh on a free port,
# storage under BENCH_OUT); every run writes into a fresh repository of a fresh, empty registry
# DST (started before and stopped after the timed command; nydusify also gets a fresh work
# dir). A fresh registry, not just a fresh repository: within one registry skopeo mounts the
# blobs cross-repository (its blob-info cache remembers earlier copies) and transfers nothing,
# so every blob is really pulled and pushed. RUNS runs each (default 3); prints a markdown table with the
# median wall time, each run's time and the ratio nydusify/skopeo (target ≤ 1.5×), then the
# exact commands.
# Env: NYDUSIFY (default build/src/tools/nydusify), RUNS, BENCH_OUT (default
#      /var/tmp/nydus-convert-bench; emptied), NYDUS_CACHE (default /var/cache/nydus-cpp).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
NYDUSIFY=${NYDUSIFY:-$REPO/build/src/tools/nydusify}
RUNS=${RUNS:-3}
OUT=${BENCH_OUT:-/var/tmp/nydus-convert-bench}
OCI=$NYDUS_CACHE/images-python/oci

[ -x "$NYDUSIFY" ] || { echo "nydusify not found at $NYDUSIFY (build it or set NYDUSIFY)" >&2; exit 1; }
[ -d "$OCI" ] || { echo "no cached python:bookworm at $OCI (run ctest -R e2e.nydusify once)" >&2; exit 1; }
for t in skopeo python3 curl; do
  command -v "$t" >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done
rm -rf "$OUT"; mkdir -p "$OUT"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT
"$REPO/tests/tools/registry.sh" start "$OUT/registry" "$PORT" >&2
DST_DIR=
cleanup() {
  "$REPO/tests/tools/registry.sh" stop "$OUT/registry" >/dev/null 2>&1 || true
  if [ -n "$DST_DIR" ]; then "$REPO/tests/tools/registry.sh" stop "$DST_DIR" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
skopeo copy -q --dest-tls-verify=false "oci:$OCI:python-bookworm" "docker://$HOST/python:bookworm"
echo "pushed python:bookworm to $HOST" >&2

# timed LOG CMD...: runs CMD (output to LOG), prints the wall time in seconds
timed() {
  local log=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; tail -n 20 "$log" >&2; exit 1; }
  t1=$(date +%s%N)
  python3 -c "print(f'{($t1 - $t0) / 1e9:.2f}')"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# dst_start: a fresh empty registry, sets DST (host:port) and DST_DIR
dst_start() {
  local port
  port=$(free_port)
  DST=127.0.0.1:$port
  DST_DIR=$OUT/dst-$port
  "$REPO/tests/tools/registry.sh" start "$DST_DIR" "$port" >/dev/null
}
dst_stop() { "$REPO/tests/tools/registry.sh" stop "$DST_DIR" >/dev/null; rm -rf "$DST_DIR"; }

N=() S=()
for i in $(seq 1 "$RUNS"); do
  # alternate the order so neither tool always runs second (warmer page cache)
  for tool in nydusify skopeo; do
    [ $((i % 2)) = 0 ] && tool=$([ $tool = nydusify ] && echo skopeo || echo nydusify)
    dst_start
    if [ $tool = nydusify ]; then
      N+=("$(timed "$OUT/nydusify-$i.log" "$NYDUSIFY" convert --source "$HOST/python:bookworm" \
        --target "$DST/pynydus$i:latest" --source-insecure --target-insecure \
        --work-dir "$OUT/work-$i")")
      echo "run $i: nydusify ${N[-1]} s ($(du -sm "$DST_DIR/data" | cut -f1) MiB pushed)" >&2
      rm -rf "$OUT/work-$i"
    else
      S+=("$(timed "$OUT/skopeo-$i.log" skopeo copy --src-tls-verify=false --dest-tls-verify=false \
        "docker://$HOST/python:bookworm" "docker://$DST/pyskopeo$i:latest")")
      echo "run $i: skopeo ${S[-1]} s ($(du -sm "$DST_DIR/data" | cut -f1) MiB pushed)" >&2
    fi
    dst_stop
  done
done

python3 - "$RUNS" "${N[*]}" "${S[*]}" <<'PYEOF'
import statistics, sys
runs = int(sys.argv[1])
n = [float(x) for x in sys.argv[2].split()]
s = [float(x) for x in sys.argv[3].split()]
mn, ms = statistics.median(n), statistics.median(s)
r = mn / ms
print(f"python:bookworm (3 layers), local registry → fresh empty local registry, median of {runs} runs\n")
print("| | median (s) | runs (s) |")
print("|---|---|---|")
print(f"| nydusify convert (OCI → Nydus v6, push) | {mn:.2f} | {' / '.join(f'{x:.2f}' for x in n)} |")
print(f"| skopeo copy (OCI → OCI) | {ms:.2f} | {' / '.join(f'{x:.2f}' for x in s)} |")
print(f"| ratio nydusify / skopeo | {r:.2f}× | target ≤ 1.5×: {'met' if r <= 1.5 else 'NOT met'} |")
PYEOF
cat <<EOF

Commands (\`SRC\` = the source registry, \`DST\` = a fresh empty registry, \`I\` = the run number):

\`\`\`
build/src/tools/nydusify convert --source SRC/python:bookworm --target DST/pynydusI:latest --source-insecure --target-insecure --work-dir OUT/work-I
skopeo copy --src-tls-verify=false --dest-tls-verify=false docker://SRC/python:bookworm docker://DST/pyskopeoI:latest
\`\`\`
EOF
