#!/usr/bin/env bash
# unpack-layer.sh TAR DIR [LOWER_DIR...]
#
# Extracts one OCI layer tar (plain or gzip) into DIR with GNU tar, as root, keeping
# ownership, modes, mtimes and all xattrs, and keeping whiteout files (.wh.<name>,
# .wh..wh..opq) as the regular files they are in the tar:
#   tar -xf TAR -C DIR --xattrs --xattrs-include='*' --numeric-owner --same-owner -p \
#       --delay-directory-restore   (Go's archive/tar orders a/b-c/ before a/b/x: without it
#                                   GNU tar restores some directory mtimes too early)
#
# Implied parent directories: a layer may contain a/b/c without an entry for a/ or a/b/
# (umoci writes only the paths that changed). GNU tar creates them with mode 0755 and the
# current time, and a directory-based layered build would then treat them as modifications of
# the lower directories. OCI semantics say they change nothing, so each implied directory gets
# the metadata (mode, owner, xattrs, mtime) of the same directory in the topmost LOWER_DIR that
# has it (LOWER_DIRs bottom first: the already unpacked lower layers). The count is printed.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TAR DIR [LOWER_DIR...]" >&2; exit 2; }
TAR=$1 DIR=$2; shift 2
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
mkdir -p "$DIR"
tar -xf "$TAR" -C "$DIR" --xattrs --xattrs-include='*' --numeric-owner --same-owner -p --delay-directory-restore
exec python3 - "$TAR" "$DIR" "$@" <<'PYEOF'
import os, sys, tarfile
tar, root, lowers = sys.argv[1], os.fsencode(sys.argv[2]), [os.fsencode(l) for l in sys.argv[3:]]
explicit, entries = set(), 0
with tarfile.open(tar, "r:*") as t:
    for m in t:
        entries += 1
        n = os.fsencode(m.name)
        while n.startswith(b"./"):
            n = n[2:]
        explicit.add(n.rstrip(b"/"))
implied = set()
for n in explicit:
    while b"/" in n:
        n = n.rsplit(b"/", 1)[0]
        if n and n != b"." and n not in explicit:
            implied.add(n)
fixed, orphan = 0, []
for rel in sorted(implied, key=lambda p: -p.count(b"/")):
    dst = os.path.join(root, rel)
    src = next((os.path.join(l, rel) for l in reversed(lowers) if os.path.isdir(os.path.join(l, rel))), None)
    if src is None:
        orphan.append(rel.decode(errors="replace"))
        continue
    st = os.lstat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, st.st_mode & 0o7777)
    for x in os.listxattr(dst):
        os.removexattr(dst, x)
    for x in os.listxattr(src):
        os.setxattr(dst, x, os.getxattr(src, x))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    fixed += 1
print(f"unpack-layer: {entries} tar entries -> {sys.argv[2]}; {len(implied)} implied parent dir(s), "
      f"{fixed} given their lower-layer metadata"
      + (f", {len(orphan)} with no lower dir (left as created by tar): {orphan[:5]}" if orphan else ""))
PYEOF
