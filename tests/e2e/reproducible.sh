#!/usr/bin/env bash
# e2e.reproducible: builds are deterministic. For each of two configurations
#   v6 zstd blake3 (the defaults) and v5 lz4_block sha256
# the same gen-tree.sh tree (seed 7, BIG_MIB=8 SMALL_FILES=1500 unless overridden) is built
#   A  threads as the builder chooses          B  again, same tree
#   T1 NYDUS_BUILD_THREADS=1                   T2 NYDUS_BUILD_THREADS=2
#   CP from a `cp -a` copy of the tree at another path (other inode numbers, other readdir order)
# and every build must give a byte-identical bootstrap and identical blob files (same names,
# i.e. blob ids, and same bytes) as A. A mismatch prints the first differing bytes.
source "$(dirname "$0")/lib.sh"
e2e_init reproducible
require_root
require_cmd python3 cmp
find_nydus_image

phase "generate tree (seed 7, BIG_MIB=${BIG_MIB:-8} SMALL_FILES=${SMALL_FILES:-1500}) and a cp -a copy"
SRC=$E2E_TMP/src
BIG_MIB=${BIG_MIB:-8} SMALL_FILES=${SMALL_FILES:-1500} gen_tree "$SRC" 7
mkdir -p "$E2E_TMP/elsewhere"
run cp -a "$SRC" "$E2E_TMP/elsewhere/copy"
verify_tree "$SRC" "$E2E_TMP/elsewhere/copy"

# show_diff FILE_A FILE_B: sizes, first differing offsets, hex around the first one
show_diff() {
  echo "    $1: $(stat -c %s "$1") B"
  echo "    $2: $(stat -c %s "$2") B"
  cmp -l "$1" "$2" 2>/dev/null | head -6 | awk '{printf "    offset %d (0x%x): byte %s vs %s (octal)\n", $1-1, $1-1, $2, $3}'
  echo "    ($(cmp -l "$1" "$2" 2>/dev/null | wc -l) differing bytes within the common length)"
  local off
  off=$(cmp "$1" "$2" 2>/dev/null | awk '{gsub(",", "", $5); print $5 - 1}') || true
  if [ -n "$off" ]; then
    local from=$(( off / 16 * 16 - 32 )); [ $from -lt 0 ] && from=0
    echo "    A around 0x$(printf %x "$off"):"; xxd -s $from -l 64 "$1" | sed 's/^/      /'
    echo "    B:"; xxd -s $from -l 64 "$2" | sed 's/^/      /'
  fi
}

# same_build REF_DIR DIR LABEL: compares bootstrap and blob dir
same_build() {
  local ref=$1 dir=$2 label=$3 ok=1 f
  if ! cmp -s "$ref/boot" "$dir/boot"; then
    echo "  MISMATCH ($label): bootstraps differ"; show_diff "$ref/boot" "$dir/boot"; ok=0
  fi
  local la lb
  la=$(cd "$ref/blobs" && ls -1); lb=$(cd "$dir/blobs" && ls -1)
  if [ "$la" != "$lb" ]; then
    echo "  MISMATCH ($label): blob files differ:"; diff <(echo "$la") <(echo "$lb") | sed 's/^/    /'; ok=0
  else
    for f in $la; do
      if ! cmp -s "$ref/blobs/$f" "$dir/blobs/$f"; then
        echo "  MISMATCH ($label): blob $f differs"; show_diff "$ref/blobs/$f" "$dir/blobs/$f"; ok=0
      fi
    done
  fi
  if [ $ok = 1 ]; then
    log "   $label: identical to A (bootstrap $(sha256sum "$dir/boot" | cut -c1-16)…, blobs: $(echo $lb | cut -c1-16)…)"
  fi
  return $(( 1 - ok ))
}

FAILS=()
for cfg in "6 zstd blake3" "5 lz4_block sha256"; do
  read -r v c d <<<"$cfg"
  name="v$v-$c-$d"
  base=$E2E_TMP/$name
  phase "$name: builds A, B, T1 (1 thread), T2 (2 threads), CP (copied tree)"
  for run_id in A B T1 T2 CP; do
    out=$base/$run_id
    mkdir -p "$out/blobs"
    src=$SRC; envs=()
    case $run_id in
      T1) envs=(NYDUS_BUILD_THREADS=1) ;;
      T2) envs=(NYDUS_BUILD_THREADS=2) ;;
      CP) src=$E2E_TMP/elsewhere/copy ;;
    esac
    run env -u NYDUS_BUILD_THREADS "${envs[@]}" "$NYDUS_IMAGE" create -B "$out/boot" -D "$out/blobs" \
      -v "$v" --compressor "$c" --digester "$d" -J "$out/out.json" "$src"
  done
  phase "$name: compare"
  for run_id in B T1 T2 CP; do
    same_build "$base/A" "$base/$run_id" "$name $run_id vs A" || FAILS+=("$name $run_id")
  done
  rm -rf "$base"
done
[ ${#FAILS[@]} = 0 ] || fail "not reproducible: ${FAILS[*]}"
