# shellcheck shell=bash
# tests/e2e/lib.sh: helpers sourced by the end-to-end tests (tests/e2e/*.sh).
#
#   source "$(dirname "$0")/lib.sh"; e2e_init <name>
#
# Exit codes: 0 pass, 1 fail, 77 skipped (CTest: SKIP_RETURN_CODE 77).
# Every test prints what it does; `phase` starts a timed phase, `run` prints a command, runs it
# with its output captured and, on failure, prints the command, exit code and output tail.
# Environment:
#   NYDUS_IMAGE         nydus-image binary (else NYDUS_IMAGE_DEFAULT from CTest, else
#                       $NYDUS_BUILD_DIR/src/tools/nydus-image, else <repo>/build/src/tools/nydus-image)
#   NYDUS_SHARED        shared material (default <repo>/../shared): fixtures/nydus
#   NYDUS_CACHE         persistent cache: debootstrap rootfs, OCI images (default /var/cache/nydus-cpp)
#   NYDUS_E2E_TMPDIR    where per-test temp dirs go (default /var/tmp: needs xattrs, not tmpfs)
#   KEEP_TMP=1          keep the temp dir (its path is printed)
set -euo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)
TOOLS=$REPO_ROOT/tests/tools
NYDUS_SHARED=${NYDUS_SHARED:-$REPO_ROOT/../shared}
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
SKIP_CODE=77

E2E_NAME=
E2E_TMP=
E2E_T0=0
PHASE_NAME=
PHASE_T0=0
PHASES=()            # "name<TAB>ms"
MOUNTS=()            # mount points, unmounted in reverse order on exit
LOOPS=()             # loop devices we attached
CLEANUPS=()          # extra shell snippets run on exit (reverse order)
declare -A MOUNT_LOOPS=()   # mount point -> its loop devices
RUN_SEQ=0

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fmt_ms() { printf '%d.%03ds' $(( $1 / 1000 )) $(( $1 % 1000 )); }
elapsed_ms() { echo $(( $(now_ms) - $1 )); }

log() { printf '[%s +%s] %s\n' "$E2E_NAME" "$(fmt_ms "$(elapsed_ms "$E2E_T0")")" "$*"; }
fail() {
  echo "FAIL [$E2E_NAME]: $*" >&2
  exit 1
}
skip() {
  echo "SKIP [$E2E_NAME]: $*"
  exit "$SKIP_CODE"
}

# e2e_init NAME: temp dir, traps, timing
e2e_init() {
  E2E_NAME=$1
  E2E_T0=$(now_ms)
  local base=${NYDUS_E2E_TMPDIR:-/var/tmp}
  mkdir -p "$base"
  E2E_TMP=$(mktemp -d "$base/nydus-e2e-$E2E_NAME.XXXXXX")
  mkdir -p "$E2E_TMP/logs"
  trap e2e_exit EXIT
  trap 'exit 130' INT TERM
  log "start: temp dir $E2E_TMP, kernel $(uname -r), $(nproc) cpu(s)"
}

# phase NAME: ends the current phase (prints its duration) and starts NAME
phase() {
  phase_end
  PHASE_NAME=$1
  PHASE_T0=$(now_ms)
  log "== $PHASE_NAME"
}
phase_end() {
  [ -n "$PHASE_NAME" ] || return 0
  local ms; ms=$(elapsed_ms "$PHASE_T0")
  PHASES+=("$PHASE_NAME"$'\t'"$ms")
  log "   done: $PHASE_NAME ($(fmt_ms "$ms"))"
  PHASE_NAME=
}

