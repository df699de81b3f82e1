#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz/ and runs each for
# SECONDS seconds on a corpus seeded from the reference fixtures.
#
# Usage: scripts/run-fuzz.sh [SECONDS]          (default 60)
# Env:   NYDUS_FIXTURES_DIR  fixture folder (default ../shared/fixtures/nydus)
#        JOBS                build parallelism (default 2)
#        FUZZ_TARGETS        subset to run (default: all four)
#        FUZZ_SEED, FUZZ_RUNS  with both set, each target runs exactly FUZZ_RUNS inputs from
#                            that seed instead of for SECONDS: the same binary then explores
#                            the same inputs every time (CI uses this, so a run is reproducible)
# Exit status is non-zero when a target crashes, leaks or times out; the offending input
# is kept in build-fuzz/artifacts/.
set -euo pipefail

secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
fixtures=${NYDUS_FIXTURES_DIR:-$root/../shared/fixtures/nydus}
targets=${FUZZ_TARGETS:-"fuzz_bootstrap_v5 fuzz_bootstrap_v6 fuzz_blob_meta fuzz_http_request"}

CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DNYDUS_BUILD_FUZZ=ON \
  -DNYDUS_BUILD_TESTS=OFF -DNYDUS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
ninja -j"${JOBS:-2}" -C "$build" $targets

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$build/artifacts
mkdir -p "$artifacts"

# Little-endian helpers for the fuzz_blob_meta parameter block.
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
  $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
le64() { le32 $(($1 & 0xffffffff)); le32 $(($1 >> 32)); }

seed() {  # seed TARGET
  local dir=$work/$1
  mkdir -p "$dir"
  if [ "$1" = fuzz_http_request ]; then  # request streams, no fixtures needed
    printf 'GET /api/v1/daemon HTTP/1.1\r\nHost: localhost\r\n\r\n' > "$dir/get"
    printf 'POST /api/v1/mount?mountpoint=%%2Fm&x=a+b HTTP/1.1\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n{"source":"x"}GET http://localhost/metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' > "$dir/pipelined"
    return
  fi
  if [ ! -d "$fixtures" ]; then
    echo "note: fixtures not found at $fixtures; $1 starts from an empty corpus"
    return
  fi
  case $1 in
    fuzz_bootstrap_v5)
      for f in "$fixtures"/repeatable/*-repeatable "$fixtures"/repeatable/*_repeatable; do
        [ -f "$f" ] && cp "$f" "$dir/"
      done ;;
    fuzz_bootstrap_v6)
      [ -f "$fixtures/bootstrap/rafs-v6-2.2.boot" ] && cp "$fixtures/bootstrap/rafs-v6-2.2.boot" "$dir/" ;;
    fuzz_blob_meta)
      local blob
      for blob in "$fixtures"/blobs/*; do
        [ -f "$blob" ] || continue
        cp "$blob" "$dir/raw-$(basename "$blob" | cut -c1-12)"
        # The v6 fixture blob with the parameters of its blob table entry.
        { le32 2; le32 0x70000021; le64 0; le64 0x9000; le32 0; le32 1024
          le64 8314; le64 32; le64 32; le64 0; cat "$blob"; } > "$dir/param-$(basename "$blob" | cut -c1-12)"
      done ;;
  esac
}

status=0
for t in $targets; do
  seed "$t"
  limit=(-max_total_time="$secs")
  if [ -n "${FUZZ_SEED:-}" ] && [ -n "${FUZZ_RUNS:-}" ]; then
    limit=(-seed="$FUZZ_SEED" -runs="$FUZZ_RUNS")
  fi
  if [ ${#limit[@]} = 2 ]; then echo "== $t: $FUZZ_RUNS runs from seed $FUZZ_SEED"; else echo "== $t: ${secs}s"; fi
  if ! "$build/fuzz/$t" "$work/$t" "${limit[@]}" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      >"$work/$t.log" 2>&1; then
    echo "!! $t failed; log tail:"
    tail -n 40 "$work/$t.log"
    status=1
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)" "$work/$t.log" || true
  fi
done
exit $status
