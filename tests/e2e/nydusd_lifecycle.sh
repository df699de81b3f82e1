#!/usr/bin/env bash
# e2e.nydusd_lifecycle: starting and stopping nydusd.
#   clean stops   SIGTERM and SIGINT unmount and exit 0; an external `umount` ends the daemon
#                 with exit 0; -D/--localfs-dir and TOML/JSON v2 configs mount; v5 in cached mode
#                 mounts; --log-file without an extension logs to <file>.log
#   failed starts exit non-zero within 20 s with a message saying why, and leave nothing
#                 mounted: unknown config key, config syntax error, missing config, missing or
#                 corrupt bootstrap (the same message as `nydus-image check`), non-existent /
#                 non-directory / busy mountpoint, unreachable registry (fails the mount, not a read), v6 in
#                 cached mode, --config with --localfs-dir, --fuse-threads 0, flags of later
#                 issues (--apisock ...), and no permission on /dev/fuse (when unshare and
#                 setpriv are available).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_lifecycle
require_root
require_cmd python3
require_fuse
find_nydus_image
find_nydusd

phase "images (v6 and v5 of a small tree)"
SRC=$E2E_TMP/src
mkdir -p "$SRC/dir"
echo "hello from nydusd" >"$SRC/hello.txt"
head -c 300000 /dev/urandom >"$SRC/dir/random.bin"
ln -s hello.txt "$SRC/link"
nydus_create "$E2E_TMP/v6.boot" "$E2E_TMP/blobs" -v 6 "$SRC"
nydus_create "$E2E_TMP/v5.boot" "$E2E_TMP/blobs" -v 5 "$SRC"
localfs_config "$E2E_TMP/localfs.json" "$E2E_TMP/blobs"
MNT=$E2E_TMP/mnt
check_content() {
  cmp -s "$1/hello.txt" "$SRC/hello.txt" && cmp -s "$1/dir/random.bin" "$SRC/dir/random.bin" \
    && [ "$(readlink "$1/link")" = hello.txt ] || fail "content of $1 differs from the source"
}

phase "SIGTERM: clean unmount, exit 0"
nydusd_start term "$MNT" "$E2E_TMP/v6.boot" "$E2E_TMP/localfs.json"
check_content "$MNT"
nydusd_stop "$MNT" TERM

phase "SIGINT: clean unmount, exit 0"
nydusd_start int "$MNT" "$E2E_TMP/v6.boot" "$E2E_TMP/localfs.json" --fuse-threads 1
check_content "$MNT"
nydusd_stop "$MNT" INT

phase "external umount: the daemon exits 0"
nydusd_start umount "$MNT" "$E2E_TMP/v6.boot" "$E2E_TMP/localfs.json"
pid=$(nydusd_pid "$MNT")
run umount "$MNT"
nydusd_wait_exit "$pid" 15000 || fail "nydusd still running 15 s after its mount was unmounted"
[ "$NYDUSD_LAST_RC" = 0 ] || fail "nydusd exited with $NYDUSD_LAST_RC after an external umount"
unset "NYDUSD_PID[$MNT]"
log "   exited with 0"

phase "-D/--localfs-dir, --thread-num alias, v5 cached mode, v2 JSON and TOML configs"
nydusd_start localfs-dir "$MNT" "$E2E_TMP/v6.boot" - -D "$E2E_TMP/blobs" --thread-num 2
check_content "$MNT"
nydusd_stop "$MNT"
localfs_config "$E2E_TMP/cached.json" "$E2E_TMP/blobs" false cached
nydusd_start v5-cached "$MNT" "$E2E_TMP/v5.boot" "$E2E_TMP/cached.json"
check_content "$MNT"
nydusd_stop "$MNT"
cat >"$E2E_TMP/v2.json" <<EOF
{"version": 2, "backend": {"type": "localfs", "localfs": {"dir": "$E2E_TMP/blobs"}},
 "cache": {"type": "", "validate": true}, "rafs": {"mode": "direct", "enable_xattr": true}}
EOF
nydusd_start v2-json "$MNT" "$E2E_TMP/v6.boot" "$E2E_TMP/v2.json"
check_content "$MNT"
nydusd_stop "$MNT"
cat >"$E2E_TMP/v2.toml" <<EOF
version = 2
[backend]
type = "localfs"
[backend.localfs]
dir = "$E2E_TMP/blobs"
[cache]
type = "dummycache"
[rafs]
mode = "direct"
validate = true
EOF
nydusd_start v2-toml "$MNT" "$E2E_TMP/v5.boot" "$E2E_TMP/v2.toml" -L "$E2E_TMP/logs/daemon"
check_content "$MNT"
nydusd_stop "$MNT"
[ -s "$E2E_TMP/logs/daemon.log" ] || fail "--log-file $E2E_TMP/logs/daemon did not write $E2E_TMP/logs/daemon.log"
log "   --log-file daemon -> daemon.log ($(wc -l <"$E2E_TMP/logs/daemon.log") lines)"

phase "failed starts: configuration"
B6=$E2E_TMP/v6.boot
sed 's/"dir"/"dri"/' "$E2E_TMP/localfs.json" >"$E2E_TMP/typo.json"
expect_start_failure unknown-key "typo.json: unknown key 'device.backend.config.dri'" \
  --config "$E2E_TMP/typo.json" --mountpoint "$MNT" --bootstrap "$B6"
