#!/usr/bin/env bash
# e2e.nydusd_registry: lazy loading from a real registry (Debian's docker-registry on
# 127.0.0.1) with the blob cache, as issue 4 asks:
#   1. python:bookworm converted per layer (--parent-bootstrap); the 3 blobs pushed to repo
#      `python` with curl.
#   2. nydusd with the tutorial's registry.json (blobcache work_dir) and --apisock; in the
#      image, `python3 -c 'import json, sqlite3'` (chroot) must fetch < 15% of the blob bytes
#      (backend read_amount_total from /api/v1/metrics/backend).
#   3. A second daemon on the same work_dir does the same work fetching 0 bytes; then the whole
#      tree, content included, equals the umoci rootfs (verify-tree.sh --no-root
#      --mtime-tolerance 500000000).
#   4. Registry stopped mid-read: reads fail with EIO within the configured bound (measured),
#      the daemon stays up, and reads succeed again once the registry is back.
#   5. --prefetch-files: the listed files reach the blob cache before any read.
#   6. kill -9 during prefetch_all, restart on the same work_dir, verify-tree: identical.
#   7. Registry stopped: on that (now complete) cache nydusd still mounts, through FUSE and
#      with --erofs-when-cached, without contacting the registry; a cold cache fails the mount.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_registry
require_root
require_cmd python3 tar flock curl
require_fuse
find_nydus_image
find_nydusd
[ -x /usr/bin/docker-registry ] || skip "docker-registry not installed"

