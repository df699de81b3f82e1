#!/usr/bin/env bash
# e2e.optimize: record what a workload reads, re-lay it out with `nydus-image optimize`, and
# serve the result (issue 6, item 3), on a generated tree with 64 KiB chunks:
#   1. nydusd with `access_pattern: true` (localfs): read c.so whole, a.txt, two pieces of the
#      4 MiB b.bin; `nydusctl access-pattern --format json` prints the reference's
#      prefetch-files JSON (v1) with b.bin's ranges.
#   2. `nydus-image optimize -p list.json`: one more blob, marked separated_prefetch, holding
#      c.so, a.txt and only the chunks of b.bin that were read (< 1.5 MiB of data, not 13 MiB);
#      `check` passes; unpack + tar -x and the kernel EROFS mount of `export --block` each equal
#      the source tree (the kernel as an independent reader of the new bootstrap).
#   3. nydusd on the optimized image with fs_prefetch and an empty blob cache: it fetches the
#      prefetch blob first (log line), then reading the recorded ranges costs 0 backend bytes,
#      the cold big.bin still fetches, and the whole mount equals the source tree.
#   4. A plain list (one path per line) and RAFS v5 work too; a list that selects nothing
#      fails with a clear error and writes nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init optimize
require_root
require_cmd python3 curl tar losetup
require_fuse
require_erofs_kernel
require_loop
find_nydus_image
find_nydusd
find_nydusctl

phase "tree: c.so (1 MiB, hardlinked), b.bin (4 MiB, read in two places), big.bin (8 MiB, cold)"
T=$E2E_TMP/tree
mkdir -p "$T/app/lib" "$T/app/cold" "$T/usr/lib/x"
rand_files "$T" app/lib/c.so:1048576:c app/b.bin:4194304:b app/cold/big.bin:8388608:big
echo "hello optimize" >"$T/app/a.txt"
ln "$T/app/lib/c.so" "$T/usr/lib/x/tool"
nydus_create "$E2E_TMP/tree.boot" "$E2E_TMP/blobs" -v 6 --chunk-size 0x10000 "$T"

# read_workload MNT: what the recorded run reads (direct I/O: no kernel readahead beyond it)
read_workload() {
  cat "$1/app/lib/c.so" "$1/app/a.txt" >/dev/null
  dd if="$1/app/b.bin" of=/dev/null bs=64K count=2 iflag=direct status=none
  dd if="$1/app/b.bin" of=/dev/null bs=64K skip=48 count=3 iflag=direct status=none
}

phase "record, then nydusctl access-pattern --format json"
MNT=$E2E_TMP/mnt
SOCK=$E2E_TMP/api.sock
pattern_config "$E2E_TMP/record.json" "$E2E_TMP/blobs" "$E2E_TMP/cache-record" true false
nydusd_start record "$MNT" "$E2E_TMP/tree.boot" "$E2E_TMP/record.json" --apisock "$SOCK"
read_workload "$MNT"
"$NYDUSCTL" -S "$SOCK" access-pattern --format json >"$E2E_TMP/list.json" ||
  fail "nydusctl access-pattern --format json failed"
echo "    list.json: $(tr -d '\n ' <"$E2E_TMP/list.json")"
python3 - "$E2E_TMP/list.json" <<'PYEOF' || fail "unexpected prefetch-files JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["version"] == "v1", j
files = {f["path"]: f.get("ranges") for f in j["files"]}
assert [f["path"] for f in j["files"]] == ["/app/lib/c.so", "/app/a.txt", "/app/b.bin"], j
covered = lambda rs: sum(n for _, n in rs or [])
assert files["/app/lib/c.so"] is None or covered(files["/app/lib/c.so"]) == 1 << 20, j
rs = files["/app/b.bin"]
assert rs and covered(rs) <= 6 * 65536 and rs[0][0] == 0, f"b.bin ranges {rs}"
assert any(o <= 48 * 65536 < o + n for o, n in rs), f"b.bin ranges miss block 48: {rs}"
PYEOF
nydusd_stop "$MNT"

phase "nydus-image optimize -p list.json"
OUT=$E2E_TMP/out
mkdir -p "$OUT"
run "$NYDUS_IMAGE" optimize -B "$E2E_TMP/tree.boot" -D "$E2E_TMP/blobs" -p "$E2E_TMP/list.json" \
  --output-blob-dir "$OUT" -O "$E2E_TMP/opt.boot" -J "$E2E_TMP/opt.json"
python3 - "$E2E_TMP/opt.json" "$OUT" <<'PYEOF' || fail "unexpected optimize output"
import json, os, sys
o = json.load(open(sys.argv[1]))
assert o["bootstrap"].endswith("opt.boot") and len(o["blobs"]) == 2, o
assert o["blobs"][1] == o["prefetch_blob"], o
size = os.path.getsize(os.path.join(sys.argv[2], o["prefetch_blob"]))
assert size == o["prefetch_blob_size"], (size, o)
# c.so 1 MiB + a.txt + at most 6 chunks of b.bin, plus the blob meta: far from 13 MiB
assert (1 << 20) < size < (1 << 20) + 6 * 65536 + 65536, size
print(f"    prefetch blob {o['prefetch_blob'][:12]}: {size} B")
PYEOF
# check with the blob dirs: every blob file agrees with the table; the table names the feature
"$NYDUS_IMAGE" check -B "$E2E_TMP/opt.boot" >"$E2E_TMP/check.out" 2>&1 || fail "check failed: $(cat "$E2E_TMP/check.out")"
sed 's/^/    | /' "$E2E_TMP/check.out"
[ "$(grep -c "separated-prefetch" "$E2E_TMP/check.out")" = 1 ] ||
  fail "check does not show one blob with the separated-prefetch feature"
