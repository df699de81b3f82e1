#!/usr/bin/env bash
# e2e.nydusd_tree: the gen-tree.sh edge-case tree (seed 42; BIG_MIB=16 SMALL_FILES=2000 by
# default, the same knobs as build_matrix) built three ways with nydus-image
#   v6 zstd/blake3,  v6 none/sha256,  v5 lz4_block/blake3
# and each mounted by nydusd with the tutorial's localfs.json (v1 config: localfs backend,
# blobcache, direct mode). The mount must equal the source under
#   verify-tree.sh --no-root      (content included: every byte read through FUSE)
# except times/epoch-0, whose stored mtime 0 is reported as the daemon's start time (the
# reference's rule); that is checked separately, with its content.
# and SIGTERM must unmount cleanly (exit 0, gone from /proc/mounts).
# Env: TREE_BUILDS="6:zstd:blake3 ..." to narrow the list.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_tree
require_root
require_cmd python3
require_fuse
find_nydus_image
find_nydusd
BUILDS=${TREE_BUILDS:-6:zstd:blake3 6:none:sha256 5:lz4_block:blake3}

phase "generate tree (gen-tree.sh seed 42, BIG_MIB=${BIG_MIB:-16} SMALL_FILES=${SMALL_FILES:-2000})"
SRC=$E2E_TMP/src
gen_tree "$SRC" 42

RESULTS=()
for b in $BUILDS; do
  IFS=: read -r v c d <<<"$b"
  name="v$v-$c-$d"
  out=$E2E_TMP/$name
  phase "$name: nydus-image create"
  nydus_create "$out/boot" "$out/blobs" -v "$v" --compressor "$c" --digester "$d" "$SRC"
  phase "$name: nydusd mount (localfs.json)"
  localfs_config "$out/localfs.json" "$out/blobs"
  mount_s=$(date +%s)
  nydusd_start "$name" "$out/mnt" "$out/boot" "$out/localfs.json"
  phase "$name: verify-tree --no-root (content included)"
  t0=$(now_ms)
  verify_tree --no-root --exclude times/epoch-0 "$SRC" "$out/mnt"
  verify_ms=$(elapsed_ms "$t0")
  # Reference rule (rafs/src/fs.rs): an inode whose mtime is 0 reports the daemon's start time.
  [ "$(stat -c %Y "$SRC/times/epoch-0")" = 0 ] || fail "gen-tree's times/epoch-0 should have mtime 0"
  m=$(stat -c %Y "$out/mnt/times/epoch-0")
  [ "$m" -ge "$mount_s" ] && [ "$m" -le "$(date +%s)" ] \
    || fail "times/epoch-0: mtime $m is not the daemon start time (mounted at $mount_s)"
  cmp -s "$SRC/times/epoch-0" "$out/mnt/times/epoch-0" || fail "times/epoch-0: content differs"
  log "   times/epoch-0 (mtime 0) reports the daemon start time $m, as the reference does"
  phase "$name: SIGTERM, clean unmount"
  nydusd_stop "$out/mnt" TERM
  RESULTS+=("$name: verify-tree over FUSE $(fmt_ms "$verify_ms"), bootstrap $(stat -c %s "$out/boot") B, blobs $(du -cb "$out/blobs" | tail -1 | cut -f1) B")
  rm -rf "$out"
done
phase_end
echo "---- [nydusd_tree] mounts"
printf '  %s\n' "${RESULTS[@]}"
