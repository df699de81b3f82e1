#!/usr/bin/env bash
# bench/gen-many-files.sh DIR [COUNT]
#
# Makes a deterministic tree of COUNT (default 100000) small regular files in nested
# directories under DIR (created; must not exist or be empty): DIR/dNN/dNN/fNNNNN, 100 files
# per leaf directory, 10 leaf directories per top directory (so 100k files = 100 top dirs x
# 10 sub dirs x 100 files, 1,100 directories). File i holds 0..1023 bytes of text derived from
# i only; modes alternate 0644/0755; every mtime (files and dirs) is 2020-01-01T00:00:00Z. The
# same COUNT always gives the same tree, byte for byte, so images built from it are
# reproducible. Used by bench/fs_bench.sh for the nydusd RSS / mount-time targets.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [COUNT]" >&2; exit 2; }
DIR=$1
COUNT=${2:-100000}
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
  echo "$DIR exists and is not empty" >&2
  exit 1
fi
mkdir -p "$DIR"
python3 - "$DIR" "$COUNT" <<'PYEOF'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
MTIME = 1577836800  # 2020-01-01T00:00:00Z
PER_LEAF, LEAVES_PER_TOP = 100, 10
dirs = set()
for i in range(count):
    leaf = i // PER_LEAF
    top, sub = leaf // LEAVES_PER_TOP, leaf % LEAVES_PER_TOP
    d = os.path.join(root, f"d{top:03d}", f"s{sub:02d}")
    if d not in dirs:
        os.makedirs(d, exist_ok=True)
        dirs.add(d)
    size = (i * 2654435761) % 1024          # 0..1023 bytes, spread by a multiplicative hash
    line = f"file {i:06d} of {count}\n".encode()
    data = (line * (size // len(line) + 1))[:size]
    p = os.path.join(d, f"f{i:06d}")
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o755 if i % 2 else 0o644)
    os.utime(p, (MTIME, MTIME))
for d in sorted(dirs | {os.path.dirname(x) for x in dirs} | {root}, key=len, reverse=True):
    os.chmod(d, 0o755)
    os.utime(d, (MTIME, MTIME))
PYEOF
echo "$DIR: $COUNT files, $(find "$DIR" -type d | wc -l) directories" >&2
