#!/usr/bin/env bash
# bench/export_bench.sh [SOURCE_DIR]
#
# The nydusd-free read path (issue 9): a RAFS v6 image exported with
# `nydus-image export --block` and mounted by the kernel (`mount -t erofs -o ro,loop`, what
# scripts/mount-erofs.sh does), side by side with nydusd on the same image and with kernel
# EROFS of `mkfs.erofs -zlz4` on the same tree. Default tree: the python:bookworm rootfs made
# by tests/e2e/layered_python.sh.
#
#   export  nydus-image create (v6 defaults), nydus-image export --block -> image.disk,
#           mount -t erofs -o ro,loop image.disk M
#   nydusd  nydusd --config localfs.json (localfs backend, mode direct, no blob cache) on the
#           same bootstrap and blobs
#   cached  nydusd --config cached.json: the same with a blob cache (blobcache work_dir
#           OUT/cache) filled before the runs by one full read, so every chunk comes from
#           the cache, as for a registry image whose cache is complete (issue 6: "warm, all
#           cached")
#   kernel  the same with --erofs-when-cached: nydusd finds every chunk cached and mounts the
#           bootstrap with the kernel's EROFS, the cache file as its device (no FUSE)
#   mkfs    mkfs.erofs -zlz4, mount -t erofs -o ro,loop
# For each of RUNS (default 3; the median is reported) and each test, a fresh mount after
# `sync; echo 3 > /proc/sys/vm/drop_caches` (cold), then once more on the same mount (warm):
#   read-all  tar -C M -cf - . | cat > /dev/null   (a pipe: GNU tar skips reading file data
#             when its archive is /dev/null itself)
#   walk      find M -printf '%s %m %U %T@\n' > /dev/null
# Prints a markdown table (stdout; ratios against the exported disk); progress on stderr.
# Everything is unmounted on exit.
#
# The exported disk holds the chunks uncompressed (the kernel maps them as plain extents), so
# a cold read-all reads more bytes from disk than nydusd, which reads the zstd blobs and
# decompresses in user space.
#
# Env: NYDUSD (default build/src/tools/nydusd), NYDUS_IMAGE (build/src/tools/nydus-image),
#      RUNS, BENCH_OUT (default /var/tmp/nydus-exportbench; emptied).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
NYDUSD=${NYDUSD:-$REPO/build/src/tools/nydusd}
NYDUS_IMAGE=${NYDUS_IMAGE:-$REPO/build/src/tools/nydus-image}
OUT=${BENCH_OUT:-/var/tmp/nydus-exportbench}
export RUNS=${RUNS:-3}

if [ $# -ge 1 ]; then
  SRC=$(cd "$1" && pwd)
else
  SRC=$NYDUS_CACHE/images-python/expected/python-bookworm/rootfs
  [ -d "$SRC" ] || { echo "no tree at $SRC (run tests/e2e/layered_python.sh or pass a dir)" >&2; exit 1; }
fi
[ "$(id -u)" = 0 ] || { echo "export_bench.sh needs root (mounts, drop_caches)" >&2; exit 1; }
[ -x "$NYDUSD" ] || { echo "nydusd not found at $NYDUSD (set NYDUSD)" >&2; exit 1; }
[ -x "$NYDUS_IMAGE" ] || { echo "nydus-image not found at $NYDUS_IMAGE (set NYDUS_IMAGE)" >&2; exit 1; }
for t in mkfs.erofs python3 tar find; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install erofs-utils)" >&2; exit 1; }
done
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || { echo "kernel has no EROFS: modprobe erofs" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "/dev/fuse missing" >&2; exit 1; }

