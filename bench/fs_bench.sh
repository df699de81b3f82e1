#!/usr/bin/env bash
# bench/fs_bench.sh [SOURCE_DIR]
#
# Read-side filesystem benchmark (issue 3), side by side in one run on the same tree:
#   nydusd (FUSE, localfs backend, image from `nydus-image create`, v6 zstd default)
#   kernel EROFS (`mkfs.erofs -zlz4`, `mount -t erofs -o loop,ro`)
#   squashfuse_ll (`mksquashfs -comp zstd`, `squashfuse_ll -f`)
# Default tree: the python:bookworm rootfs made by tests/e2e/layered_python.sh.
#
# For every filesystem and every run (RUNS, default 3; median reported), each test gets its
# own fresh mount after `sync; echo 3 > /proc/sys/vm/drop_caches` (cold pass), then runs once
# more on the same mount (warm pass):
#   walk      find M -printf '%s %m %U %T@\n' > /dev/null
#   read-all  tar -C M -cf - . | cat > /dev/null   (a pipe: GNU tar skips reading file data
#             when its archive is /dev/null itself)
#   seq       dd if=M/<largest file> of=/dev/null bs=1M              -> MB/s
#   rand      RAND_READS (default 4096) 4 KiB preads at seeded random aligned offsets of the
#             largest file (POSIX_FADV_RANDOM)                         -> IOPS
# "largest file" = the largest regular file that is neither sparse nor mostly zeros (most of 16
# sampled 64 KiB windows all zero: it compresses to nothing and measures no data path);
# LARGEST=rel/path overrides.
# Mount time = from process start (nydusd / squashfuse_ll / mount(8)) until stat(M) reports a
# new device; RSS = VmRSS / VmHWM of the daemon from /proc/PID/status.
# A second tree of MANY_FILES (default 100000) small files (bench/gen-many-files.sh, cached
# in BENCH_CACHE) is used for the 100k-file mount time and RSS targets.
# Prints markdown tables (stdout); progress on stderr. Everything is unmounted on exit.
#
# Env: NYDUSD (default build/src/tools/nydusd), NYDUS_IMAGE (build/src/tools/nydus-image),
#      RUNS, RAND_READS, MANY_FILES (0 skips the many-files part), BENCH_OUT (default
#      /var/tmp/nydus-fsbench; emptied), BENCH_CACHE (default /var/tmp/nydus-fsbench-cache),
#      NYDUSD_CACHE=blobcache (adds a blobcache under BENCH_OUT to the nydusd config; default none),
#      NYDUSD_ARGS (extra nydusd arguments), PERF=1 (after the runs: `perf record -g` of nydusd
#      during a cold and 5 warm walks / read-alls, and of a whole nydusd start on the
#      many-files image; reports in BENCH_OUT/perf-*.txt).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
NYDUS_CACHE=${NYDUS_CACHE:-/var/cache/nydus-cpp}
NYDUSD=${NYDUSD:-$REPO/build/src/tools/nydusd}
NYDUS_IMAGE=${NYDUS_IMAGE:-$REPO/build/src/tools/nydus-image}
OUT=${BENCH_OUT:-/var/tmp/nydus-fsbench}
CACHE=${BENCH_CACHE:-/var/tmp/nydus-fsbench-cache}
export RUNS=${RUNS:-3} RAND_READS=${RAND_READS:-4096} MANY_FILES=${MANY_FILES:-100000}
export NYDUSD_CACHE=${NYDUSD_CACHE:-} NYDUSD_ARGS=${NYDUSD_ARGS:-} PERF=${PERF:-0}

