#!/usr/bin/env bash
# e2e.access_pattern: recording which files a workload reads and turning it into a prefetch
# list (issue 6), on a generated tree served by nydusd (localfs backend):
#   1. nydusd with `access_pattern: true`: reads of /app/lib/c.so, /app/a.txt, /app/b.bin (in
#      that order; /app/cold/big.bin only stat'ed) make GET /api/v1/metrics/pattern list exactly
#      those three inodes, in first-access order, with their paths (c.so is also hardlinked
#      deeper as /usr/lib/x/tool: the shallowest path is reported), non-decreasing first access
#      times, and /api/v1/metrics says access_pattern_enabled.
#   2. `nydusctl access-pattern` prints the three paths, one per line; with --min-coverage 50
#      the 2 MiB b.bin, of which only the head was read, is left out.
#   3. The list on stdin of `nydus-image create --prefetch-policy fs`: a daemon with
#      fs_prefetch enabled and an empty blob cache fetches the listed files before any read;
#      reading them afterwards fetches 0 bytes from the backend, reading /app/cold/big.bin does
#      fetch (the counter works).
#   4. Without access_pattern the endpoint answers [] and `nydusctl access-pattern` fails,
#      saying how to enable it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init access_pattern
require_root
require_cmd python3 curl
require_fuse
find_nydus_image
find_nydusd
find_nydusctl

phase "tree: a few files, one hardlinked deeper, one large file never read"
T=$E2E_TMP/tree
mkdir -p "$T/app/lib" "$T/app/cold" "$T/usr/lib/x"
rand_files "$T" app/lib/c.so:1048576:c app/b.bin:2097152:b app/cold/big.bin:8388608:big
echo "hello access pattern" >"$T/app/a.txt"
echo "never read" >"$T/app/unread.txt"
ln "$T/app/lib/c.so" "$T/usr/lib/x/tool"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 "$T"


phase "record: read c.so, a.txt, b.bin; stat big.bin"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
pattern_config "$E2E_TMP/record.json" "$E2E_TMP/blobs" "$E2E_TMP/cache-record" true false
nydusd_start record "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/record.json" --apisock "$SOCK"
cmp "$MNT/app/lib/c.so" "$T/app/lib/c.so" || fail "c.so differs"
cat "$MNT/app/a.txt" >/dev/null
head -c 4096 "$MNT/app/b.bin" >/dev/null
cat "$MNT/app/lib/c.so" >/dev/null
stat "$MNT/app/cold/big.bin" "$MNT/app/unread.txt" >/dev/null
ls -lR "$MNT" >/dev/null
api_get "$SOCK" /api/v1/metrics/pattern >"$E2E_TMP/pattern.json"
echo "    pattern: $(cat "$E2E_TMP/pattern.json")"
python3 - "$E2E_TMP/pattern.json" <<'PYEOF' || fail "GET /api/v1/metrics/pattern is not what was read"
import json, sys
recs = json.load(open(sys.argv[1]))
paths = [r["path"] for r in recs]
want = ["/app/lib/c.so", "/app/a.txt", "/app/b.bin"]
if paths != want:
    sys.exit(f"paths {paths}, expected {want}")
if len({r["ino"] for r in recs}) != 3 or any(r["nr_read"] < 1 for r in recs):
    sys.exit(f"bad ino/nr_read fields: {recs}")
size = {r["path"]: r["size"] for r in recs}
touched = {r["path"]: r["bytes_touched"] for r in recs}
if size != {"/app/lib/c.so": 1 << 20, "/app/a.txt": 21, "/app/b.bin": 2 << 20}:
    sys.exit(f"sizes {size}")
# c.so was read in full; of b.bin only the head (plus kernel readahead), not all of it
if touched["/app/lib/c.so"] != 1 << 20 or touched["/app/a.txt"] != 21 or \
        not 0 < touched["/app/b.bin"] < 2 << 20:
    sys.exit(f"bytes_touched {touched}")
ts = [r["first_access_time_secs"] * 10**9 + r["first_access_time_nanos"] for r in recs]
if ts != sorted(ts) or ts[0] == 0:
    sys.exit(f"first access times not in order: {ts}")