PY_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local m p
  if [ -n "$PY_PID" ]; then kill -TERM "$PY_PID" 2>/dev/null || true; wait "$PY_PID" 2>/dev/null || true; fi
  if [ -f "$OUT/pids" ]; then
    while read -r p; do kill -TERM "$p" 2>/dev/null || true; done <"$OUT/pids"
  fi
  sleep 0.2
  for m in "$OUT"/mnt/*; do
    [ -d "$m" ] || continue
    if awk -v m="$m" '$5 == m {f = 1} END {exit !f}' /proc/self/mountinfo; then
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -d "$OUT/mnt" ] && grep -qF " $OUT/mnt/" /proc/self/mountinfo; then
  echo "something is still mounted under $OUT/mnt; unmount it first" >&2; exit 1
fi
rm -rf "$OUT"; mkdir -p "$OUT/mnt"
: >"$OUT/pids"

python3 - "$NYDUSD" "$NYDUS_IMAGE" "$SRC" "$OUT" <<'PYEOF' &
import json, os, shlex, signal, statistics, subprocess, sys, time

NYDUSD, NYDUS_IMAGE, SRC, OUT = sys.argv[1:5]
RUNS = int(os.environ["RUNS"])
PIDS = os.path.join(OUT, "pids")
FS = ["export", "nydusd", "cached", "kernel", "mkfs"]
NAMES = {"export": "kernel EROFS, `export --block` disk", "nydusd": "nydusd FUSE (localfs, direct)",
         "cached": "nydusd FUSE (blob cache complete)",
         "kernel": "nydusd --erofs-when-cached (blob cache complete)",
         "mkfs": "kernel EROFS, `mkfs.erofs -zlz4`"}
DAEMONS = ("nydusd", "cached", "kernel")
COMMANDS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def short(s):
    return s.replace(NYDUS_IMAGE, "nydus-image").replace(NYDUSD, "nydusd").replace(OUT, "OUT")


def run(cmd, record=False):
    if record:
        COMMANDS.append(short(" ".join(shlex.quote(c) for c in cmd)))
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout.decode(errors='replace')[-3000:]}")
    return time.monotonic() - t


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def fstype(mnt):
    t = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == mnt:
                t = fields[fields.index("-") + 1]
    return t


def is_mounted(mnt):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


# ------------------------------------------------------------------------------ images
LOAD0 = os.getloadavg()[0]
os.makedirs(f"{OUT}/blobs")
build = {}
build["create"] = run([NYDUS_IMAGE, "create", "-B", f"{OUT}/image.boot", "-D", f"{OUT}/blobs", SRC], record=True)
log(f"nydus-image create {build['create']:.1f}s")
build["export"] = run([NYDUS_IMAGE, "export", "--block", "-B", f"{OUT}/image.boot", "-D", f"{OUT}/blobs",
                       "-O", f"{OUT}/image.disk"], record=True)
log(f"nydus-image export --block {build['export']:.1f}s")
build["mkfs"] = run(["mkfs.erofs", "-zlz4", f"{OUT}/image.erofs", SRC], record=True)
log(f"mkfs.erofs {build['mkfs']:.1f}s")
cfg = {"device": {"backend": {"type": "localfs", "config": {"dir": f"{OUT}/blobs"}}},
       "mode": "direct", "digest_validate": False, "enable_xattr": True}
with open(f"{OUT}/localfs.json", "w") as f:
    json.dump(cfg, f, indent=1)
cached_cfg = json.loads(json.dumps(cfg))
cached_cfg["device"]["cache"] = {"type": "blobcache", "config": {"work_dir": f"{OUT}/cache"}}
os.makedirs(f"{OUT}/cache")
with open(f"{OUT}/cached.json", "w") as f:
    json.dump(cached_cfg, f, indent=1)
blob_bytes = sum(os.path.getsize(os.path.join(f"{OUT}/blobs", b)) for b in os.listdir(f"{OUT}/blobs"))
sizes = {
    "export": os.path.getsize(f"{OUT}/image.disk"),
    "export_alloc": os.stat(f"{OUT}/image.disk").st_blocks * 512,
    "nydusd": os.path.getsize(f"{OUT}/image.boot") + blob_bytes,
    "mkfs": os.path.getsize(f"{OUT}/image.erofs"),
}


class Mount:
    seq = 0

    def __init__(self, kind):
        Mount.seq += 1
        self.kind = kind
        self.mnt = os.path.join(OUT, "mnt", f"{kind}-{Mount.seq}")
        os.makedirs(self.mnt)
        self.proc = None
        self.log = os.path.join(OUT, f"{kind}-{Mount.seq}.log")

    def cmd(self):
        if self.kind in DAEMONS:
            config = f"{OUT}/localfs.json" if self.kind == "nydusd" else f"{OUT}/cached.json"
            extra = ["--erofs-when-cached"] if self.kind == "kernel" else []
            return [NYDUSD, "--config", config, "--mountpoint", self.mnt,
                    "--bootstrap", f"{OUT}/image.boot", "--log-level", "warn"] + extra
        img = f"{OUT}/image.disk" if self.kind == "export" else f"{OUT}/image.erofs"
        return ["mount", "-t", "erofs", "-o", "ro,loop", img, self.mnt]

    def mount(self):
        parent_dev = os.stat(self.mnt).st_dev
        cmd = self.cmd()
        if Mount.seq <= len(FS) + 1:
            COMMANDS.append(short(" ".join(shlex.quote(c) for c in cmd)).replace(self.mnt.replace(OUT, "OUT"), "M"))
        t0 = time.monotonic()
        if self.kind not in DAEMONS:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                sys.exit(f"mount failed: {' '.join(cmd)}: {r.stdout.decode()}")
        else:
            lf = open(self.log, "ab")
            self.proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            lf.close()
            with open(PIDS, "a") as f:
                f.write(f"{self.proc.pid}\n")
        while True:
            try:
                if os.stat(self.mnt).st_dev != parent_dev:
                    break
            except OSError:
                pass
            if self.proc is not None and self.proc.poll() is not None:
                sys.exit(f"nydusd exited with {self.proc.returncode} before mounting; log {self.log}")
            if time.monotonic() - t0 > 60:
                sys.exit(f"{self.kind}: {self.mnt} not mounted after 60 s")
            time.sleep(0.0005)
        ms = (time.monotonic() - t0) * 1000.0
        if self.kind == "kernel" and fstype(self.mnt) != "erofs":
            sys.exit(f"nydusd --erofs-when-cached mounted {fstype(self.mnt)}, not erofs; log {self.log}")
        return ms

    def umount(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nydusd unmounts itself
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        if is_mounted(self.mnt):
            if subprocess.run(["umount", self.mnt], stderr=subprocess.DEVNULL).returncode != 0:
                subprocess.run(["umount", "-l", self.mnt], stderr=subprocess.DEVNULL)
        if self.proc:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.rmdir(self.mnt)


def t_readall(mnt):
    t = time.monotonic()
    r = subprocess.run(f"tar -C {shlex.quote(mnt)} -cf - . | cat > /dev/null", shell=True)
    if r.returncode != 0:
        sys.exit(f"tar on {mnt} failed")
    return time.monotonic() - t


def t_walk(mnt):
    t = time.monotonic()
    with open(os.devnull, "w") as dn:
        subprocess.run(["find", mnt, "-printf", r"%s %m %U %T@\n"], stdout=dn, check=True)
    return time.monotonic() - t


def cache_bytes():
    return sum(os.path.getsize(os.path.join(f"{OUT}/cache", f)) for f in os.listdir(f"{OUT}/cache"))


# Fill the blob cache of the "cached" mounts: one full read through it.
m = Mount("cached")
try:
    m.mount()
    t_readall(m.mnt)
finally:
    m.umount()
log(f"blob cache filled: {cache_bytes() / 1e6:.1f} MB in {OUT}/cache")

TESTS = [("read-all", t_readall), ("walk", t_walk)]
res = {}  # (fs, test, cold|warm|mount) -> [values]
for run_i in range(RUNS):
    for name, fn in TESTS:
        for kind in FS:  # interleaved so that background load hits all of them alike
            drop_caches()
            m = Mount(kind)
            try:
                ms = m.mount()
                cold = fn(m.mnt)
                warm = fn(m.mnt)
            finally:
                m.umount()
            res.setdefault((kind, name, "cold"), []).append(cold)
            res.setdefault((kind, name, "warm"), []).append(warm)
            res.setdefault((kind, "mount", "cold"), []).append(ms)
            log(f"run {run_i + 1}/{RUNS} {name:8s} {kind:7s} mount {ms:7.1f} ms  cold {cold:7.3f}s  warm {warm:7.3f}s")

med = {k: statistics.median(v) for k, v in res.items()}

entries = int(subprocess.run(f"find {shlex.quote(SRC)} | wc -l", shell=True, stdout=subprocess.PIPE).stdout)
apparent = int(subprocess.run(["du", "-sb", "--apparent-size", SRC], stdout=subprocess.PIPE).stdout.split()[0])
print(f"Tree: `{SRC}` ({entries} entries, {apparent / 1e6:.0f} MB apparent); "
      f"median of {RUNS} runs; kernel {os.uname().release}, {os.cpu_count()} CPUs, "
      f"load average {LOAD0:.1f} at start, {os.getloadavg()[0]:.1f} at end.\n")
print(f"Build: nydus-image create {build['create']:.1f} s, export --block {build['export']:.1f} s, "
      f"mkfs.erofs -zlz4 {build['mkfs']:.1f} s. Sizes: bootstrap + blobs {sizes['nydusd'] / 1e6:.1f} MB, "
      f"exported disk {sizes['export'] / 1e6:.1f} MB apparent / {sizes['export_alloc'] / 1e6:.1f} MB allocated, "
      f"mkfs.erofs image {sizes['mkfs'] / 1e6:.1f} MB.\n")
hdr = "| test | " + " | ".join(NAMES[k] for k in FS) + " | " + " | ".join(f"{k} / export" for k in FS[1:]) + " |"
print(hdr)
print("|" + "---|" * (2 * len(FS)))
rows = [("read-all", "cold", "s"), ("read-all", "warm", "s"), ("walk", "cold", "s"), ("walk", "warm", "s"),
        ("mount", "cold", "ms")]
for test, temp, unit in rows:
    vals = [med[(k, test, temp)] for k in FS]
    label = f"{test}, {'page cache dropped' if temp == 'cold' else 'warm'} ({unit})" if test != "mount" \
        else "mount, page cache dropped (ms)"
    fmt = (lambda v: f"{v:.1f}") if unit == "ms" else (lambda v: f"{v:.3f}")
    base = vals[0]
    print(f"| {label} | " + " | ".join(fmt(v) for v in vals) + " | " +
          " | ".join(f"{v / base:.2f}×" for v in vals[1:]) + " |")
print("\nCommands (`OUT` = the benchmark output directory, `M` = a fresh mountpoint):\n\n```")
for c in COMMANDS:
    print(c)
print("tar -C M -cf - . | cat > /dev/null")
print("find M -printf '%s %m %U %T@\\n' > /dev/null")
print("```")
PYEOF
PY_PID=$!
wait "$PY_PID"
rc=$?
PY_PID=""
exit $rc
