#!/usr/bin/env bash
# e2e.erofs_when_cached: nydusd --erofs-when-cached hands a RAFS v6 image whose every chunk is
# in the blob cache to the kernel's EROFS driver (the bootstrap file-backed, the cache files
# as its devices) instead of serving it through FUSE (issue 6, warm start).
#  1. gen-tree (seed 11) → create -v 6. With an empty cache, then with one file read, the
#     daemon serves FUSE and logs how many chunks are cached; a full read fills the cache.
#  2. Cache complete: the mount is erofs; it equals the source (verify-tree --no-root: the
#     builder gives the root mtime 0, which the kernel shows); GET /api/v1/daemon answers,
#     POST /api/v1/mount is refused; SIGTERM unmounts and exits 0.
#  3. An external umount ends the daemon with exit 0.
#  4. digest_validate true: FUSE (the kernel does not check digests), and the log says so.
#  5. Two layers (--parent-bootstrap): two devices, in blob table order; the kernel mount
#     equals a FUSE mount of the same image served from the same cache.
# Skips when the kernel cannot mount a file-backed EROFS (Linux 6.12+,
# CONFIG_EROFS_FS_BACKED_BY_FILE).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init erofs_when_cached
require_root
require_cmd python3 curl
require_fuse
find_nydus_image
find_nydusd
grep -qw erofs /proc/filesystems || try_modprobe erofs
grep -qw erofs /proc/filesystems || skip "kernel has no EROFS (modprobe erofs failed)"

SRC=$E2E_TMP/src
BIG_MIB=${BIG_MIB:-8} SMALL_FILES=${SMALL_FILES:-500} gen_tree "$SRC" 11
phase "create -v 6"
IMG=$E2E_TMP/img
nydus_create "$IMG/tree.boot" "$IMG/blobs" -v 6 "$SRC"
CACHE_DIR=$E2E_TMP/cache localfs_config "$IMG/cached.json" "$IMG/blobs"
MNT=$E2E_TMP/mnt

# expect_log MNT PATTERN: the daemon log of MNT has PATTERN
expect_log() {
  grep -q -- "$2" "${NYDUSD_LOG[$1]}" || { sed 's/^/    | /' "${NYDUSD_LOG[$1]}" | tail -n 20; fail "log of $1 lacks: $2"; }
  log "   log: $(grep -- "$2" "${NYDUSD_LOG[$1]}" | tail -n 1 | cut -c 34-)"
}

# expect_erofs MNT: MNT is the kernel's erofs mount, not a fuse one
expect_erofs() {
  [ "$(mounted_type "$1")" = erofs ] || { tail -n 5 "${NYDUSD_LOG[$1]}" | sed 's/^/    | /'; fail "$1: expected an erofs mount, got $(mounted_type "$1")"; }
}

phase "cache empty, then partly filled: FUSE, the log says why"
nydusd_start empty "$MNT" "$IMG/tree.boot" "$IMG/cached.json" --erofs-when-cached
[ "$(mounted_type "$MNT")" = fuse ] || fail "expected a fuse mount, got $(mounted_type "$MNT")"
expect_log "$MNT" "serving through FUSE: NotFound: blob .*: 0 of [0-9]* chunks cached"
big=$(find "$SRC" -type f -size +1M | head -n 1)
cat "$MNT/${big#"$SRC"/}" >/dev/null
nydusd_stop "$MNT"
nydusd_start partial "$MNT" "$IMG/tree.boot" "$IMG/cached.json" --erofs-when-cached
expect_log "$MNT" "serving through FUSE: NotFound: blob .*: [1-9][0-9]* of [0-9]* chunks cached"
tar -C "$MNT" -cf - . | cat >/dev/null
nydusd_stop "$MNT"

phase "cache complete: the kernel's EROFS == source"
NYDUSD_FSTYPE=erofs nydusd_start kernel "$MNT" "$IMG/tree.boot" "$IMG/cached.json" \
  --erofs-when-cached --apisock "$E2E_TMP/api.sock"