PYEOF
enabled=$(api_get "$SOCK" /api/v1/metrics | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_pattern_enabled"])')
[ "$enabled" = True ] || fail "/api/v1/metrics access_pattern_enabled is $enabled"
log "   pattern lists c.so, a.txt, b.bin in first-access order; big.bin, unread.txt absent"

phase "nydusctl access-pattern: the prefetch list"
"$NYDUSCTL" -S "$SOCK" access-pattern >"$E2E_TMP/list" || fail "nydusctl access-pattern failed"
printf '/app/lib/c.so\n/app/a.txt\n/app/b.bin\n' | diff - "$E2E_TMP/list" || fail "unexpected prefetch list"
# --min-coverage 50: b.bin (2 MiB, only its head read) is left out
"$NYDUSCTL" -S "$SOCK" access-pattern --min-coverage 50 >"$E2E_TMP/list50" 2>"$E2E_TMP/list50.err" ||
  fail "nydusctl access-pattern --min-coverage failed"
printf '/app/lib/c.so\n/app/a.txt\n' | diff - "$E2E_TMP/list50" || fail "unexpected --min-coverage 50 list"
grep -q '1 large file' "$E2E_TMP/list50.err" || fail "no note about the left-out file: $(cat "$E2E_TMP/list50.err")"
nydusd_stop "$MNT"

phase "nydus-image create --prefetch-policy fs < list; fs_prefetch fills the cache first"
mkdir -p "$E2E_TMP/blobs-pf"
echo "  \$ $NYDUS_IMAGE create -B tree-pf.boot -D blobs-pf -v 6 --prefetch-policy fs tree < list"
"$NYDUS_IMAGE" create -B "$E2E_TMP/tree-pf.boot" -D "$E2E_TMP/blobs-pf" -v 6 \
  --prefetch-policy fs "$T" <"$E2E_TMP/list" >"$E2E_TMP/logs/create-pf.log" 2>&1 ||
  { tail -20 "$E2E_TMP/logs/create-pf.log"; fail "nydus-image create --prefetch-policy fs failed"; }
pattern_config "$E2E_TMP/pf.json" "$E2E_TMP/blobs-pf" "$E2E_TMP/cache-pf" false true
nydusd_start prefetch "$MNT" "$E2E_TMP/tree-pf.boot" "$E2E_TMP/pf.json" --apisock "$SOCK"
wait_prefetch "$SOCK"
B1=$(backend_bytes "$SOCK")
PF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prefetch_data_amount"])' "$E2E_TMP/blobcache.json")
log "   prefetched $PF bytes, backend read $B1 bytes before any read"
# c.so (1 MiB) and b.bin (2 MiB) are incompressible: at least 3 MiB; big.bin (8 MiB) not included
[ "$PF" -ge $((3 << 20)) ] || fail "prefetch fetched only $PF bytes (want >= 3 MiB)"
[ "$B1" -lt $((8 << 20)) ] || fail "prefetch fetched $B1 bytes: more than the listed files"
cmp "$MNT/app/lib/c.so" "$T/app/lib/c.so" || fail "c.so differs"
cmp "$MNT/app/b.bin" "$T/app/b.bin" || fail "b.bin differs"
cmp "$MNT/app/a.txt" "$T/app/a.txt" || fail "a.txt differs"
B2=$(backend_bytes "$SOCK")
[ "$B2" = "$B1" ] || fail "reading the prefetched files fetched $((B2 - B1)) more bytes"
cmp "$MNT/app/cold/big.bin" "$T/app/cold/big.bin" || fail "big.bin differs"
B3=$(backend_bytes "$SOCK")
[ "$B3" -gt "$B2" ] || fail "reading the unlisted big.bin fetched nothing (backend counter broken?)"
log "   listed files read with 0 backend bytes; the unlisted big.bin fetched $((B3 - B2))"

phase "without access_pattern: [] and a clear nydusctl error"
body=$(api_get "$SOCK" /api/v1/metrics/pattern)
[ "$body" = "[]" ] || fail "pattern without access_pattern: $body"
rc=0
"$NYDUSCTL" -S "$SOCK" access-pattern >"$E2E_TMP/np.out" 2>"$E2E_TMP/np.err" || rc=$?
[ $rc != 0 ] || fail "nydusctl access-pattern succeeded on a mount that does not record"
grep -q 'access_pattern' "$E2E_TMP/np.err" || fail "nydusctl error does not say how to enable: $(cat "$E2E_TMP/np.err")"
echo "    $(cat "$E2E_TMP/np.err")"
nydusd_stop "$MNT"
phase_end
