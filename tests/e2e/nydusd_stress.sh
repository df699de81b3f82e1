#!/usr/bin/env bash
# e2e.nydusd_stress: 16 concurrent readers on one nydusd mount for a bounded time.
# A gen-tree.sh tree (seed 7; BIG_MIB=16 SMALL_FILES=2000 by default) is built as v6 zstd
# and mounted (digest_validate on, --fuse-threads 4). Each reader process walks the regular files
# in its own shuffled order until the deadline, alternating whole-file sha256 (compared with the
# source's; then the file's page cache is dropped with fadvise(DONTNEED), so reads keep reaching
# the daemon) and random pread ranges (compared byte-for-byte with the source file). No mismatch
# and no error are allowed; the daemon must still be alive and unmount cleanly afterwards.
# Env: STRESS_SECONDS (20), STRESS_READERS (16), STRESS_BUILD ("6:zstd:blake3"),
#      STRESS_FUSE_THREADS (4).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nydusd_lib.sh"
e2e_init nydusd_stress
require_root
require_cmd python3
require_fuse
find_nydus_image
find_nydusd
SECONDS_LIMIT=${STRESS_SECONDS:-20}
READERS=${STRESS_READERS:-16}
IFS=: read -r V C D <<<"${STRESS_BUILD:-6:zstd:blake3}"

phase "generate tree (gen-tree.sh seed 7) and source hashes"
SRC=$E2E_TMP/src
gen_tree "$SRC" 7
python3 - "$SRC" >"$E2E_TMP/src.json" <<'PYEOF'
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        try:
            with open(p, "rb") as fh:
                h = hashlib.sha256()
                while True:
                    b = fh.read(1 << 20)
                    if not b: break
                    h.update(b)
        except PermissionError:
            continue
        rel = os.fsencode(os.path.relpath(p, root)).hex()   # names may not be UTF-8
        out[rel] = [os.path.getsize(p), h.hexdigest()]
json.dump(out, sys.stdout)
PYEOF
log "   $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d), "files,", sum(v[0] for v in d.values()) >> 20, "MiB")' "$E2E_TMP/src.json")"

phase "build v$V $C/$D and mount"
nydus_create "$E2E_TMP/boot" "$E2E_TMP/blobs" -v "$V" --compressor "$C" --digester "$D" "$SRC"
localfs_config "$E2E_TMP/localfs.json" "$E2E_TMP/blobs" true
MNT=$E2E_TMP/mnt
nydusd_start stress "$MNT" "$E2E_TMP/boot" "$E2E_TMP/localfs.json" --fuse-threads "${STRESS_FUSE_THREADS:-4}"

phase "$READERS readers for ${SECONDS_LIMIT}s"
cat >"$E2E_TMP/readers.py" <<'PYEOF'
import hashlib, json, multiprocessing as mp, os, random, sys, time
src, mnt, manifest, readers, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
files = {bytes.fromhex(k): v for k, v in json.load(open(manifest)).items()}
names = sorted(files)
deadline = time.monotonic() + limit

def worker(idx, q):
    rng = random.Random(idx)
    order = names[:]
    stats = {"files": 0, "preads": 0, "bytes": 0, "errors": [], "mismatches": []}
    while time.monotonic() < deadline and len(stats["errors"]) + len(stats["mismatches"]) < 20:
        rng.shuffle(order)
        for rel in order:
            if time.monotonic() >= deadline:
                break
            size, digest = files[rel]
            path = os.path.join(os.fsencode(mnt), rel)
            try:
                if rng.random() < 0.5:
                    h = hashlib.sha256()
                    n = 0
                    with open(path, "rb", buffering=0) as f:
                        while True:
                            b = f.read(rng.choice((4096, 65536, 1 << 20)))
                            if not b: break
                            h.update(b); n += len(b)
                        # drop the file's page cache so later reads reach the daemon again
                        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                    stats["files"] += 1; stats["bytes"] += n
                    if n != size or h.hexdigest() != digest:
                        stats["mismatches"].append(f"{rel!r}: {n} B sha {h.hexdigest()[:12]}, want {size} B {digest[:12]}")
                else:
                    fd = os.open(path, os.O_RDONLY)
                    sfd = os.open(os.path.join(os.fsencode(src), rel), os.O_RDONLY)
                    try:
                        for _ in range(4):
                            off = rng.randrange(0, size + 1) if size else 0
                            ln = rng.choice((1, 511, 4096, 100000, 1 << 20))
                            got = os.pread(fd, ln, off)
                            want = os.pread(sfd, ln, off)
                            stats["preads"] += 1; stats["bytes"] += len(got)
                            if got != want:
                                stats["mismatches"].append(f"{rel!r}: pread({off}, {ln}) differs")
                    finally:
                        os.close(fd); os.close(sfd)
            except OSError as e:
                stats["errors"].append(f"{rel!r}: {e}")
    q.put(stats)

q = mp.Queue()
t0 = time.monotonic()
procs = [mp.Process(target=worker, args=(i, q)) for i in range(readers)]
for p in procs: p.start()
results = [q.get() for _ in procs]
for p in procs: p.join()
secs = time.monotonic() - t0
tot = {k: sum(r[k] for r in results) for k in ("files", "preads", "bytes")}
errors = [e for r in results for e in r["errors"]]
mism = [m for r in results for m in r["mismatches"]]
print(f"{readers} readers, {secs:.1f} s: {tot['files']} whole-file reads, {tot['preads']} preads, "
      f"{tot['bytes'] >> 20} MiB ({tot['bytes'] / secs / (1 << 20):.0f} MiB/s), "
      f"{len(mism)} mismatches, {len(errors)} errors")
for m in (mism + errors)[:20]:
    print("  ", m)
sys.exit(1 if mism or errors else 0)
PYEOF
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(nydusd_pid "$MNT")/stat"; }
ticks0=$(cpu_ticks)
RUN_TAIL=80 run python3 "$E2E_TMP/readers.py" "$SRC" "$MNT" "$E2E_TMP/src.json" "$READERS" "$SECONDS_LIMIT"
sed 's/^/    /' "$LAST_LOG" | head -5
nydusd_alive "$MNT"
log "   nydusd used $(( ($(cpu_ticks) - ticks0) * 1000 / $(getconf CLK_TCK) )) ms of CPU while serving the readers"

phase "unmount"
nydusd_stop "$MNT"
