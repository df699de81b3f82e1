#!/usr/bin/env bash
# e2e.nydusd_fixtures: images written by the reference nydus-image (../shared/fixtures/nydus)
# mounted by our nydusd with digest_validate on, so every chunk read is checked against the
# digest the reference recorded:
#   bootstrap/rafs-v6-2.2.boot + blobs/       v6, zstd, blake3: lib.rs (16931 B) and
#                                             sync_io.rs (13400 B) read in full
#   repeatable/<both v5 bootstraps> + repeatable/blobs
#       the mount's `tree -a -J`-style listing (type, name, symlink target) must equal the
#       fixture's .result JSON and `nydus-image inspect -R tree`; every file's md5 must equal
#       the md5 list in the .result; every regular file must read in full.
# Listings are compared with children sorted by name (tree's version sort aside).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_fixtures
require_root
require_cmd python3
require_fuse
find_nydus_image
find_nydusd
FIX=$(fixtures_dir)
log "fixtures: $FIX"

# listing_of DIR OUT: the tree as JSON [{"type","name","target"?,"contents"?}] for DIR's root
listing_of() {
  python3 - "$1" >"$2" <<'PYEOF'
import json, os, stat, sys
def entry(path, name):
    st = os.lstat(path)
    m = st.st_mode
    if stat.S_ISLNK(m):
        return {"type": "link", "name": name, "target": os.readlink(path), "contents": []}
    if stat.S_ISDIR(m):
        kids = sorted(os.listdir(path))
        return {"type": "directory", "name": name,
                "contents": [entry(os.path.join(path, k), k) for k in kids]}
    kind = ("file" if stat.S_ISREG(m) else "char" if stat.S_ISCHR(m) else
            "block" if stat.S_ISBLK(m) else "fifo" if stat.S_ISFIFO(m) else "socket")
    return {"type": kind, "name": name}
root = entry(sys.argv[1], "")
json.dump(root, sys.stdout, sort_keys=True, indent=1)
PYEOF
}
# normalize_tree_json IN OUT: the first array of a tree -J style file (.result or inspect -R
# tree), root entry only, children sorted by name
normalize_tree_json() {
  python3 - "$1" >"$2" <<'PYEOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="surrogateescape").read()
i = text.find("[")
arr, _ = json.JSONDecoder().raw_decode(text[i:])
def norm(e):
    out = {"type": e["type"], "name": e["name"]}
    if "target" in e: out["target"] = e["target"]
    if e["type"] in ("directory", "link"):
        out["contents"] = sorted((norm(c) for c in e.get("contents", [])), key=lambda c: c["name"])
    return out
json.dump(norm(arr[0]), sys.stdout, sort_keys=True, indent=1)
PYEOF
}
# read_all MNT: reads every regular file in full; prints "N files, B bytes"; fails on any error
read_all() {
  python3 - "$1" <<'PYEOF'
import os, sys
n = total = 0
for d, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        size = os.lstat(p).st_size
        got = 0
        with open(p, "rb") as fh:
            while True:
                b = fh.read(1 << 20)
                if not b:
                    break
                got += len(b)
        if got != size:
            sys.exit(f"{p}: read {got} bytes, st_size {size}")
        n += 1
        total += got
print(f"{n} files, {total} bytes")
PYEOF
}

# ------------------------------------------------------------------ v6
V6=$E2E_TMP/v6
phase "v6 rafs-v6-2.2.boot: mount with digest_validate"
localfs_config "$E2E_TMP/v6.json" "$FIX/blobs" true
nydusd_start v6 "$V6" "$FIX/bootstrap/rafs-v6-2.2.boot" "$E2E_TMP/v6.json"
phase "v6: read every file, compare the listing with inspect -R tree"
run read_all "$V6"
sed 's/^/    /' "$LAST_LOG"
for f in lib.rs:16931 sync_io.rs:13400; do
  p=$(find "$V6" -name "${f%%:*}" -type f | head -1)
  [ -n "$p" ] || fail "v6: ${f%%:*} not found in the mount"
  [ "$(stat -c %s "$p")" = "${f##*:}" ] || fail "v6: $p has size $(stat -c %s "$p"), expected ${f##*:}"
  [ "$(wc -c <"$p")" = "${f##*:}" ] || fail "v6: reading $p gave $(wc -c <"$p") bytes"
  log "   ${p#"$V6"}: ${f##*:} B, sha256 $(sha256sum <"$p" | cut -c1-16)…"