python_nydus_layers
TOTAL=$(cat "$BLOBS"/* | wc -c)
log "blob bytes in total: $TOTAL"

phase "registry: push the layer blobs to repo python"
registry_start "$E2E_TMP/registry"
HOST=127.0.0.1:$REGISTRY_PORT
registry_push_blobs "http://$HOST" python "$BLOBS"

# backend_bytes SOCK: read_amount_total of the (only) mount's backend
backend_bytes() {
  api_get "$1" /api/v1/metrics/backend | python3 -c 'import json,sys; print(json.load(sys.stdin)["read_amount_total"])'
}

phase "lazy: python3 -c 'import json, sqlite3' in the image fetches < 15% of the blobs"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
registry_config "$E2E_TMP/registry.json" "$HOST" python "$E2E_TMP/cache"
nydusd_start lazy "$MNT" "$BOOT" "$E2E_TMP/registry.json" --apisock "$SOCK"
run chroot "$MNT" /usr/bin/python3 -c 'import json, sqlite3; print("imported")'
B1=$(backend_bytes "$SOCK")
PCT=$(python3 -c "print(f'{100*$B1/$TOTAL:.1f}')")
log "   backend fetched $B1 of $TOTAL blob bytes ($PCT%)"
python3 -c "import sys; sys.exit(0 if $B1 < 0.15 * $TOTAL else 1)" || fail "fetched $PCT% (limit 15%)"
[ "$B1" -gt 0 ] || fail "backend metrics report 0 bytes for a cold cache"
nydusd_stop "$MNT"

phase "restart on the same work_dir: the same work fetches 0 bytes"
nydusd_start warm "$MNT" "$BOOT" "$E2E_TMP/registry.json" --apisock "$SOCK"
run chroot "$MNT" /usr/bin/python3 -c 'import json, sqlite3; print("imported")'
B2=$(backend_bytes "$SOCK")
log "   backend fetched $B2 bytes"
[ "$B2" = 0 ] || fail "the second daemon fetched $B2 bytes for work already cached"

phase "the whole tree equals the umoci rootfs, content included"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$MNT"
nydusd_stop "$MNT"

phase "registry stopped mid-read: EIO within the bound, daemon stays up, recovers"
# Timeout 2 s, 1 retry (500 ms backoff): a read of one missing chunk must fail well within
# (1 + retries) * (connect/timeout) + backoff; we allow 15 s for all chunks of one read.
TIMEOUT=2 RETRY_LIMIT=1 registry_config "$E2E_TMP/registry-fail.json" "$HOST" python "$E2E_TMP/cache-fail"
nydusd_start faults "$MNT" "$BOOT" "$E2E_TMP/registry-fail.json"
BIG=$(cd "$EXPECTED" && find usr/lib -type f -size +2M -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
[ -n "$BIG" ] || fail "no file > 2 MiB in the image"
log "   victim file: /$BIG ($(stat -c %s "$EXPECTED/$BIG") bytes)"
head -c 4096 "$MNT/$BIG" >/dev/null || fail "first read failed with the registry up"
run "$TOOLS/registry.sh" stop "$REGISTRY_DIR"
t0=$(now_ms)
rc=0
timeout 60 dd if="$MNT/$BIG" of=/dev/null bs=1M skip=1 2>"$E2E_TMP/dd.err" || rc=$?
ms=$(elapsed_ms "$t0")
log "   read with the registry down: exit $rc after $(fmt_ms "$ms"): $(tr '\n' ' ' <"$E2E_TMP/dd.err" | cut -c1-120)"
[ "$rc" != 0 ] || fail "read succeeded with the registry down (cached data for an uncached range?)"
[ "$rc" != 124 ] || fail "read hung for 60 s with the registry down"
grep -q "Input/output error" "$E2E_TMP/dd.err" || fail "expected EIO, got: $(cat "$E2E_TMP/dd.err")"
[ "$ms" -lt 15000 ] || fail "EIO took $(fmt_ms "$ms") (bound 15 s)"
nydusd_alive "$MNT"
run env "$TOOLS/registry.sh" start "$REGISTRY_DIR" "$REGISTRY_PORT"
cmp "$MNT/$BIG" "$EXPECTED/$BIG" || fail "content differs after the registry came back"
log "   registry back: /$BIG reads correctly"
nydusd_stop "$MNT"

phase "--prefetch-files: the listed files are fetched in the background, before any read"
printf '/usr/bin/python3.11\n/usr/lib/python3.11/json\n' >"$E2E_TMP/prefetch.list"
PREFETCH=true registry_config "$E2E_TMP/registry-list.json" "$HOST" python "$E2E_TMP/cache-list"
nydusd_start prefetch-list "$MNT" "$BOOT" "$E2E_TMP/registry-list.json" --apisock "$SOCK" \
  --prefetch-files "$E2E_TMP/prefetch.list"
# prefetch_data_amount counts compressed blob bytes: python3.11 (6.8 MB) is ~2.9 MB in zstd
want=$(( $(stat -c %s "$EXPECTED/usr/bin/python3.11") / 4 ))
for _ in $(seq 100); do
  pf=$(api_get "$SOCK" /api/v1/metrics/blobcache | python3 -c 'import json,sys; print(json.load(sys.stdin)["prefetch_data_amount"])')
  [ "$pf" -ge "$want" ] && break
  sleep 0.1
done
log "   prefetched $pf bytes without any read (python3.11 is $(stat -c %s "$EXPECTED/usr/bin/python3.11") bytes)"
[ "$pf" -ge "$want" ] || fail "--prefetch-files fetched only $pf bytes"
before=$(backend_bytes "$SOCK")
cmp "$MNT/usr/bin/python3.11" "$EXPECTED/usr/bin/python3.11" || fail "prefetched file differs"
after=$(backend_bytes "$SOCK")
log "   reading python3.11 afterwards fetched $((after - before)) more bytes"
[ "$((after - before))" -lt "$want" ] || fail "the read refetched what the prefetch should have cached"
nydusd_stop "$MNT"
rm -f "$SOCK"

phase "kill -9 during prefetch_all, restart on the same work_dir, verify-tree"
# 30 MB/s: the whole image takes ~4 s, so the kill lands in the middle of the prefetch.
PREFETCH=true PREFETCH_ALL=true BANDWIDTH=30000000 \
  registry_config "$E2E_TMP/registry-pf.json" "$HOST" python "$E2E_TMP/cache-pf"
nydusd_start prefetch "$MNT" "$BOOT" "$E2E_TMP/registry-pf.json" --apisock "$SOCK"
sleep 1.5
api_get "$SOCK" /api/v1/metrics/blobcache >"$E2E_TMP/blobcache.json"
read -r pf_bytes all_ready < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["prefetch_data_amount"], m["data_all_ready"])' "$E2E_TMP/blobcache.json")
cached=$(du -s --block-size=1 "$E2E_TMP/cache-pf" | cut -f1)
log "   after 1.5 s: prefetched $pf_bytes bytes, $cached bytes on disk, all ready: $all_ready; kill -9"
[ "$all_ready" = False ] || fail "prefetch finished before the kill; the test needs a slower rate"
[ "$pf_bytes" -gt 0 ] || fail "nothing prefetched after 1.5 s"
kill -KILL "$(nydusd_pid "$MNT")"
nydusd_wait_exit "$(nydusd_pid "$MNT")" 10000 || fail "nydusd survived SIGKILL"
unset "NYDUSD_PID[$MNT]"
umount -l "$MNT" 2>/dev/null || true
rm -f "$SOCK"
nydusd_start prefetch2 "$MNT" "$BOOT" "$E2E_TMP/registry-pf.json"
verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$MNT"
nydusd_stop "$MNT"

phase "registry down: a complete cache still mounts (FUSE, --erofs-when-cached); a cold one fails"
run "$TOOLS/registry.sh" stop "$REGISTRY_DIR"
registry_config "$E2E_TMP/registry-offline.json" "$HOST" python "$E2E_TMP/cache-pf"
nydusd_start offline "$MNT" "$BOOT" "$E2E_TMP/registry-offline.json"
grep -q "registry access not checked" "${NYDUSD_LOG[$MNT]}" || fail "no log line about the skipped check"
cmp "$MNT/usr/bin/python3.11" "$EXPECTED/usr/bin/python3.11" || fail "python3.11 differs offline"
nydusd_stop "$MNT"
NYDUSD_FSTYPE=erofs nydusd_start offline-kernel "$MNT" "$BOOT" "$E2E_TMP/registry-offline.json" \
  --erofs-when-cached
if [ "$(mounted_type "$MNT")" = erofs ]; then
  verify_tree --no-root --mtime-tolerance 500000000 "$EXPECTED" "$MNT"
  log "   kernel EROFS mount from the cache with the registry down: tree equal"
else
  log "   no kernel mount here ($(grep -- '--erofs-when-cached' "${NYDUSD_LOG[$MNT]}" | tail -n1)); FUSE served"
fi
nydusd_stop "$MNT"
registry_config "$E2E_TMP/registry-cold.json" "$HOST" python "$E2E_TMP/cache-cold"
expect_start_failure offline-cold "(connect|refused|registry)" \
  --config "$E2E_TMP/registry-cold.json" --mountpoint "$MNT" --bootstrap "$BOOT"
phase_end