if [ $# -ge 1 ]; then
  SRC=$(cd "$1" && pwd)
else
  SRC=$NYDUS_CACHE/images-python/expected/python-bookworm/rootfs
  [ -d "$SRC" ] || { echo "no tree at $SRC (run tests/e2e/layered_python.sh or pass a dir)" >&2; exit 1; }
fi
[ "$(id -u)" = 0 ] || { echo "fs_bench.sh needs root (mounts, drop_caches)" >&2; exit 1; }
[ -x "$NYDUSD" ] || { echo "nydusd not found at $NYDUSD (ninja -C build nydusd, or set NYDUSD)" >&2; exit 1; }
[ -x "$NYDUS_IMAGE" ] || { echo "nydus-image not found at $NYDUS_IMAGE" >&2; exit 1; }
for t in mkfs.erofs mksquashfs squashfuse_ll python3 tar dd find; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install erofs-utils squashfs-tools squashfuse)" >&2; exit 1; }
done
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || { echo "kernel has no EROFS" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "/dev/fuse missing" >&2; exit 1; }

# Exit-time cleanup: the driver records every daemon pid in $OUT/pids and mounts under $OUT/mnt.
PY_PID=""
cleanup() {
  local m p
  # the driver first (a signal to this shell must not wait for it), then its daemons and mounts
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
  if [ -f "$OUT/pids" ]; then
    while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$OUT/pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The many-files tree is slow to write (~25 s); keep it between invocations.
MANY_SRC=""
if [ "$MANY_FILES" -gt 0 ]; then
  MANY_SRC=$CACHE/many-$MANY_FILES
  if [ ! -f "$CACHE/many-$MANY_FILES.done" ]; then
    rm -rf "$MANY_SRC"; mkdir -p "$CACHE"
    "$REPO/bench/gen-many-files.sh" "$MANY_SRC" "$MANY_FILES"
    touch "$CACHE/many-$MANY_FILES.done"
  fi
fi

# Refuse to empty an OUT that still has something mounted under it.
if [ -d "$OUT/mnt" ] && grep -qF " $OUT/mnt/" /proc/self/mountinfo; then
  echo "something is still mounted under $OUT/mnt; unmount it first" >&2; exit 1
fi
rm -rf "$OUT"; mkdir -p "$OUT/mnt"
: >"$OUT/pids"

# In the background so that INT/TERM reach the trap at once (bash defers traps while a
# foreground child runs); the driver's stdout (the tables) still goes to our stdout.
python3 - "$REPO" "$NYDUSD" "$NYDUS_IMAGE" "$SRC" "$OUT" "$MANY_SRC" <<'PYEOF' &
import json, os, random, re, shlex, signal, statistics, subprocess, sys, time

REPO, NYDUSD, NYDUS_IMAGE, SRC, OUT, MANY_SRC = sys.argv[1:7]
RUNS = int(os.environ["RUNS"]); RAND_READS = int(os.environ["RAND_READS"])
NYDUSD_CACHE = os.environ["NYDUSD_CACHE"]; NYDUSD_ARGS = shlex.split(os.environ["NYDUSD_ARGS"])
PERF = os.environ["PERF"] == "1"
PIDS = os.path.join(OUT, "pids")
FS = ["nydusd", "erofs", "squashfuse_ll"]
NAMES = {"nydusd": "nydusd (FUSE, RAFS v6 zstd)", "erofs": "kernel EROFS (lz4)",
         "squashfuse_ll": "squashfuse_ll (zstd)"}
COMMANDS = []  # exact commands, printed with the tables


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    COMMANDS.append(" ".join(shlex.quote(c) for c in cmd)) if kw.pop("record", False) else None
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout.decode(errors='replace')[-3000:]}")
    return r.stdout.decode(errors="replace")


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0]) / 1024.0  # MiB
    except OSError:
        pass
    return out


def is_mounted(mnt):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