done
listing_of "$V6" "$E2E_TMP/v6.mount.json"
"$NYDUS_IMAGE" inspect -R tree "$FIX/bootstrap/rafs-v6-2.2.boot" >"$E2E_TMP/v6.inspect.raw" \
  || fail "nydus-image inspect -R tree failed"
normalize_tree_json "$E2E_TMP/v6.inspect.raw" "$E2E_TMP/v6.inspect.json"
if ! cmp -s "$E2E_TMP/v6.inspect.json" "$E2E_TMP/v6.mount.json"; then
  diff -u "$E2E_TMP/v6.inspect.json" "$E2E_TMP/v6.mount.json" | head -40 | sed 's/^/    /'
  fail "v6: mount listing differs from inspect -R tree"
fi
log "   listing: $(grep -c '"name"' "$E2E_TMP/v6.mount.json") entries, equal to inspect -R tree"
nydusd_alive "$V6"
phase "v6: unmount"
nydusd_stop "$V6"

# ------------------------------------------------------------------ v5 repeatable
for name in sha256-nocompress-repeatable blake3-lz4_block-non_repeatable; do
  BOOT=$FIX/repeatable/$name
  M=$E2E_TMP/$name
  phase "v5 $name: mount with digest_validate"
  localfs_config "$E2E_TMP/$name.json" "$FIX/repeatable/blobs" true
  nydusd_start "$name" "$M" "$BOOT" "$E2E_TMP/$name.json"
  phase "v5 $name: listing == .result == inspect -R tree"
  listing_of "$M" "$E2E_TMP/$name.mount.json"
  normalize_tree_json "$BOOT.result" "$E2E_TMP/$name.result.json"
  "$NYDUS_IMAGE" inspect -R tree "$BOOT" >"$E2E_TMP/$name.inspect.raw" || fail "inspect -R tree failed"
  normalize_tree_json "$E2E_TMP/$name.inspect.raw" "$E2E_TMP/$name.inspect.json"
  if ! cmp -s "$E2E_TMP/$name.result.json" "$E2E_TMP/$name.mount.json"; then
    diff -u "$E2E_TMP/$name.result.json" "$E2E_TMP/$name.mount.json" | head -60 | sed 's/^/    /'
    fail "$name: mount listing differs from $name.result"
  fi
  cmp -s "$E2E_TMP/$name.result.json" "$E2E_TMP/$name.inspect.json" \
    || fail "$name: inspect -R tree differs from $name.result"
  log "   listing: $(grep -c '"name"' "$E2E_TMP/$name.mount.json") entries, equal to .result and inspect -R tree"
  phase "v5 $name: md5 of the .result list, read every file"
  # the .result ends with "md5  /path" lines (md5sum of the source tree)
  grep -E '^[0-9a-f]{32}  /' "$BOOT.result" | sed "s#  /#  $M/#" >"$E2E_TMP/$name.md5"
  [ -s "$E2E_TMP/$name.md5" ] || fail "$name.result has no md5 lines"
  run md5sum -c --quiet "$E2E_TMP/$name.md5"
  log "   $(wc -l <"$E2E_TMP/$name.md5") md5 sums match"
  run read_all "$M"
  sed 's/^/    /' "$LAST_LOG"
  nydusd_alive "$M"
  phase "v5 $name: unmount"
  nydusd_stop "$M"
done
