#!/usr/bin/env bash
# e2e.nydusd_corrupt: a flipped bit in a copy of a data blob, mounted with digest_validate on.
# The tree has victim.bin (3 MiB of compressible text, 3 chunks) and other files. For each build
#   v6 none/sha256,  v5 none/blake3,  v6 zstd/blake3
# one bit in the middle of victim.bin's second chunk (located with `nydus-image inspect`,
# `stat /victim.bin`) is flipped in a copy of the blob, then:
#   digest_validate on:  reading victim.bin fails with EIO (twice: nothing bad is cached), its
#                        first 64 KiB (chunk 0) still read correctly, every other file reads
#                        with the right sha256, and the daemon stays alive and mounted;
#   digest_validate off (uncompressed builds only, the control): victim.bin reads without
#                        error but with the wrong sha256, so the flip did hit that file and
#                        the digest check is what caught it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_corrupt
require_root
require_cmd python3
require_fuse
find_nydus_image
find_nydusd

phase "source tree"
SRC=$E2E_TMP/src
python3 - "$SRC" <<'PYEOF'
import hashlib, os, sys
root = sys.argv[1]
def stream(seed, n):
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest(); i += 1
    return bytes(out[:n])
os.makedirs(os.path.join(root, "sub"))
# victim.bin compresses well (numbered text lines), so the zstd build stores it compressed
victim = b"".join(b"victim line %08d of a compressible nydus test file\n" % i for i in range(70000))
files = {"victim.bin": victim[:3 << 20], "other.bin": stream("other", 2 << 20),
         "small.txt": b"hello nydus\n", "sub/nested.bin": stream("nested", 300000)}
for rel, data in files.items():
    with open(os.path.join(root, rel), "wb") as f:
        f.write(data)
PYEOF
(cd "$SRC" && find . -type f -exec sha256sum {} + | sort -k2) >"$E2E_TMP/src.sha256"
sed 's/^/    /' "$E2E_TMP/src.sha256"

# chunk_of BOOT PATH INDEX: "blob_id compressed_offset compressed_size" of a file's chunk
chunk_of() {
  printf 'stat %s\nq\n' "$2" | "$NYDUS_IMAGE" inspect "$1" 2>/dev/null | python3 -c '
import json, sys
t = sys.stdin.read()
i = t.find("{")
if i < 0: sys.exit("inspect printed no stat JSON: " + t[:300])
st, _ = json.JSONDecoder().raw_decode(t[i:])
c = st["chunks"][int(sys.argv[1])]
print(c["blob_id"], c["compressed_offset"], c["compressed_size"])' "$3"
}
# read_check MNT: every file but victim.bin must match the source sha256
read_others() {
  local mnt=$1
  (cd "$mnt" && grep -v ' ./victim.bin$' "$E2E_TMP/src.sha256" | sha256sum -c --quiet -) \
    || fail "a file other than victim.bin does not read correctly from $mnt"
}
# victim_read MNT: prints "ok <sha256>" or "err <errno name>" for a full read of victim.bin
victim_read() {
  python3 - "$1/victim.bin" <<'PYEOF'
import errno, hashlib, sys
try:
    with open(sys.argv[1], "rb", buffering=0) as f:
        h = hashlib.sha256()
        while True:
            b = f.read(1 << 17)
            if not b: break
            h.update(b)
    print("ok", h.hexdigest())
except OSError as e:
    print("err", errno.errorcode.get(e.errno, e.errno))
PYEOF
}

VICTIM_SHA=$(awk '$2 == "./victim.bin" {print $1}' "$E2E_TMP/src.sha256")
for b in 6:none:sha256 5:none:blake3 6:zstd:blake3; do
  IFS=: read -r v c d <<<"$b"
  name="v$v-$c-$d"
  out=$E2E_TMP/$name
  phase "$name: create, flip one bit of victim.bin chunk 1 in a copy of the blob"
  nydus_create "$out/boot" "$out/blobs" -v "$v" --compressor "$c" --digester "$d" "$SRC"
  read -r blob off size < <(chunk_of "$out/boot" /victim.bin 1) || fail "cannot locate victim.bin chunk 1"
  [ -n "$size" ] || fail "cannot locate victim.bin chunk 1"
  cp -a "$out/blobs" "$out/bad"
  chmod u+w "$out/bad/$blob"
  pos=$((off + size / 2))
  python3 - "$out/bad/$blob" "$pos" <<'PYEOF'
import sys
path, pos = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(pos); b = f.read(1); f.seek(pos); f.write(bytes([b[0] ^ 0x10]))
PYEOF
  cmp -s "$out/blobs/$blob" "$out/bad/$blob" && fail "the bit flip did not change the blob"
  log "   blob ${blob:0:12}…: chunk 1 at $off (+$size B), flipped bit 4 of byte $pos"

  phase "$name: digest_validate on"
  localfs_config "$out/validate.json" "$out/bad" true
  nydusd_start "$name-validate" "$out/mnt" "$out/boot" "$out/validate.json"
  r=$(victim_read "$out/mnt")
  [ "$r" = "err EIO" ] || fail "victim.bin read gave '$r', expected EIO"
  log "   victim.bin: $r"
  head -c 65536 "$out/mnt/victim.bin" | cmp -s - <(head -c 65536 "$SRC/victim.bin") \
    || fail "the first 64 KiB of victim.bin (chunk 0, intact) do not read correctly"
  read_others "$out/mnt"
  r=$(victim_read "$out/mnt")
  [ "$r" = "err EIO" ] || fail "second victim.bin read gave '$r', expected EIO again"
  nydusd_alive "$out/mnt"
  read_others "$out/mnt"
  log "   victim.bin EIO twice, chunk 0 and every other file correct, daemon alive"
  grep -E ' (warning|error) ' "${NYDUSD_LOG[$out/mnt]}" | grep -v 'config:\|rlimit' | head -2 \
    | sed 's/^/    log| /' || true
  nydusd_stop "$out/mnt"

  if [ "$c" = none ]; then
    phase "$name: control, digest_validate off"
    localfs_config "$out/novalidate.json" "$out/bad" false
    nydusd_start "$name-novalidate" "$out/mnt" "$out/boot" "$out/novalidate.json"
    r=$(victim_read "$out/mnt")
    [ "${r%% *}" = ok ] || fail "without validation victim.bin should read (wrongly), got '$r'"
    [ "${r#ok }" != "$VICTIM_SHA" ] || fail "without validation victim.bin read the original bytes: the flip missed it"
    read_others "$out/mnt"
    log "   victim.bin reads with a wrong sha256 without validation, as expected"
    nydusd_stop "$out/mnt"
  fi
  rm -rf "$out"
done
