#!/usr/bin/env python3
"""fault_reader.py: reads files through a mount and compares every byte with the source tree
(used by tests/e2e/fault_matrix.sh and tests/e2e/fault_load.sh).

  fault_reader.py read SRC MNT FILE... [--json OUT]
      Reads each FILE (relative to SRC and MNT) whole, in 128 KiB read() calls, after dropping
      its pages from the page cache (posix_fadvise DONTNEED, so the daemon serves it again).
      Per file: ok | errno name (EIO, ...) | MISMATCH, the time, and how many bytes arrived
      before an error (those are compared too).

  fault_reader.py load SRC MNT --threads N --duration S [--files-from LIST] [--seed N]
                  [--max-len BYTES] [--pid PID] [--json OUT]
      N threads for S seconds: each picks a random file and a random range (up to --max-len,
      default 1 MiB), drops the range's pages, preads it and compares. With --pid, samples
      VmRSS/VmHWM of that process every second.

Both print one JSON summary (also to --json): counts of ok / errors by errno / mismatches, the
slowest successful and failed reads, and the first mismatches (path, offset). Exit status 0
unless the arguments are wrong: the caller judges the numbers. Python 3 stdlib only.
"""

import argparse
import errno
import json
import os
import random
import sys
import threading
import time

READ = 128 * 1024


def evict(fd, off=0, length=0):
    try:
        os.posix_fadvise(fd, off, length, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, n)):
                if a[j] != b[j]:
                    return j
    return n if len(a) != len(b) else -1


def read_range(src, mnt, rel, off, length):
    """Returns (result, nbytes, ms, diff_offset): result 'ok', 'MISMATCH' or an errno name."""
    with open(os.path.join(src, rel), "rb") as f:
        f.seek(off)
        want = f.read(length)
    got = bytearray()
    result = "ok"
    t0 = time.monotonic()
    try:
        fd = os.open(os.path.join(mnt, rel), os.O_RDONLY)
        try:
            evict(fd, off, length)
            pos = off
            while len(got) < length:
                d = os.pread(fd, min(READ, length - len(got)), pos)
                if not d:
                    break
                got += d
                pos += len(d)
        finally:
            os.close(fd)
    except OSError as e:
        result = errno.errorcode.get(e.errno, str(e.errno))
    ms = (time.monotonic() - t0) * 1000
    diff = -1
    if result == "ok":
        diff = first_diff(bytes(got), want)
    else:
        diff = first_diff(bytes(got), want[:len(got)])  # bytes before the error count too
    if diff >= 0:
        result = "MISMATCH"
    return result, len(got), ms, (off + diff if diff >= 0 else -1)


class Summary:
    def __init__(self):
        self.lock = threading.Lock()
        self.reads = 0
        self.ok = 0
        self.bytes_ok = 0
        self.errors = {}
        self.mismatches = []
        self.max_ok_ms = 0.0
        self.max_fail_ms = 0.0
        self.files = []

    def add(self, rel, result, nbytes, ms, diff, keep_file=False):
        with self.lock:
            self.reads += 1
            if result == "ok":
                self.ok += 1
                self.bytes_ok += nbytes
                self.max_ok_ms = max(self.max_ok_ms, ms)
            elif result == "MISMATCH":
                if len(self.mismatches) < 20:
                    self.mismatches.append({"path": rel, "offset": diff})
                self.errors["MISMATCH"] = self.errors.get("MISMATCH", 0) + 1
            else:
                self.errors[result] = self.errors.get(result, 0) + 1
                self.max_fail_ms = max(self.max_fail_ms, ms)
            if keep_file:
                self.files.append({"path": rel, "result": result, "bytes": nbytes,
                                   "ms": round(ms, 1)})

    def json(self):
        return {"reads": self.reads, "ok": self.ok, "bytes_ok": self.bytes_ok,
                "errors": self.errors, "mismatches": self.errors.get("MISMATCH", 0), "mismatch_samples": self.mismatches,
                "max_ok_ms": round(self.max_ok_ms, 1), "max_fail_ms": round(self.max_fail_ms, 1),
                "files": self.files}


def cmd_read(a):
    s = Summary()
    for rel in a.files:
        size = os.path.getsize(os.path.join(a.src, rel))
        result, n, ms, diff = read_range(a.src, a.mnt, rel, 0, size)
        s.add(rel, result, n, ms, diff, keep_file=True)
        print(f"  {result:8} {ms:9.1f} ms {n:>10} of {size:>10} B  {rel}", file=sys.stderr)
    return s.json()


def proc_mem(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def cmd_load(a):
    if a.files_from:
        with open(a.files_from) as f:
            files = [l.rstrip("\n") for l in f if l.strip()]
    else:
        files = []
        for root, _, names in os.walk(a.src):
            for n in names:
                p = os.path.join(root, n)
                if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0:
                    files.append(os.path.relpath(p, a.src))
    sizes = {f: os.path.getsize(os.path.join(a.src, f)) for f in files}
    files = [f for f in files if sizes[f] > 0]
    if not files:
        raise SystemExit("no files to read")
    s = Summary()
    stop = time.monotonic() + a.duration
    mem = {"samples": 0, "max_rss_kb": 0, "hwm_kb": 0}

    def worker(i):
        rng = random.Random(a.seed * 1000 + i)
        while time.monotonic() < stop:
            rel = rng.choice(files)
            size = sizes[rel]
            off = rng.randrange(size)
            length = min(size - off, rng.randint(1, a.max_len))
            s.add(rel, *read_range(a.src, a.mnt, rel, off, length))

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        if a.pid:
            m = proc_mem(a.pid)
            if m:
                mem["samples"] += 1
                mem["max_rss_kb"] = max(mem["max_rss_kb"], m.get("VmRSS", 0))
                mem["hwm_kb"] = max(mem["hwm_kb"], m.get("VmHWM", 0))
        time.sleep(1.0)
    out = s.json()
    out["threads"] = a.threads
    out["seconds"] = round(time.monotonic() - t0, 1)
    out["files_total"] = len(files)
    if a.pid:
        out["memory"] = mem
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read")
    r.add_argument("src")
    r.add_argument("mnt")
    r.add_argument("files", nargs="+")
    r.add_argument("--json")
    lo = sub.add_parser("load")
    lo.add_argument("src")
    lo.add_argument("mnt")
    lo.add_argument("--threads", type=int, default=64)
    lo.add_argument("--duration", type=float, default=60)
    lo.add_argument("--files-from")
    lo.add_argument("--seed", type=int, default=1)
    lo.add_argument("--max-len", type=int, default=1 << 20)
    lo.add_argument("--pid", type=int)
    lo.add_argument("--json")
    a = ap.parse_args()
    out = cmd_read(a) if a.cmd == "read" else cmd_load(a)
    text = json.dumps(out)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