# ---------------------------------------------------------------------------------------------
# Images
def build_images(tag, src):
    d = os.path.join(OUT, tag)
    os.makedirs(os.path.join(d, "blobs"))
    img = {"dir": d}
    t = time.monotonic()
    run([NYDUS_IMAGE, "create", "-B", f"{d}/image.boot", "-D", f"{d}/blobs", src], record=True)
    log(f"  {tag}: nydus-image create {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    run(["mkfs.erofs", "-zlz4", f"{d}/image.erofs", src], record=True)
    log(f"  {tag}: mkfs.erofs {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    run(["mksquashfs", src, f"{d}/image.sqfs", "-comp", "zstd", "-noappend", "-processors", "2",
         "-quiet", "-no-progress"], record=True)
    log(f"  {tag}: mksquashfs {time.monotonic() - t:.1f}s")
    cfg = {"device": {"backend": {"type": "localfs", "config": {"dir": f"{d}/blobs"}}},
           "mode": "direct", "digest_validate": False, "enable_xattr": True}
    if NYDUSD_CACHE:
        os.makedirs(f"{d}/cache")
        cfg["device"]["cache"] = {"type": NYDUSD_CACHE, "config": {"work_dir": f"{d}/cache"}}
    with open(f"{d}/localfs.json", "w") as f:
        json.dump(cfg, f, indent=1)
    img["boot"], img["cfg"] = f"{d}/image.boot", f"{d}/localfs.json"
    img["erofs"], img["sqfs"] = f"{d}/image.erofs", f"{d}/image.sqfs"
    img["sizes"] = {
        "nydusd": os.path.getsize(img["boot"]) + sum(
            os.path.getsize(os.path.join(f"{d}/blobs", b)) for b in os.listdir(f"{d}/blobs")),
        "erofs": os.path.getsize(img["erofs"]), "squashfuse_ll": os.path.getsize(img["sqfs"])}
    return img


# ---------------------------------------------------------------------------------------------
# Mounts
class Mount:
    seq = 0

    def __init__(self, kind, img):
        Mount.seq += 1
        self.kind, self.img = kind, img
        self.mnt = os.path.join(OUT, "mnt", f"{kind}-{Mount.seq}")
        os.makedirs(self.mnt)
        self.proc = None
        self.log = os.path.join(OUT, f"{kind}-{Mount.seq}.log")

    def cmd(self):
        if self.kind == "nydusd":
            return [NYDUSD, "--config", self.img["cfg"], "--mountpoint", self.mnt,
                    "--bootstrap", self.img["boot"], "--log-level", "warn"] + NYDUSD_ARGS
        if self.kind == "squashfuse_ll":
            return ["squashfuse_ll", "-f", self.img["sqfs"], self.mnt]
        return ["mount", "-t", "erofs", "-o", "loop,ro", self.img["erofs"], self.mnt]

    def mount(self):
        """Returns milliseconds from start until stat(mnt) shows the new filesystem."""
        parent_dev = os.stat(self.mnt).st_dev
        cmd = self.cmd()
        t0 = time.monotonic()
        if self.kind == "erofs":
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                sys.exit(f"mount failed: {' '.join(cmd)}: {r.stdout.decode()}")
        else:
            lf = open(self.log, "ab")
            self.proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
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
                sys.exit(f"{self.kind} exited with {self.proc.returncode} before mounting; "
                         f"log {self.log}:\n" + open(self.log, errors="replace").read()[-3000:])
            if time.monotonic() - t0 > 60:
                sys.exit(f"{self.kind}: {self.mnt} not mounted after 60 s (log {self.log})")
            time.sleep(0.0005)
        return (time.monotonic() - t0) * 1000.0

    def status(self):
        return proc_status(self.proc.pid) if self.proc else {}

    def umount(self):
        if self.kind == "nydusd" and self.proc and self.proc.poll() is None:
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
            if self.kind == "nydusd" and self.proc.returncode not in (0, None):
                log(f"  warning: nydusd exited with {self.proc.returncode} (log {self.log})")
        os.rmdir(self.mnt)


def fresh(kind, img):
    drop_caches()
    m = Mount(kind, img)
    ms = m.mount()
    return m, ms


# ---------------------------------------------------------------------------------------------
# Tests: each returns a number (seconds, MB/s or IOPS)
def t_walk(mnt, _f):
    t = time.monotonic()
    with open(os.devnull, "w") as dn:
        subprocess.run(["find", mnt, "-printf", r"%s %m %U %T@\n"], stdout=dn, check=True)
    return time.monotonic() - t