printf '{"device": {"backend": \n' >"$E2E_TMP/syntax.json"
expect_start_failure syntax "syntax.json: invalid JSON: parse error at line 2" \
  --config "$E2E_TMP/syntax.json" --mountpoint "$MNT" --bootstrap "$B6"
expect_start_failure missing-config "nonexistent.json.*No such file" \
  --config "$E2E_TMP/nonexistent.json" --mountpoint "$MNT" --bootstrap "$B6"
cat >"$E2E_TMP/registry.json" <<'EOF'
{"device": {"backend": {"type": "registry", "config": {"host": "127.0.0.1:1", "repo": "library/x"}},
            "cache": {"type": "blobcache", "config": {"work_dir": "/tmp"}}}, "mode": "direct"}
EOF
expect_start_failure registry "registry 127.0.0.1:1 .*(check that host and port are right|connect)" \
  --config "$E2E_TMP/registry.json" --mountpoint "$MNT" --bootstrap "$B6"
expect_start_failure v6-cached "Rafs v6 does not support cached mode" \
  --config "$E2E_TMP/cached.json" --mountpoint "$MNT" --bootstrap "$B6"
expect_start_failure config-and-D "excludes|conflict" \
  --config "$E2E_TMP/localfs.json" -D "$E2E_TMP/blobs" --mountpoint "$MNT" --bootstrap "$B6"
expect_start_failure no-config "config|localfs-dir" --mountpoint "$MNT" --bootstrap "$B6"
expect_start_failure threads-0 "invalid thread number 0, valid range: \[1-1024\]" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6" --fuse-threads 0
for flag in "--upgrade" "--shared-dir /tmp" "--writable" "--failover-policy flush" \
            "--log-rotation-size 10"; do
  read -r f _ <<<"$flag"
  # shellcheck disable=SC2086
  expect_start_failure "flag${f}" "not supported yet: $f" \
    --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6" $flag
done
expect_start_failure id-alone "--id requires --supervisor" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6" --id x
expect_start_failure prefetch-missing "cannot read the prefetch file list" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6" --prefetch-files "$E2E_TMP/x"
expect_start_failure prefetch-no-boot "--prefetch-files requires --bootstrap" \
  --mountpoint "$MNT" --apisock "$E2E_TMP/api.sock" --prefetch-files "$E2E_TMP/x"
expect_start_failure no-boot-no-api "--bootstrap is required unless --apisock" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT"
expect_start_failure virtiofs "not supported yet: the virtiofs subcommand" virtiofs --sock "$E2E_TMP/vu.sock"
expect_start_failure singleton "not supported yet: the singleton subcommand" singleton --fscache "$E2E_TMP"

phase "failed starts: bootstrap"
expect_start_failure missing-bootstrap "nonexistent.boot.*No such file" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/nonexistent.boot"
expect_start_failure no-bootstrap "bootstrap" --config "$E2E_TMP/localfs.json" --mountpoint "$MNT"
head -c 4096 "$B6" >"$E2E_TMP/truncated.boot"
check_msg=$("$NYDUS_IMAGE" check -B "$E2E_TMP/truncated.boot" 2>&1) && fail "nydus-image check accepted a truncated bootstrap"
# "error: Corruption: failed to check bootstrap <path>: <the reader's message>"
check_msg=$(printf '%s\n' "$check_msg" | grep -i error | head -1 | sed -E 's/^(error: )?[A-Za-z]+: //; s/^failed to check bootstrap [^:]*: //')
log "   nydus-image check says: $check_msg"
[ -n "$check_msg" ] || fail "no message from nydus-image check"
expect_start_failure corrupt-bootstrap "$(printf '%s' "$check_msg" | sed 's/[][\.*^$(){}+?|]/\\&/g')" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$E2E_TMP/truncated.boot"

phase "failed starts: mountpoint"
expect_start_failure no-mountpoint "mountpoint .*no-such-dir: no such directory" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$E2E_TMP/no-such-dir" --bootstrap "$B6"
expect_start_failure file-mountpoint "not a directory" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$SRC/hello.txt" --bootstrap "$B6"
nydusd_start busy "$MNT" "$B6" "$E2E_TMP/localfs.json"
expect_start_failure busy-mountpoint "busy" \
  --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6"
nydusd_alive "$MNT"
check_content "$MNT"
nydusd_stop "$MNT"

phase "failed start: no permission on /dev/fuse"
if command -v unshare >/dev/null && command -v setpriv >/dev/null; then
  # A private mount namespace where /dev/fuse is a mode-000 node, and a root without
  # CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so opening it fails with EACCES.
  mknod "$E2E_TMP/fuse-000" c 10 229 && chmod 000 "$E2E_TMP/fuse-000"
  cat >"$E2E_TMP/nofuse.sh" <<EOF
mount --bind "$E2E_TMP/fuse-000" /dev/fuse || exit 99
exec setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search \
  "$NYDUSD" --config "$E2E_TMP/localfs.json" --mountpoint "$MNT" --bootstrap "$B6"
EOF
  expect_failure no-dev-fuse "/dev/fuse.*Permission denied" \
    unshare -m --propagation private bash "$E2E_TMP/nofuse.sh"
else
  log "   skipped: unshare or setpriv missing"
fi