e2e_exit() {
  local rc=$?
  set +e
  trap - EXIT
  if [ $rc = 0 ]; then phase_end; fi
  e2e_cleanup
  if [ ${#PHASES[@]} -gt 0 ]; then
    echo "---- [$E2E_NAME] phase timings"
    local p
    for p in "${PHASES[@]}"; do printf '  %-60s %10s\n' "${p%%$'\t'*}" "$(fmt_ms "${p##*$'\t'}")"; done
  fi
  local verdict=PASS
  [ $rc = "$SKIP_CODE" ] && verdict=SKIPPED
  [ $rc != 0 ] && [ $rc != "$SKIP_CODE" ] && verdict="FAIL (exit $rc${PHASE_NAME:+, in phase: $PHASE_NAME})"
  echo "---- [$E2E_NAME] $verdict in $(fmt_ms "$(elapsed_ms "$E2E_T0")")"
  exit $rc
}

e2e_cleanup() {
  local i m l
  for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do
    m=${MOUNTS[$i]}
    if mountpoint -q "$m" 2>/dev/null; then umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; fi
  done
  MOUNTS=()
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  LOOPS=()
  for ((i=${#CLEANUPS[@]}-1; i>=0; i--)); do eval "${CLEANUPS[$i]}" || true; done
  CLEANUPS=()
  if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then
      echo "keeping $E2E_TMP (KEEP_TMP=1)"
    elif awk '{print $5}' /proc/self/mountinfo | grep -qF "$E2E_TMP/"; then
      echo "NOT removing $E2E_TMP: something is still mounted below it" >&2
    else
      rm -rf "$E2E_TMP"
    fi
  fi
}

# on_exit 'shell snippet': run at exit, before the temp dir is removed
on_exit() { CLEANUPS+=("$1"); }

# ---------------------------------------------------------------- running commands
# run CMD...: print it, run it with output in a log file, print duration; on failure print the
# command, exit code and the last lines of output, then fail the test.
run() {
  local rc=0
  run_rc "$@" || rc=$?
  [ $rc = 0 ] || fail "command failed (exit $rc): $(quote_cmd "$@")"
}
# run_rc CMD...: like run, but returns the exit code instead of failing. LAST_LOG names the log.
run_rc() {
  RUN_SEQ=$((RUN_SEQ + 1))
  LAST_LOG=$E2E_TMP/logs/$RUN_SEQ.log
  local t0 rc=0 ms
  t0=$(now_ms)
  echo "  \$ $(quote_cmd "$@")"
  "$@" >"$LAST_LOG" 2>&1 </dev/null || rc=$?
  ms=$(elapsed_ms "$t0")
  if [ $rc = 0 ]; then
    echo "    ok ($(fmt_ms "$ms"))"
  else
    echo "    FAILED: exit $rc after $(fmt_ms "$ms"); command:"
    echo "      $(quote_cmd "$@")"
    echo "    last ${RUN_TAIL:-60} lines of output ($LAST_LOG):"
    tail -n "${RUN_TAIL:-60}" "$LAST_LOG" | sed 's/^/    | /'
  fi
  return $rc
}
quote_cmd() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then out+="$a "; else out+="$(printf '%q' "$a") "; fi
  done
  printf '%s' "${out% }"
}

# ---------------------------------------------------------------- requirements (skip if unmet)
require_root() { [ "$(id -u)" = 0 ] || skip "needs root (mount, losetup, mknod, trusted.* xattrs)"; }
require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "missing tool '$c' (scripts/install-deps.sh installs it)"; done
}
try_modprobe() { command -v modprobe >/dev/null 2>&1 && modprobe "$1" >/dev/null 2>&1 || true; }
require_erofs_kernel() {
  require_root
  grep -qw erofs /proc/filesystems || try_modprobe erofs
  grep -qw erofs /proc/filesystems || skip "kernel has no EROFS support (modprobe erofs failed)"
  require_loop
}
require_loop() {
  [ -e /dev/loop-control ] || try_modprobe loop
  [ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control missing)"
  losetup -f >/dev/null 2>&1 || skip "no free loop device"
}
require_fsck_erofs() { require_cmd fsck.erofs; }

# require_debian_mirror: skips unless the machine's apt sources name an http(s) Debian mirror
# that answers (needed only to fill the debootstrap/image caches). The URL is never printed.
require_debian_mirror() {
  local url
  url=$("$TOOLS/detect-mirror.sh" 2>/dev/null) || skip "no http(s) Debian mirror in the apt sources (set MIRROR=)"
  curl -sfI --max-time 20 "$url/dists/${SUITE:-bookworm}/Release" >/dev/null 2>&1 \
    || skip "the Debian mirror from the apt sources does not answer"
}

# find_tool NAME VAR: sets VAR to an executable NAME: $VAR, then ${VAR}_DEFAULT (from CTest),
# then the build dirs; fails the test when none exists.
find_tool() {
  local name=$1 var=$2 c
  local def="${var}_DEFAULT"
  for c in "${!var:-}" "${!def:-}" \
           "${NYDUS_BUILD_DIR:+$NYDUS_BUILD_DIR/src/tools/$name}" \
           "$REPO_ROOT/build/src/tools/$name"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
      printf -v "$var" '%s' "$(cd "$(dirname "$c")" && pwd)/$(basename "$c")"
      log "$name: ${!var}"
      return 0
    fi
  done
  fail "$name not built (set $var=/path/to/$name or build target $name)"
}
find_nydus_image() { find_tool nydus-image NYDUS_IMAGE; }

# fixtures_dir: prints <shared>/fixtures/nydus or skips
fixtures_dir() {
  local d=$NYDUS_SHARED/fixtures/nydus
  [ -d "$d" ] || skip "reference fixtures not found at $d (set NYDUS_SHARED=)"
  (cd "$d" && pwd)
}

# ---------------------------------------------------------------- tree tools
gen_tree() { # DIR [SEED]  (env BIG_MIB, SMALL_FILES, ...)
  run env FORCE=1 BIG_MIB="${BIG_MIB:-16}" SMALL_FILES="${SMALL_FILES:-2000}" "$TOOLS/gen-tree.sh" "$@"
  log "tree $1: $(find "$1" | wc -l) entries, $(du -sm --apparent-size "$1" | cut -f1) MiB apparent, $(du -sm "$1" | cut -f1) MiB on disk"
}
# verify_tree [verify-tree.sh options] A B: fails the test with the list of differences
verify_tree() {
  RUN_TAIL=${VERIFY_TAIL:-120} run "$TOOLS/verify-tree.sh" "$@"
  grep '^verify-tree:' "$LAST_LOG" | sed 's/^/    /' || true
}

# ---------------------------------------------------------------- nydus-image helpers
# nydus_create BOOT BLOBDIR [create options...] SRC
nydus_create() {
  local boot=$1 blobdir=$2; shift 2
  mkdir -p "$blobdir"
  run "$NYDUS_IMAGE" create -B "$boot" -D "$blobdir" "$@"
  log "   bootstrap $(stat -c %s "$boot") B; blobs: $(blob_summary "$blobdir")"
}
blob_summary() {
  local f out="" n=0
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1)); out+="$(basename "$f" | cut -c1-12)…=$(stat -c %s "$f")B "
  done
  echo "${n} file(s) ${out}"
}
# nydus_check BOOT [BLOBDIR]
nydus_check() {
  local args=(check -B "$1")
  [ -n "${2:-}" ] && args+=(-D "$2")
  args+=(-J "$E2E_TMP/logs/check-$RUN_SEQ.json")
  run "$NYDUS_IMAGE" "${args[@]}"
}

# blob_list BOOT: one line "blob_id uncompressed_size" per blob, in blob-table order.
# Uses `nydus-image inspect -R blobs` when NYDUS_IMAGE is set, and cross-checks it against the
# EROFS device table of v6 bootstraps; without nydus-image, the device table alone (v6 only).
blob_list() {
  local boot=$1 dev ins
  dev=$(erofs_devtable "$boot") || return 1
  if [ -n "${NYDUS_IMAGE:-}" ] && [ "${USE_DEVTABLE:-0}" != 1 ]; then
    ins=$("$NYDUS_IMAGE" inspect -R blobs "$boot" 2>"$E2E_TMP/logs/inspect.err" | python3 -c '
import json, sys
t = sys.stdin.read()
i = t.find("[")
if i < 0:
    sys.exit("inspect -R blobs printed no JSON array: " + t[:500])
arr, _ = json.JSONDecoder().raw_decode(t[i:])
for b in arr:
    size = b.get("uncompressed_size", b.get("decompressed_size"))
    if size is None:
        sys.exit("inspect entry without uncompressed_size: %r" % b)
    print(b["blob_id"], int(size))
') || { cat "$E2E_TMP/logs/inspect.err" >&2; echo "blob_list: nydus-image inspect -R blobs $boot failed" >&2; return 1; }
    if [ -n "$dev" ]; then
      # device table blocks = uncompressed_size / 4096 (rounded up): ids and counts must agree
      local a b
      a=$(awk '{print $1, int(($2 + 4095) / 4096)}' <<<"$ins")
      b=$(awk '{print $1, int(($2 + 4095) / 4096)}' <<<"$dev")
      if [ "$a" != "$b" ]; then
        echo "blob_list: inspect -R blobs disagrees with the EROFS device table of $boot" >&2
        diff <(echo "$a") <(echo "$b") | sed 's/^/  inspect< >devtable: /' >&2
        return 1
      fi
    fi
    printf '%s\n' "$ins"
  else
    printf '%s\n' "$dev"
  fi
}

# erofs_devtable BOOT: "tag blocks*4096" per EROFS device slot (nothing for non-EROFS files)
erofs_devtable() {
  python3 - "$1" <<'PYEOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(1024 + 128)
    if len(head) < 1152 or struct.unpack_from("<I", head, 1024)[0] != 0xE0F5E1E2:
        sys.exit(0)                               # not EROFS (e.g. RAFS v5): no device table
    extra, slotoff = struct.unpack_from("<HH", head, 1024 + 86)
    for i in range(extra):
        f.seek(slotoff * 128 + i * 128)
        s = f.read(128)
        tag = s[:64].rstrip(b"\0").decode("ascii", "replace") or "dev%d" % (i + 1)
        blocks, = struct.unpack_from("<I", s, 64)
        print(tag, blocks * 4096)
PYEOF
}

# zero_devices BOOT DIR: one zero-filled sparse file per blob (round_up_4k(uncompressed size)),
# in blob-table order; prints their paths, one per line.
zero_devices() {
  local boot=$1 dir=$2 id size n=0 f list
  mkdir -p "$dir"
  list=$(blob_list "$boot") || return 1
  while read -r id size; do
    [ -n "$id" ] || continue
    n=$((n + 1))
    f=$dir/$(printf '%02d' "$n")-$id.img
    rm -f "$f"
    size=$(( (size + 4095) / 4096 * 4096 ))
    [ "$size" -gt 0 ] || size=4096
    truncate -s "$size" "$f"
    echo "$f"
  done <<<"$list"
}

# loop_attach FILE: attaches FILE read-only to a free loop device, sets LOOP_DEV and remembers it
# for cleanup (call it directly, not in $(...), or the bookkeeping is lost)
loop_attach() {
  LOOP_DEV=$(losetup -f --show -r "$1") || { echo "losetup failed for $1" >&2; return 1; }
  LOOPS+=("$LOOP_DEV")
}
loop_detach() {
  local l=$1 i
  losetup -d "$l" 2>/dev/null || true
  for i in "${!LOOPS[@]}"; do [ "${LOOPS[$i]}" = "$l" ] && unset 'LOOPS[i]'; done
  LOOPS=("${LOOPS[@]}")
}

# erofs_mount_devices BOOT MNT [DEVFILE...]: kernel mount of BOOT (via a loop device) with each
# DEVFILE attached as a loop device and passed as device= (in order = device ids 1..n)
erofs_mount_devices() {
  local boot=$1 mnt=$2; shift 2
  local primary opts=ro f l loops=()
  loop_attach "$boot" || return 1
  primary=$LOOP_DEV
  loops+=("$primary")
  for f in "$@"; do
    loop_attach "$f" || return 1
    l=$LOOP_DEV
    loops+=("$l")
    opts+=",device=$l"
  done
  mkdir -p "$mnt"
  echo "  \$ mount -t erofs -o $opts $primary $mnt    # $primary = $boot, $(($# )) blob device(s)"
  local out
  if ! out=$(mount -t erofs -o "$opts" "$primary" "$mnt" 2>&1); then
    echo "    mount failed: $out"
    dmesg 2>/dev/null | grep -i erofs | tail -5 | sed 's/^/    dmesg: /'
    for l in "${loops[@]}"; do loop_detach "$l"; done
    return 1
  fi
  MOUNTS+=("$mnt")
  MOUNT_LOOPS[$mnt]="${loops[*]}"
  echo "    mounted ($(find "$mnt" -xdev | wc -l) entries visible)"
}

# erofs_mount BOOT BLOBDIR MNT: mount a RAFS v6 bootstrap with the kernel; blob devices are
# zero-filled sparse files of each blob's uncompressed size (so file data reads as zeros: compare
# trees with --no-content). BLOBDIR is only used to report the blobs.
erofs_mount() {
  local boot=$1 blobdir=$2 mnt=$3 devs
  devs=$(zero_devices "$boot" "$mnt.devs") || fail "cannot list the blobs of $boot"
  local arr=()
  [ -n "$devs" ] && mapfile -t arr <<<"$devs"
  erofs_mount_devices "$boot" "$mnt" "${arr[@]}" || fail "kernel EROFS mount of $boot failed"
}

erofs_umount() {
  local mnt=$1 l i
  umount "$mnt" || umount -l "$mnt"
  for l in ${MOUNT_LOOPS[$mnt]:-}; do loop_detach "$l"; done
  unset 'MOUNT_LOOPS[$mnt]'
  for i in "${!MOUNTS[@]}"; do [ "${MOUNTS[$i]}" = "$mnt" ] && unset 'MOUNTS[i]'; done
  MOUNTS=("${MOUNTS[@]}")
}

# erofs_fsck BOOT BLOBDIR: fsck.erofs with one --device per blob in table order. First with the
# real blob files (BLOBDIR/<blob_id>); erofs-utils 1.5 reads chunk extents at their uncompressed
# offsets, so if that fails, retry with zero-filled devices of the uncompressed sizes: that run
# validates all metadata (superblock, device table, inodes, dirents, chunk indexes).
erofs_fsck() {
  local boot=$1 blobdir=$2 list id size args=() real_ok=1
  list=$(blob_list "$boot") || fail "cannot list the blobs of $boot"
  while read -r id size; do
    [ -n "$id" ] || continue
    if [ -f "$blobdir/$id" ]; then args+=("--device=$blobdir/$id"); else real_ok=0; fi
  done <<<"$list"
  if [ $real_ok = 1 ] && RUN_TAIL=20 run_rc fsck.erofs "${args[@]}" "$boot"; then
    return 0
  fi
  [ $real_ok = 1 ] && log "   fsck.erofs with the real blob files failed (see above); retrying with zero-filled devices"
  local devs arr=() d
  devs=$(zero_devices "$boot" "$E2E_TMP/fsck-devs") || fail "cannot list the blobs of $boot"
  [ -n "$devs" ] && mapfile -t arr <<<"$devs"
  args=()
  for d in "${arr[@]}"; do args+=("--device=$d"); done
  run fsck.erofs "${args[@]}" "$boot"
  rm -rf "$E2E_TMP/fsck-devs"
}

# ---------------------------------------------------------------- misc
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- the cached test images
# image_cached NAME: true when NAME:bookworm (python, node, debian) is complete in
# $NYDUS_CACHE/images-NAME (and REFRESH is not 1), i.e. cached_image will not build
image_cached() {
  local img=$NYDUS_CACHE/images-$1
  [ "${REFRESH:-0}" != 1 ] && [ -f "$img.complete" ] && [ -d "$img/oci" ] &&
    [ -d "$img/expected/$1-bookworm/rootfs" ]
}

# cached_image NAME: makes sure NAME:bookworm is built and cached in $NYDUS_CACHE/images-NAME
# (tests/tools/cache-image.sh, the one builder, also used by bench/startup_bench.sh; REFRESH=1
# rebuilds), then holds the cache's lock for the rest of the test so that no rebuild replaces
# it underneath. Sets CACHED_IMG and CACHED_OCI ($CACHED_IMG/oci). The caller checks that a
# build is possible first (image_cached tells whether one is needed).
declare -A CACHED_IMAGE_LOCK=()  # NAME -> fd holding $NYDUS_CACHE/images-NAME.lock
cached_image() {
  local name=$1 img=$NYDUS_CACHE/images-$1 fd
  if [ -z "${CACHED_IMAGE_LOCK[$name]:-}" ]; then
    if image_cached "$name"; then
      log "   reusing $img (built $(cat "$img.complete"); REFRESH=1 to rebuild)"
    else
      RUN_TAIL=40 run "$TOOLS/cache-image.sh" "$name"
    fi
    exec {fd}>"$img.lock"
    flock "$fd"
    CACHED_IMAGE_LOCK[$name]=$fd
  fi
  CACHED_IMG=$img
  CACHED_OCI=$img/oci
}

# python_image_layers: makes sure python:bookworm is cached (cached_image python; skips when it
# has to be built and cannot be), then sets EXPECTED (the umoci-unpacked rootfs) and LAYERS
# (its three layer tars, lowest first). Holds a lock on the cache for the rest of the test.
python_image_layers() {
  local tag=python-bookworm img
  phase "image python:bookworm (cached in $NYDUS_CACHE/images-python)"
  if ! image_cached python; then
    require_cmd debootstrap umoci skopeo curl
    [ -x /usr/bin/docker-registry ] || [ -n "${REGISTRY_BIN:-}" ] || skip "docker-registry not installed"
    require_debian_mirror
  fi
  cached_image python
  img=$CACHED_IMG
  EXPECTED=$img/expected/$tag/rootfs
  mapfile -t LAYERS < <(python3 - "$img/oci" "$tag" <<'PYEOF'
import json, os, sys
oci, tag = sys.argv[1], sys.argv[2]
def blob(d):
    a, h = d.split(":"); return os.path.join(oci, "blobs", a, h)
idx = json.load(open(os.path.join(oci, "index.json")))
desc = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
if not desc:
    sys.exit(f"tag {tag} not in {oci}/index.json")
for l in json.load(open(blob(desc[0]["digest"])))["layers"]:
    print(blob(l["digest"]))
PYEOF
  )
  [ ${#LAYERS[@]} = 3 ] || fail "expected 3 layers in $tag, found ${#LAYERS[@]}"
}