if [ "$(mounted_type "$MNT")" != erofs ]; then
  if grep -q "kernel without file-backed EROFS\|fsopen" "${NYDUSD_LOG[$MNT]}"; then
    skip "the kernel cannot mount a file-backed EROFS: $(grep -- '--erofs-when-cached' "${NYDUSD_LOG[$MNT]}" | tail -n1)"
  fi
  fail "expected an erofs mount, got $(mounted_type "$MNT")"
fi
expect_log "$MNT" "with the kernel's EROFS (every chunk cached)"
grep " $MNT " /proc/mounts | grep -q "^$IMG/tree.boot $MNT erofs ro" ||
  fail "unexpected mount line: $(grep " $MNT " /proc/mounts)"
verify_tree --no-root "$SRC" "$MNT"
api_get "$E2E_TMP/api.sock" /api/v1/daemon | grep -q '"state":"RUNNING"' || fail "GET /api/v1/daemon: not RUNNING"
body=$(python3 -c 'import json, sys; print(json.dumps({"source": sys.argv[1], "fs_type": "rafs", "config": open(sys.argv[2]).read()}))' \
  "$IMG/tree.boot" "$IMG/cached.json")
out=$(curl -sS --max-time 10 --unix-socket "$E2E_TMP/api.sock" -X POST \
  "http://localhost/api/v1/mount?mountpoint=/sub" -d "$body")
grep -q "no FUSE mount to add images to" <<<"$out" || fail "POST /api/v1/mount not refused: $out"
log "   POST /api/v1/mount refused: $out"
nydusd_stop "$MNT"

phase "an external umount ends the daemon (exit 0)"
NYDUSD_FSTYPE=erofs nydusd_start kernel-umount "$MNT" "$IMG/tree.boot" "$IMG/cached.json" --erofs-when-cached
expect_erofs "$MNT"
pid=$(nydusd_pid "$MNT")
run umount "$MNT"
nydusd_wait_exit "$pid" 15000 || fail "nydusd still running 15 s after its mount was unmounted"
[ "$NYDUSD_LAST_RC" = 0 ] || fail "nydusd exited with $NYDUSD_LAST_RC after an external umount"
unset "NYDUSD_PID[$MNT]"
expect_log "$MNT" "the mount was removed externally"

phase "digest_validate true: FUSE"
CACHE_DIR=$E2E_TMP/cache localfs_config "$IMG/validate.json" "$IMG/blobs" true
nydusd_start validate "$MNT" "$IMG/tree.boot" "$IMG/validate.json" --erofs-when-cached
expect_log "$MNT" "serving through FUSE: NotSupported: chunk digests are validated"
nydusd_stop "$MNT"

phase "two layers: two devices in blob order; kernel mount == FUSE mount"
L1=$E2E_TMP/l1 L2=$E2E_TMP/l2
mkdir -p "$L1/a" "$L2/b"
head -c 3000000 /dev/urandom >"$L1/a/one.bin"
echo "first" >"$L1/a/small.txt"
head -c 2000000 /dev/urandom >"$L2/b/two.bin"
echo "second" >"$L2/a-new.txt"
nydus_create "$E2E_TMP/l1.boot" "$E2E_TMP/lblobs" -v 6 "$L1"
nydus_create "$E2E_TMP/l2.boot" "$E2E_TMP/lblobs" -v 6 --parent-bootstrap "$E2E_TMP/l1.boot" "$L2"
CACHE_DIR=$E2E_TMP/lcache localfs_config "$E2E_TMP/l.json" "$E2E_TMP/lblobs"
FMNT=$E2E_TMP/fmnt
nydusd_start layers-fuse "$FMNT" "$E2E_TMP/l2.boot" "$E2E_TMP/l.json"
tar -C "$FMNT" -cf - . | cat >/dev/null
NYDUSD_FSTYPE=erofs nydusd_start layers-kernel "$MNT" "$E2E_TMP/l2.boot" "$E2E_TMP/l.json" --erofs-when-cached
expect_erofs "$MNT"
verify_tree --no-root "$FMNT" "$MNT"
cmp "$MNT/a/one.bin" "$L1/a/one.bin" && cmp "$MNT/b/two.bin" "$L2/b/two.bin" ||
  fail "layer files differ from their sources"
nydusd_stop "$MNT"
nydusd_stop "$FMNT"
