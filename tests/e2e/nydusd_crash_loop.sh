#!/usr/bin/env bash
# e2e.nydusd_crash_loop: crash consistency of the blob cache (issue 7, item 4). nydusd is
# killed with SIGKILL at random points while prefetch_all fills the blob cache from a
# registry, then restarted on the same work_dir, CRASH_ROUNDS times (default 20):
#   image: the gen-tree.sh tree (BIG_MIB=16, SMALL_FILES=2000: 2,318 entries, a 64 MB blob;
#          every file type, xattrs, hardlinks, sparse files) as one v6 layer, its blob pushed
#          to a local docker-registry;
#   prefetch throttled with fs_prefetch.bandwidth_rate so that prefetching the whole blob
#          takes ~PREFETCH_SECONDS (4); the test polls the blobcache metrics and kills the
#          daemon as soon as prefetch_data_amount passes a random point between 1% and 90% of
#          the blob (bash $RANDOM seeded with CRASH_SEED, default 7: a failure can be
#          replayed with the same seed); the prefetch must not have finished by then;
#   round: cold cache; start; kill -9; restart on the same work_dir (prefetch resumes on the
#          leftovers); in every other round kill -9 a second time during the resumed prefetch
#          and restart again; then verify-tree, content included, against the source tree.
# Pass = CRASH_ROUNDS/CRASH_ROUNDS identical trees, no daemon failing to start on a crashed
# cache. Digest validation stays off: a torn chunk in the cache would reach the reader.
# Each round starts from a cold cache (the cache files of the previous round are removed, the
# work_dir stays): a complete cache, which verify-tree leaves behind, would give the next
# prefetch nothing to do and the kill nothing to interrupt.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_crash_loop
require_root
require_cmd python3 curl
require_fuse
find_nydus_image
find_nydusd
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"
ROUNDS=${CRASH_ROUNDS:-20}
SEED=${CRASH_SEED:-7}
PREFETCH_SECONDS=${PREFETCH_SECONDS:-4}

phase "image: gen-tree.sh tree as one v6 layer, blob pushed to a local registry"
gen_tree "$E2E_TMP/tree"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$E2E_TMP/tree"
BLOB_BYTES=$(cat "$E2E_TMP"/blobs/* | wc -c)
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$HOST" tree "$E2E_TMP/blobs"
RATE=$(( BLOB_BYTES / PREFETCH_SECONDS ))
log "   blob: $BLOB_BYTES bytes; prefetch rate $RATE bytes/s (~${PREFETCH_SECONDS} s for all)"
WORK=$E2E_TMP/cache
PREFETCH=true PREFETCH_ALL=true BANDWIDTH=$RATE \
  registry_config "$E2E_TMP/registry.json" "$HOST" tree "$WORK"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock

# crash NAME LO HI: starts nydusd on $WORK and polls its blobcache metrics every ~20 ms until
# the prefetch has fetched a random number of bytes in [LO, HI], then SIGKILLs it at once. The
# prefetch must still be running at that point (data_all_ready false). Sets LAST_PF.
crash() {
  local name=$1 lo=$2 hi=$3 target pf=0 ready=false pid t0 m
  target=$(( lo + ((RANDOM << 15) | RANDOM) % (hi - lo + 1) ))
  rm -f "$SOCK"
  nydusd_start "$name" "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/registry.json" --apisock "$SOCK"
  pid=$(nydusd_pid "$MNT")
  t0=$(now_ms)
  while :; do
    m=$(curl -sS --max-time 5 --unix-socket "$SOCK" http://localhost/api/v1/metrics/blobcache) ||
      fail "$name: blobcache metrics unavailable"
    [[ $m =~ \"prefetch_data_amount\":([0-9]+) ]] && pf=${BASH_REMATCH[1]}
    [[ $m =~ \"data_all_ready\":(true|false) ]] && ready=${BASH_REMATCH[1]}
    if [ "$ready" = true ]; then
      fail "$name: the prefetch finished ($pf bytes) before reaching the kill point $target"
    fi
    [ "$pf" -lt "$target" ] || break
    [ $(( $(now_ms) - t0 )) -lt 60000 ] || fail "$name: prefetch stuck at $pf bytes"
    sleep 0.02
  done
  kill -KILL "$pid"
  nydusd_wait_exit "$pid" 10000 || fail "nydusd $name survived SIGKILL"
  unset "NYDUSD_PID[$MNT]"
  umount -l "$MNT" 2>/dev/null || true
  LAST_PF=$pf
  CRASH_LOG+=("$name: SIGKILL after $(fmt_ms "$(elapsed_ms "$t0")") at $pf prefetched bytes (point $target), $(du -s --block-size=1 "$WORK" | cut -f1) bytes in the cache dir")
  log "   ${CRASH_LOG[-1]}"
}

CRASH_LOG=()
RANDOM=$SEED
identical=0
for round in $(seq "$ROUNDS"); do
  phase "round $round/$ROUNDS: kill -9 during prefetch_all, restart on the same work_dir, verify-tree"
  find "$WORK" -mindepth 1 -delete
  crash "r$round-a" $((BLOB_BYTES / 100)) $((BLOB_BYTES * 9 / 10))
  # every other round: a second kill during the prefetch resumed on the leftovers
  if [ $((round % 2)) = 0 ]; then crash "r$round-b" 0 $(((BLOB_BYTES - LAST_PF) * 7 / 10)); fi
  nydusd_start "r$round-verify" "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/registry.json"
  verify_tree --no-root --exclude times/epoch-0 "$E2E_TMP/tree" "$MNT"
  nydusd_stop "$MNT"
  identical=$((identical + 1))
  log "   round $round: identical ($identical/$round)"
done
phase_end
log "crash loop (SEED=$SEED): $identical/$ROUNDS rounds identical after ${#CRASH_LOG[@]} kills"
[ "$identical" = "$ROUNDS" ] || fail "$identical/$ROUNDS identical"
