#!/usr/bin/env bash
# e2e.fixtures: images written by the reference (Rust nydus-image 2.2, see
# $NYDUS_SHARED/fixtures/nydus/README.md) must load with our `nydus-image check`:
#   bootstrap/rafs-v6-2.2.boot -D blobs            (v6, zstd, blake3, blob-toc, one blob)
#   bootstrap/nydusd_daemon_test_bootstrap         (v5, 16,816 inodes, its blob not included)
#   repeatable/blake3-lz4_block-non_repeatable -D repeatable/blobs   (v5)
#   repeatable/sha256-nocompress-repeatable    -D repeatable/blobs   (v5)
# The -J output must list the expected blob ids, and `inspect -R blobs` must agree with the
# v6 device table. Skipped when the fixtures are absent.
source "$(dirname "$0")/lib.sh"
e2e_init fixtures
require_cmd python3
find_nydus_image
FIX=$(fixtures_dir)
log "fixtures: $FIX"
V6_BLOB=be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef
REP_BLOB=7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00

# json_blobs FILE: the "blobs" array of a -J output, one id per line
json_blobs() {
  python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1])).get("blobs", [])))' "$1"
}
# check_fixture NAME BOOT [BLOBDIR] [EXPECTED_BLOB_ID]
check_fixture() {
  local name=$1 boot=$2 blobdir=${3:-} want=${4:-} args
  phase "$name: nydus-image check"
  [ -f "$boot" ] || fail "fixture $boot missing"
  args=(check -B "$boot")
  [ -n "$blobdir" ] && args+=(-D "$blobdir")
  args+=(-J "$E2E_TMP/$name.json")
  run "$NYDUS_IMAGE" "${args[@]}"
  sed -n '1,12p' "$LAST_LOG" | sed 's/^/    | /'
  if [ -n "$want" ]; then
    [ -s "$E2E_TMP/$name.json" ] || fail "$name: check -J wrote no JSON"
    local got
    got=$(json_blobs "$E2E_TMP/$name.json") || fail "$name: check -J output is not JSON: $(head -c 300 "$E2E_TMP/$name.json")"
    grep -qx "$want" <<<"$got" || fail "$name: check -J blobs = [$got], expected to contain $want"
    log "   -J blobs: $(echo $got)"
  fi
}

check_fixture v6-2.2 "$FIX/bootstrap/rafs-v6-2.2.boot" "$FIX/blobs" "$V6_BLOB"
phase "v6-2.2: inspect -R blobs vs device table"
list=$(blob_list "$FIX/bootstrap/rafs-v6-2.2.boot") || fail "inspect -R blobs failed or disagrees with the device table"
echo "    $list"
[ "$(awk '{print $1}' <<<"$list")" = "$V6_BLOB" ] || fail "inspect -R blobs: expected blob $V6_BLOB, got: $list"

check_fixture v5-daemon-test "$FIX/bootstrap/nydusd_daemon_test_bootstrap"
check_fixture v5-blake3-lz4-nonrepeatable "$FIX/repeatable/blake3-lz4_block-non_repeatable" "$FIX/repeatable/blobs" "$REP_BLOB"
check_fixture v5-sha256-nocompress-repeatable "$FIX/repeatable/sha256-nocompress-repeatable" "$FIX/repeatable/blobs" "$REP_BLOB"

# inspect -R tree must list exactly the tree of each repeatable fixture's .result file
# (the JSON array at its start; the md5 lines after it are for content checks).
for f in blake3-lz4_block-non_repeatable sha256-nocompress-repeatable; do
  phase "$f: inspect -R tree vs $f.result"
  run "$NYDUS_IMAGE" inspect -R tree "$FIX/repeatable/$f"
  python3 - "$LAST_LOG" "$FIX/repeatable/$f.result" <<'PY' || fail "$f: inspect -R tree differs from $f.result"
import json, sys
log = open(sys.argv[1]).read()
got = json.loads(log[log.index('['):log.rindex(']') + 1])
want = json.JSONDecoder().raw_decode(open(sys.argv[2]).read())[0]  # md5 lines follow the JSON
if got != want:
    print("got :", json.dumps(got)[:400]); print("want:", json.dumps(want)[:400]); sys.exit(1)
print("    identical:", want[-1])
PY
done