def t_readall(mnt, _f):
    t = time.monotonic()
    r = subprocess.run(f"tar -C {shlex.quote(mnt)} -cf - . | cat > /dev/null", shell=True)
    if r.returncode != 0:
        sys.exit(f"tar on {mnt} failed")
    return time.monotonic() - t


def t_seq(mnt, f):
    p = os.path.join(mnt, f)
    size = os.path.getsize(p)
    t = time.monotonic()
    subprocess.run(["dd", f"if={p}", "of=/dev/null", "bs=1M"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return size / 1e6 / (time.monotonic() - t)


def t_rand(mnt, f):
    p = os.path.join(mnt, f)
    fd = os.open(p, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        rng = random.Random(42)
        offs = [rng.randrange(0, size // 4096) * 4096 for _ in range(RAND_READS)]
        t = time.monotonic()
        for o in offs:
            if len(os.pread(fd, 4096, o)) != 4096:
                sys.exit(f"short read at {o} in {p}")
        return RAND_READS / (time.monotonic() - t)
    finally:
        os.close(fd)


TESTS = [("walk", t_walk), ("readall", t_readall), ("seq", t_seq), ("rand", t_rand)]


def mostly_zero(p, size):
    """True when most of 16 sampled 64 KiB windows of the file are all zero bytes (a
    sparse-like file that every compressor shrinks to nothing: it measures no data path)."""
    zero = 0
    with open(p, "rb") as f:
        for i in range(16):
            f.seek(size * i // 16)
            zero += not f.read(65536).strip(b"\0")
    return zero > 8


def largest_file(src):
    if os.environ.get("LARGEST"):
        rel = os.environ["LARGEST"]
        return rel, os.path.getsize(os.path.join(src, rel))
    cands = []
    for root, dirs, files in os.walk(src):
        for n in files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            if not os.path.islink(p) and st.st_blocks * 512 >= st.st_size * 0.9:
                cands.append((st.st_size, os.path.relpath(p, src)))
    for size, rel in sorted(cands, reverse=True):
        if not mostly_zero(os.path.join(src, rel), size):
            return rel, size
        log(f"  skipping {rel} as the largest file: its sampled content is all zero")
    sys.exit("no regular file with data in the tree")


def sanity(img, largest):
    """One untimed check that the three mounts agree: entry count, tar bytes, largest file."""
    res = {}
    for kind in FS:
        m = Mount(kind, img)
        m.mount()
        try:
            n = int(subprocess.run(f"find {shlex.quote(m.mnt)} | wc -l", shell=True,
                                   capture_output=True, check=True).stdout)
            b = int(subprocess.run(f"tar -C {shlex.quote(m.mnt)} -cf - . | wc -c", shell=True,
                                   capture_output=True, check=True).stdout)
            s = subprocess.run(["sha256sum", os.path.join(m.mnt, largest)], capture_output=True,
                               check=True).stdout.split()[0].decode()
        finally:
            m.umount()
        res[kind] = (n, b, s)
        log(f"  sanity {kind}: {n} entries, tar {b} bytes, largest sha256 {s[:16]}")
    if len(set(res.values())) != 1:
        log(f"  WARNING: the mounts disagree: {res}")
    return res


# ---------------------------------------------------------------------------------------------
def main():
    log(f"source: {SRC}; machine: {os.cpu_count()} cpu(s), kernel {os.uname().release}; runs {RUNS}")
    img = build_images("tree", SRC)
    largest, lsize = largest_file(SRC)
    log(f"  largest file: {largest} ({lsize} bytes)")
    agree = sanity(img, largest)

    # results[(test, phase)][kind] = [values...]; mount ms and RSS
    results = {}
    mount_ms = {k: [] for k in FS}
    rss = {k: {"mount": [], "walk": [], "readall": []} for k in FS}
    for r in range(1, RUNS + 1):
        for name, fn in TESTS:
            for kind in FS:
                m, ms = fresh(kind, img)
                try:
                    mount_ms[kind].append(ms)
                    st = m.status()
                    if st:
                        rss[kind]["mount"].append(st["VmRSS"])
                    cold = fn(m.mnt, largest)
                    warm = fn(m.mnt, largest)
                    st = m.status()
                    if st and name in ("walk", "readall"):
                        rss[kind][name].append(st["VmHWM"])
                finally:
                    m.umount()
                results.setdefault((name, "cold"), {}).setdefault(kind, []).append(cold)
                results.setdefault((name, "warm"), {}).setdefault(kind, []).append(warm)
                log(f"  run {r} {name:8s} {kind:14s} mount {ms:7.1f} ms  cold {cold:10.3f}  warm {warm:10.3f}")

    many = mimg = None
    if MANY_SRC:
        log(f"many-files tree: {MANY_SRC}")
        mimg = build_images("many", MANY_SRC)
        MIMG_SIZES.update(mimg["sizes"])
        many = {k: {"cold_ms": [], "warm_ms": [], "rss": [], "hwm": [], "walk": []} for k in FS}
        for r in range(1, RUNS + 1):
            for kind in FS:
                m, ms = fresh(kind, mimg)
                try:
                    st = m.status()
                    w = t_walk(m.mnt, None)
                    st2 = m.status()
                finally:
                    m.umount()
                # warm mount: bootstrap / image already in the page cache
                m2 = Mount(kind, mimg)
                ms2 = m2.mount()
                m2.umount()
                many[kind]["cold_ms"].append(ms)
                many[kind]["warm_ms"].append(ms2)
                many[kind]["walk"].append(w)
                if st:
                    many[kind]["rss"].append(st["VmRSS"])
                    many[kind]["hwm"].append(st2["VmHWM"])
                log(f"  run {r} many {kind:14s} mount cold {ms:7.1f} ms warm {ms2:7.1f} ms  "
                    f"walk {w:.3f}s  rss {st.get('VmRSS', 0):.1f} MiB  hwm {st2.get('VmHWM', 0):.1f} MiB")

    if PERF:
        profile(img)
        if MANY_SRC:
            profile_mount(mimg)
    report(img, largest, lsize, agree, results, mount_ms, rss, many)


def profile_mount(img):
    """perf record of a whole nydusd start (mount) on IMG, ended by unmounting."""
    mnt = os.path.join(OUT, "mnt", "perf-mount")
    os.makedirs(mnt)
    parent_dev = os.stat(mnt).st_dev
    data = os.path.join(OUT, "perf-mount-many.data")
    lf = open(os.path.join(OUT, "perf-mount-many.log"), "wb")
    drop_caches()
    p = subprocess.Popen(["perf", "record", "-F", "4999", "-g", "-o", data, "--", NYDUSD,
                          "--config", img["cfg"], "--mountpoint", mnt, "--bootstrap", img["boot"],
                          "--log-level", "warn"], stdout=lf, stderr=subprocess.STDOUT)
    with open(PIDS, "a") as f:
        f.write(f"{p.pid}\n")
    t0 = time.monotonic()
    while os.stat(mnt).st_dev == parent_dev and p.poll() is None and time.monotonic() - t0 < 60:
        time.sleep(0.001)
    time.sleep(0.2)
    subprocess.run(["umount", mnt])  # nydusd exits when its FUSE session ends; perf follows
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        p.wait()
    os.rmdir(mnt)
    perf_report(data, os.path.join(OUT, "perf-mount-many.txt"))
    log(f"  perf profile of nydusd start + unmount on the many-files image: {OUT}/perf-mount-many.txt")


def perf_report(data, txt):
    with open(txt, "w") as f:
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "--percent-limit", "1", "--sort", "dso,sym"],
                       stdout=f, stderr=subprocess.STDOUT)


def profile(img):
    """perf record -p nydusd during one cold pass, then during 5 warm passes, of walk and read-all."""
    for name in ("walk", "readall"):
        m, _ = fresh("nydusd", img)
        try:
            for phase, reps in (("cold", 1), ("warm", 5)):
                data = os.path.join(OUT, f"perf-{name}-{phase}.data")
                p = subprocess.Popen(["perf", "record", "-F", "4999", "-g", "-o", data, "-p",
                                      str(m.proc.pid)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(1.0)
                try:
                    for _ in range(reps):
                        dict(TESTS)[name](m.mnt, None)
                finally:
                    p.send_signal(signal.SIGINT)
                    p.wait()
                perf_report(data, os.path.join(OUT, f"perf-{name}-{phase}.txt"))
                log(f"  perf profile of nydusd, {phase} {name}: {OUT}/perf-{name}-{phase}.txt")
        finally:
            m.umount()


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(img, largest, lsize, agree, results, mount_ms, rss, many):
    MiB = 1 << 20
    p = print
    n_entries = agree["erofs"][0]
    p(f"Source: `{SRC}` ({n_entries} entries incl. the root, {agree['erofs'][1] / MiB:.0f} MiB as tar); "
      f"median of {RUNS} runs; machine {os.cpu_count()} cpus, kernel {os.uname().release}; "
      f"largest file `{largest}` ({lsize / MiB:.0f} MiB); {RAND_READS} random 4 KiB reads per pass; "
      f"nydusd cache: {NYDUSD_CACHE or 'none'}"
      + (f"; NYDUSD_ARGS={' '.join(NYDUSD_ARGS)}" if NYDUSD_ARGS else ""))
    p("")
    p("Image sizes (MiB): " + ", ".join(f"{NAMES[k]} {img['sizes'][k] / MiB:.1f}" for k in FS)
      + ". The three mounts agree on entry count, tar stream size and the largest file's sha256: "
      + ("yes" if len(set(agree.values())) == 1 else f"**NO** ({agree})"))
    p("")
    p("Ratios are nydusd's cost relative to the other filesystem (time ratio, or inverse "
      "throughput ratio): < 1 means nydusd is faster.")
    p("")
    p("| test | pass | nydusd | kernel EROFS | squashfuse_ll | nydusd / EROFS | nydusd / squashfuse_ll |")
    p("|---|---|---:|---:|---:|---:|---:|")
    units = {"walk": ("metadata walk (s)", False), "readall": ("read-all tar (s)", False),
             "seq": ("seq read largest (MB/s)", True), "rand": ("4 KiB random read (IOPS)", True)}
    for name, _ in TESTS:
        label, rate = units[name]
        for phase in ("cold", "warm"):
            v = {k: med(results[(name, phase)][k]) for k in FS}
            fmt = (lambda x: f"{x:,.0f}") if rate else (lambda x: f"{x:.3f}")
            ratio = (lambda o: v[o] / v["nydusd"]) if rate else (lambda o: v["nydusd"] / v[o])
            p(f"| {label} | {phase} | {fmt(v['nydusd'])} | {fmt(v['erofs'])} | "
              f"{fmt(v['squashfuse_ll'])} | {ratio('erofs'):.2f} | {ratio('squashfuse_ll'):.2f} |")
    v = {k: med(mount_ms[k]) for k in FS}
    p(f"| mount, this tree (ms) | cold | {v['nydusd']:.1f} | {v['erofs']:.1f} | {v['squashfuse_ll']:.1f} | "
      f"{v['nydusd'] / v['erofs']:.2f} | {v['nydusd'] / v['squashfuse_ll']:.2f} |")
    for key, label in (("mount", "daemon VmRSS after mount (MiB)"),
                       ("walk", "daemon VmHWM after walks (MiB)"),
                       ("readall", "daemon VmHWM after read-alls (MiB)")):
        a, b = med(rss["nydusd"][key]), med(rss["squashfuse_ll"][key])
        p(f"| {label} | | {a:.1f} | n/a (kernel) | {b:.1f} | | {a / b:.2f} |")
    p("")
    if many:
        p(f"Many small files: `bench/gen-many-files.sh DIR {os.path.basename(MANY_SRC).split('-')[-1]}` "
          f"(cached at `{MANY_SRC}`); image sizes (MiB): "
          + ", ".join(f"{NAMES[k]} {mimg_sizes(k) / MiB:.1f}" for k in FS) + ".")
        p("")
        p("| metric | nydusd | kernel EROFS | squashfuse_ll | nydusd / EROFS | nydusd / squashfuse_ll |")
        p("|---|---:|---:|---:|---:|---:|")
        for key, label in (("cold_ms", "mount, page cache dropped (ms)"),
                           ("warm_ms", "mount, image in page cache (ms)"),
                           ("walk", "cold metadata walk (s)")):
            v = {k: med(many[k][key]) for k in FS}
            f = (lambda x: f"{x:.1f}") if key != "walk" else (lambda x: f"{x:.3f}")
            p(f"| {label} | {f(v['nydusd'])} | {f(v['erofs'])} | {f(v['squashfuse_ll'])} | "
              f"{v['nydusd'] / v['erofs']:.2f} | {v['nydusd'] / v['squashfuse_ll']:.2f} |")
        for key, label in (("rss", "daemon VmRSS after mount (MiB)"),
                           ("hwm", "daemon VmHWM after cold walk (MiB)")):
            a, b = med(many["nydusd"][key]), med(many["squashfuse_ll"][key])
            p(f"| {label} | {a:.1f} | n/a (kernel) | {b:.1f} | | {a / b:.2f} |")
        p("")
    # Targets (issue 3)
    cw = {k: med(results[("walk", "cold")][k]) for k in FS}
    wr = {k: med(results[("readall", "warm")][k]) for k in FS}
    rows = [("cold walk ≤ 2× kernel EROFS", f"{cw['nydusd'] / cw['erofs']:.2f}×", cw["nydusd"] <= 2 * cw["erofs"]),
            ("cold walk ≥ 2× faster than squashfuse_ll", f"{cw['squashfuse_ll'] / cw['nydusd']:.2f}× faster",
             cw["squashfuse_ll"] >= 2 * cw["nydusd"]),
            ("warm read-all ≤ 1.25× kernel EROFS", f"{wr['nydusd'] / wr['erofs']:.2f}×", wr["nydusd"] <= 1.25 * wr["erofs"])]
    if many:
        hwm = med(many["nydusd"]["hwm"]); rs = med(many["nydusd"]["rss"])
        mc, mw = med(many["nydusd"]["cold_ms"]), med(many["nydusd"]["warm_ms"])
        rows += [("RSS ≤ 30 MB at 100k files (VmRSS after mount / VmHWM after walk)",
                  f"{rs:.1f} / {hwm:.1f} MiB", hwm <= 30 * 1e6 / MiB),
                 ("mount ≤ 50 ms at 100k files (cold / warm page cache)", f"{mc:.1f} / {mw:.1f} ms",
                  mw <= 50)]
    p("| target (issue 3) | measured | met |")
    p("|---|---|---|")
    for t, val, ok in rows:
        p(f"| {t} | {val} | {'yes' if ok else '**no**'} |")
    p("")
    p("Commands (`OUT` = the benchmark output directory, `M` = a fresh mountpoint):")
    p("")
    p("```")
    seen = []
    for c in COMMANDS:
        c = c.replace(OUT + "/", "OUT/")
        if c not in seen:
            seen.append(c)
            p(c)
    p(f"{NYDUSD} --config OUT/tree/localfs.json --mountpoint M --bootstrap OUT/tree/image.boot --log-level warn"
      + (" " + " ".join(NYDUSD_ARGS) if NYDUSD_ARGS else ""))
    p("mount -t erofs -o loop,ro OUT/tree/image.erofs M")
    p("squashfuse_ll -f OUT/tree/image.sqfs M")
    p("find M -printf '%s %m %U %T@\\n' > /dev/null")
    p("tar -C M -cf - . | cat > /dev/null")
    p(f"dd if=M/{largest} of=/dev/null bs=1M")
    p("```")


MIMG_SIZES = {}  # image sizes of the many-files tree, for the report


def mimg_sizes(k):
    return MIMG_SIZES.get(k, float("nan"))


main()
PYEOF
PY_PID=$!
wait "$PY_PID"
PY_PID=""