cp "$OUT"/* "$E2E_TMP/blobs/"
nydus_check "$E2E_TMP/opt.boot" "$E2E_TMP/blobs"

phase "the optimized image == source: unpack, and the kernel's EROFS mount of export --block"
run "$NYDUS_IMAGE" unpack "$E2E_TMP/opt.boot" -D "$E2E_TMP/blobs" --output "$E2E_TMP/opt.tar"
mkdir -p "$E2E_TMP/x"
run tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$E2E_TMP/opt.tar" -C "$E2E_TMP/x"
verify_tree --no-root "$T" "$E2E_TMP/x"
run "$NYDUS_IMAGE" export --block -B "$E2E_TMP/opt.boot" -D "$E2E_TMP/blobs" -O "$E2E_TMP/opt.disk"
erofs_mount_devices "$E2E_TMP/opt.disk" "$E2E_TMP/opt.mnt" || fail "kernel mount of opt.disk failed"
verify_tree --no-root "$T" "$E2E_TMP/opt.mnt"
erofs_umount "$E2E_TMP/opt.mnt"

phase "nydusd + fs_prefetch: the prefetch blob first; the workload then reads 0 backend bytes"
pattern_config "$E2E_TMP/pf.json" "$E2E_TMP/blobs" "$E2E_TMP/cache-pf" false true
nydusd_start optimized "$MNT" "$E2E_TMP/opt.boot" "$E2E_TMP/pf.json" --apisock "$SOCK"
wait_prefetch "$SOCK"
grep -q "prefetch: separated prefetch blob" "${NYDUSD_LOG[$MNT]}" ||
  fail "nydusd did not prefetch the separated blob: $(grep prefetch "${NYDUSD_LOG[$MNT]}")"
B1=$(backend_bytes "$SOCK")
log "   prefetched: $(grep -o 'separated prefetch blob.*' "${NYDUSD_LOG[$MNT]}"); backend $B1 B"
read_workload "$MNT"
cmp "$MNT/usr/lib/x/tool" "$T/app/lib/c.so" || fail "hardlink content differs"
B2=$(backend_bytes "$SOCK")
[ "$B2" = "$B1" ] || fail "the recorded reads fetched $((B2 - B1)) more bytes"
cmp "$MNT/app/cold/big.bin" "$T/app/cold/big.bin" || fail "big.bin differs"
B3=$(backend_bytes "$SOCK")
[ "$B3" -gt "$B2" ] || fail "the cold big.bin fetched nothing (backend counter broken?)"
verify_tree --no-root "$T" "$MNT"
log "   recorded reads: 0 backend bytes; cold big.bin: $((B3 - B2)) B; tree equal"
nydusd_stop "$MNT"

phase "plain list, RAFS v5; a list selecting nothing fails"
nydus_create "$E2E_TMP/v5.boot" "$E2E_TMP/blobs5" -v 5 --chunk-size 0x10000 "$T"
printf '/app/a.txt\n# comment\n/usr/lib/x/tool\n/app/missing\n' >"$E2E_TMP/list.txt"
mkdir -p "$E2E_TMP/out5"
run "$NYDUS_IMAGE" optimize -B "$E2E_TMP/v5.boot" -D "$E2E_TMP/blobs5" -p "$E2E_TMP/list.txt" \
  --output-blob-dir "$E2E_TMP/out5" -O "$E2E_TMP/opt5.boot"
cp "$E2E_TMP/out5"/* "$E2E_TMP/blobs5/"
nydus_check "$E2E_TMP/opt5.boot"
run "$NYDUS_IMAGE" unpack "$E2E_TMP/opt5.boot" -D "$E2E_TMP/blobs5" --output "$E2E_TMP/opt5.tar"
rm -rf "$E2E_TMP/x5"; mkdir -p "$E2E_TMP/x5"
run tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$E2E_TMP/opt5.tar" -C "$E2E_TMP/x5"
verify_tree --no-root "$T" "$E2E_TMP/x5"
printf '/app/missing\n/app\n' >"$E2E_TMP/none.txt"
mkdir -p "$E2E_TMP/out-none"
rc=0
"$NYDUS_IMAGE" optimize -B "$E2E_TMP/tree.boot" -D "$E2E_TMP/blobs" -p "$E2E_TMP/none.txt" \
  --output-blob-dir "$E2E_TMP/out-none" -O "$E2E_TMP/none.boot" 2>"$E2E_TMP/none.err" || rc=$?
[ $rc != 0 ] || fail "optimize with a list selecting nothing succeeded"
grep -q "select no data" "$E2E_TMP/none.err" || fail "unclear error: $(cat "$E2E_TMP/none.err")"
[ -z "$(ls -A "$E2E_TMP/out-none")" ] && [ ! -e "$E2E_TMP/none.boot" ] ||
  fail "a failed optimize left output behind"
echo "    $(cat "$E2E_TMP/none.err")"
phase_end
