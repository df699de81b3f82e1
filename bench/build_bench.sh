#!/usr/bin/env bash
# bench/build_bench.sh [SOURCE_DIR]
#
# Image build time, side by side, on one tree (default: the cached debootstrap rootfs
# $NYDUS_CACHE/rootfs-bookworm, made by tests/tools/make-rootfs.sh if missing):
#   nydus-image create --compressor lz4_block   vs  mkfs.erofs -zlz4
#   nydus-image create --compressor zstd        vs  mksquashfs -comp zstd -noappend -processors 2
# RUNS runs each (default 3), reporting the median wall time, the CPU time (user+sys) and peak
# RSS of that run, and the output size. Page cache is dropped before every run when
# /proc/sys/vm/drop_caches is writable (root), so every run reads the tree cold; the table
# says whether it was. Prints a markdown table with the exact commands.
# Env: NYDUS_IMAGE (default build/src/tools/nydus-image), RUNS, BENCH_OUT (default
#      /var/tmp/nydus-bench; emptied), NYDUS_BUILD_THREADS (passed through to nydus-image).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
NYDUS_IMAGE=${NYDUS_IMAGE:-$REPO/build/src/tools/nydus-image}
RUNS=${RUNS:-3}
OUT=${BENCH_OUT:-/var/tmp/nydus-bench}

if [ $# -ge 1 ]; then
  SRC=$(cd "$1" && pwd)
else
  SRC=$NYDUS_CACHE/rootfs-bookworm
  "$REPO/tests/tools/make-rootfs.sh" "$SRC" >&2
fi
[ -x "$NYDUS_IMAGE" ] || { echo "nydus-image not found at $NYDUS_IMAGE (build it or set NYDUS_IMAGE)" >&2; exit 1; }
for t in mkfs.erofs mksquashfs python3; do
  command -v "$t" >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done
rm -rf "$OUT"; mkdir -p "$OUT"

DROP=no
if [ -w /proc/sys/vm/drop_caches ]; then DROP=yes; fi
drop_caches() { sync; if [ $DROP = yes ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }

# measure LOG CMD...: runs CMD, prints "wall_s cpu_s maxrss_mib"
measure() {
  python3 - "$@" <<'PYEOF'
import resource, subprocess, sys, time
log = open(sys.argv[1], "ab")
t0 = time.monotonic()
rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc != 0:
    sys.exit(f"command failed with exit {rc}: {' '.join(sys.argv[2:])} (log {sys.argv[1]})")
print(f"{wall:.3f} {ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss / 1024:.0f}")
PYEOF
}

# One benchmark case: NAME, output path to size (file or dir), command (with {OUT} placeholder)
declare -A CMDS RESULT
CASES=(nydus-lz4 erofs-lz4 nydus-zstd squashfs-zstd)
CMDS[nydus-lz4]="$NYDUS_IMAGE create -B {OUT}/image.boot -D {OUT}/blobs --compressor lz4_block $SRC"
CMDS[erofs-lz4]="mkfs.erofs -zlz4 {OUT}/image.erofs $SRC"
CMDS[nydus-zstd]="$NYDUS_IMAGE create -B {OUT}/image.boot -D {OUT}/blobs --compressor zstd $SRC"
CMDS[squashfs-zstd]="mksquashfs $SRC {OUT}/image.sqfs -comp zstd -noappend -processors 2"

echo "source: $SRC ($(find "$SRC" -xdev | wc -l) entries, $(du -sm --apparent-size "$SRC" | cut -f1) MiB apparent)" >&2
echo "machine: $(nproc) cpu(s), kernel $(uname -r); drop caches between runs: $DROP; runs: $RUNS" >&2
for c in "${CASES[@]}"; do
  lines=()
  for ((r = 1; r <= RUNS; r++)); do
    d=$OUT/$c
    rm -rf "$d"; mkdir -p "$d/blobs"
    cmd=${CMDS[$c]//\{OUT\}/$d}
    drop_caches
    # shellcheck disable=SC2086  # the command strings are split on purpose (no spaces in paths)
    line=$(measure "$OUT/$c.log" $cmd)
    lines+=("$line")
    echo "  $c run $r: wall/cpu/maxrss = $line" >&2
  done
  # median by wall time; keep that run's cpu and rss
  med=$(printf '%s\n' "${lines[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  size=$(find "$OUT/$c" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  RESULT[$c]="$med $size"
  rm -rf "${OUT:?}/$c"
done

python3 - "$SRC" "$DROP" "$RUNS" "${RESULT[nydus-lz4]}" "${RESULT[erofs-lz4]}" "${RESULT[nydus-zstd]}" \
  "${RESULT[squashfs-zstd]}" "${CMDS[nydus-lz4]}" "${CMDS[erofs-lz4]}" "${CMDS[nydus-zstd]}" \
  "${CMDS[squashfs-zstd]}" "${NYDUS_BUILD_THREADS:-}" <<'PYEOF'
import sys
src, drop, runs = sys.argv[1:4]
res = [list(map(float, a.split())) for a in sys.argv[4:8]]     # wall cpu rss size
cmds = sys.argv[8:12]
threads = sys.argv[12]
names = ["nydus-image (lz4_block)", "mkfs.erofs -zlz4", "nydus-image (zstd)", "mksquashfs -comp zstd"]
MiB = 1 << 20
print(f"Source: `{src}`; median of {runs} runs; page cache dropped before each run: {drop}"
      + (f"; NYDUS_BUILD_THREADS={threads}" if threads else ""))
print()
print("| pair | tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) | output (MiB) | wall ratio nydus/other | size ratio nydus/other |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for p, (a, b) in enumerate([(0, 1), (2, 3)]):
    pair = ["lz4", "zstd"][p]
    for i in (a, b):
        w, c, r, s = res[i]
        ratio_w = f"{res[a][0] / res[b][0]:.2f}" if i == a else ""
        ratio_s = f"{res[a][3] / res[b][3]:.2f}" if i == a else ""
        print(f"| {pair} | {names[i]} | {w:.2f} | {c:.2f} | {r:.0f} | {s / MiB:.1f} | {ratio_w} | {ratio_s} |")
print()
print("Commands (`OUT` = a fresh empty directory per run):")
print()
print("```")
for c in cmds:
    print(c.replace("{OUT}", "OUT"))
print("```")
PYEOF
