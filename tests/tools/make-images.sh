#!/usr/bin/env bash
# make-images.sh WORKDIR REGISTRY
#
# Builds real Debian-based OCI images and pushes them with skopeo to REGISTRY
# (host:port, e.g. 127.0.0.1:5000):
#   REGISTRY/debian:bookworm   1 layer : debootstrap --variant=minbase bookworm
#   REGISTRY/python:bookworm   3 layers: base + apt-get install python3 + "app" layer
#                              (whiteouts, opaque dir, hardlink, symlinks, user.* xattr,
#                               0-byte file, 50 MiB random file, sparse file)
#   REGISTRY/node:bookworm     3 layers: base + apt-get install nodejs + node_modules
#                              from `npm install` (many small files)   [NODE=0 to skip]
#   REGISTRY/edgecases:latest  1 layer : the gen-tree.sh edge-case tree (seed EDGE_SEED=42)
#                                        [EDGE=0 to skip]
# Extra tags (EXTRA_TAGS=0 to skip):
#   debian:bookworm-v2s2, python:bookworm-v2s2   same images, Docker schema2 manifests
#   debian:bookworm-index                        OCI image index (manifest list) -> amd64
#
# The Debian mirror is read at run time from the machine's apt sources
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list|*.sources) or from $MIRROR;
# it is never printed (logs are redacted) and it does not end up in the images
# (their sources.list points at deb.debian.org, apt lists are removed).
#
# Outputs under WORKDIR:
#   rootfs-debian/   debootstrapped tree (reused on rerun unless REBUILD=1)
#   oci/             OCI image layout, tags debian-bookworm, python-bookworm, node-bookworm
#   edge-tree/       the gen-tree.sh tree packed into edgecases:latest
#   expected/<name>/rootfs  each image pulled back from REGISTRY and unpacked by umoci
#                    (whiteouts applied): ground truth for FUSE-mount comparisons
#                    [EXPECTED=0 to skip]
#   bundles/         umoci work bundles (deleted at the end unless KEEP_BUNDLES=1)
#   stats/*.json     per-image stats; stats/summary.txt
#   logs/            build logs (mirror redacted)
#
# Env: IMAGES (default "debian python node edgecases": which images to push/unpack; debian is
#      always built as the base; nydus-cpp's e2e.layered_python uses IMAGES=python EXTRA_TAGS=0),
#      ROOTFS_DIR (debootstrap tree, default WORKDIR/rootfs-debian; made/reused by make-rootfs.sh),
#      REG_TLS_VERIFY (default false), REG_CREDS=user:pass, REG_CERT_DIR=dir,
#      NODE=0|1, EXTRA_TAGS=0|1, REBUILD=1, MIRROR=url, SUITE (default bookworm),
#      PUSH_ONLY=1 (skip building, push the existing WORKDIR/oci layout, e.g. to an
#                   AUTH=1/TLS=1 registry: REG_CREDS=testuser:testpassword
#                   REG_CERT_DIR=REGDIR/certdir REG_TLS_VERIFY=true),
#      NPM_PACKAGES (default "typescript lodash express rxjs moment @babel/core")
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 WORKDIR REGISTRY(host:port)" >&2; exit 2; }
mkdir -p "$1"
WORK=$(cd "$1" && pwd)
REG=$2
SUITE=${SUITE:-bookworm}
IMAGES=${IMAGES:-debian python node edgecases}
want() { case " $IMAGES " in *" $1 "*) return 0 ;; esac; return 1; }
NODE=${NODE:-1}
EXTRA_TAGS=${EXTRA_TAGS:-1}
EDGE=${EDGE:-1}
EDGE_SEED=${EDGE_SEED:-42}
# debian:SUITE is always built (it is the base of the others) but pushed/unpacked only if wanted
DEBIAN_OUT=0; want debian && DEBIAN_OUT=1
PYTHON=0; want python && PYTHON=1
want node || NODE=0
want edgecases || EDGE=0
EXPECTED=${EXPECTED:-1}
KEEP_BUNDLES=${KEEP_BUNDLES:-0}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REBUILD=${REBUILD:-0}
REG_TLS_VERIFY=${REG_TLS_VERIFY:-false}
NPM_PACKAGES=${NPM_PACKAGES:-typescript lodash express rxjs moment @babel/core}
PUBLIC_MIRROR=http://deb.debian.org/debian   # what the images' sources.list will say
PUBLIC_SOURCES="deb $PUBLIC_MIRROR $SUITE main"
OCI=$WORK/oci
ROOTFS=${ROOTFS_DIR:-$WORK/rootfs-debian}
BUNDLES=$WORK/bundles
STATS=$WORK/stats
LOGS=$WORK/logs
ENV_PATH=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" = 0 ] || { echo "must run as root (debootstrap, chroot, umoci ownership)" >&2; exit 1; }
for t in debootstrap umoci skopeo python3 tar gzip chroot mount setfattr; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (apt-get install debootstrap umoci skopeo attr)" >&2; exit 1; }
done
mkdir -p "$BUNDLES" "$STATS" "$LOGS"

# ---------------------------------------------------------------- mirror
detect_mirror() { SUITE=$SUITE "$SCRIPT_DIR/detect-mirror.sh"; }
MIRROR_URL=$(detect_mirror) || { echo "could not find an http(s) Debian mirror in apt sources; set MIRROR=" >&2; exit 1; }
MIRROR_HOST=$(printf '%s' "$MIRROR_URL" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
echo "mirror: found in apt sources (not shown)"

redact() { # stdin -> stdout with mirror URL/host replaced
  MU=$MIRROR_URL MH=$MIRROR_HOST python3 -c '
import os, sys
mu, mh = os.environ["MU"].encode(), os.environ["MH"].encode()
d = sys.stdin.buffer.read().replace(mu, b"<mirror>").replace(mh, b"<mirror-host>")
sys.stdout.buffer.write(d)'
}
redact_file() { local f=$1; [ -f "$f" ] || return 0; redact <"$f" >"$f.tmp" && mv "$f.tmp" "$f"; }
run_logged() { # logname cmd...  (output to logs/logname.log, redacted; tail shown on failure)
  local name=$1; shift
  local log=$LOGS/$name.log
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  redact_file "$log"
  [ "$rc" = 0 ] && return 0
  echo "FAILED ($rc): $name; last lines of $log:" >&2
  tail -25 "$log" >&2
  return $rc
}
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

# ---------------------------------------------------------------- chroot helpers
MOUNTED=()
chroot_enter() { # rootfs : mount proc+dev, temporarily point apt at the mirror
  local r=$1
  mount -t proc proc "$r/proc"; MOUNTED+=("$r/proc")
  mount --bind /dev "$r/dev"; MOUNTED+=("$r/dev")
  for f in resolv.conf hosts; do
    if [ -e "$r/etc/$f" ] || [ -L "$r/etc/$f" ]; then cp -a "$r/etc/$f" "$r/etc/$f.testbed-save"; fi
    rm -f "$r/etc/$f"; cp /etc/$f "$r/etc/$f"
  done
  cp -a "$r/etc/apt/sources.list" "$r/etc/apt/sources.list.testbed-save"
  printf 'deb %s %s main\n' "$MIRROR_URL" "$SUITE" >"$r/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
}
chroot_leave() { # rootfs : undo chroot_enter, drop apt lists/caches (they name the mirror)
  local r=${1:?}
  rm -f "$r/usr/sbin/policy-rc.d"
  mv "$r/etc/apt/sources.list.testbed-save" "$r/etc/apt/sources.list"
  for f in resolv.conf hosts; do
    rm -f "$r/etc/$f"
    if [ -e "$r/etc/$f.testbed-save" ] || [ -L "$r/etc/$f.testbed-save" ]; then mv "$r/etc/$f.testbed-save" "$r/etc/$f"; fi
  done
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
         "$r"/var/cache/apt/archives/partial/* "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
  mkdir -p "$r/var/lib/apt/lists/partial"
  umount_all
}
umount_all() {
  local i
  for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do
    if mountpoint -q "${MOUNTED[$i]}"; then umount "${MOUNTED[$i]}" || umount -l "${MOUNTED[$i]}"; fi
  done
  MOUNTED=()
}
trap umount_all EXIT
chroot_apt_install() { # rootfs pkgs...
  local r=$1; shift
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update && apt-get install -y --no-install-recommends "$@" && apt-get clean' sh "$@"
}
assert_no_mounts() { # refuse to pack a tree with something mounted inside
  if awk '{print $5}' /proc/self/mountinfo | grep -q "^$1/"; then
    echo "BUG: mounts still present under $1" >&2; exit 1
  fi
}

# ---------------------------------------------------------------- stats
image_stats() { # tag name seconds
  local tag=$1 name=$2 secs=$3
  OCI=$OCI TAG=$tag NAME=$name SECS=$secs python3 - <<'PYEOF' | tee -a "$STATS/summary.txt"
import gzip, json, os, tarfile
oci, tag = os.environ["OCI"], os.environ["TAG"]
def blob(d):
    a, h = d.split(":")
    return os.path.join(oci, "blobs", a, h)
idx = json.load(open(os.path.join(oci, "index.json")))
desc = [m for m in idx["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
man = json.load(open(blob(desc["digest"])))
layers = []
for l in man["layers"]:
    st = {"digest": l["digest"], "mediaType": l["mediaType"], "compressed": l["size"],
          "uncompressed": 0, "entries": 0, "regular_files": 0, "dirs": 0, "symlinks": 0,
          "hardlinks": 0, "other": 0, "whiteouts": 0, "opaque_whiteouts": 0, "xattr_entries": 0}
    with gzip.open(blob(l["digest"])) as g:
        with tarfile.open(fileobj=g, mode="r|") as t:
            for m in t:
                st["entries"] += 1
                base = m.name.rstrip("/").rsplit("/", 1)[-1]
                if base == ".wh..wh..opq":
                    st["opaque_whiteouts"] += 1
                elif base.startswith(".wh."):
                    st["whiteouts"] += 1
                elif m.isreg():
                    st["regular_files"] += 1
                elif m.isdir():
                    st["dirs"] += 1
                elif m.issym():
                    st["symlinks"] += 1
                elif m.islnk():
                    st["hardlinks"] += 1
                else:
                    st["other"] += 1
                if any(k.startswith("SCHILY.xattr.") for k in m.pax_headers):
                    st["xattr_entries"] += 1
    with gzip.open(blob(l["digest"])) as g:
        n = 0
        while True:
            b = g.read(1 << 20)
            if not b:
                break
            n += len(b)
    st["uncompressed"] = n
    layers.append(st)
res = {"tag": tag, "image": os.environ["NAME"], "manifest_digest": desc["digest"],
       "build_seconds": float(os.environ["SECS"]), "layers": layers,
       "compressed_total": sum(l["compressed"] for l in layers),
       "uncompressed_total": sum(l["uncompressed"] for l in layers),
       "entries_total": sum(l["entries"] for l in layers)}
json.dump(res, open(os.path.join(os.path.dirname(oci), "stats", tag + ".json"), "w"), indent=1)
MiB = 1 << 20
print(f"{res['image']}: {len(layers)} layer(s), compressed {res['compressed_total']/MiB:.1f} MiB, "
      f"uncompressed {res['uncompressed_total']/MiB:.1f} MiB, {res['entries_total']} tar entries, "
      f"build {res['build_seconds']:.0f}s")
for i, l in enumerate(layers, 1):
    print(f"  layer {i}: {l['compressed']/MiB:7.1f} MiB gz / {l['uncompressed']/MiB:7.1f} MiB tar, "
          f"{l['entries']} entries (files {l['regular_files']}, dirs {l['dirs']}, symlinks {l['symlinks']}, "
          f"hardlinks {l['hardlinks']}, other {l['other']}, whiteouts {l['whiteouts']}, "
          f"opaque {l['opaque_whiteouts']}, with-xattrs {l['xattr_entries']})")
PYEOF
}

push() { # tag repo:tag [extra skopeo args]
  local src=$1 dst=$2; shift 2
  local args=(--dest-tls-verify="$REG_TLS_VERIFY")
  [ -n "${REG_CREDS:-}" ] && args+=(--dest-creds "$REG_CREDS")
  [ -n "${REG_CERT_DIR:-}" ] && args+=(--dest-cert-dir "$REG_CERT_DIR")
  skopeo copy -q "${args[@]}" "$@" "oci:$OCI:$src" "docker://$REG/$dst"
  local iargs=(--tls-verify="$REG_TLS_VERIFY")
  [ -n "${REG_CREDS:-}" ] && iargs+=(--creds "$REG_CREDS")
  [ -n "${REG_CERT_DIR:-}" ] && iargs+=(--cert-dir "$REG_CERT_DIR")
  local d; d=$(skopeo inspect --raw "${iargs[@]}" "docker://$REG/$dst" | sha256sum | cut -c1-16)
  echo "  pushed $REG/$dst (manifest sha256:$d...)"
}

# deterministic pseudo-random bytes: gen_bytes FILE SIZE SEED
gen_bytes() {
  python3 - "$1" "$2" "$3" <<'PYEOF'
import hashlib, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
with open(path, "wb") as f:
    i = 0
    while size > 0:
        n = min(size, 1 << 20)
        f.write(hashlib.shake_256(seed + b":" + str(i).encode()).digest(n))
        size -= n; i += 1
PYEOF
}

if [ "${PUSH_ONLY:-0}" != 1 ]; then
# ================================================================ debian:bookworm
T0=$(now)
echo "== debian:$SUITE"
REBUILD=$REBUILD SUITE=$SUITE MIRROR=$MIRROR_URL "$SCRIPT_DIR/make-rootfs.sh" "$ROOTFS"
if [ "$MIRROR_URL" != "$PUBLIC_MIRROR" ] && grep -rqsF "$MIRROR_URL" "$ROOTFS/etc" "$ROOTFS/var/lib/apt" 2>/dev/null; then
  echo "WARNING: mirror URL still referenced inside rootfs" >&2
fi

rm -rf "$OCI" "${BUNDLES:?}"/*
umoci init --layout "$OCI"
umoci new --image "$OCI:debian-$SUITE"
umoci unpack --image "$OCI:debian-$SUITE" "$BUNDLES/debian"
# copy the tree; the marker file is ours, not part of the image
tar -C "$ROOTFS" --exclude=./.testbed-complete --xattrs --xattrs-include='*' --acls -cf - . \
  | tar -C "$BUNDLES/debian/rootfs" --xattrs --xattrs-include='*' --acls --numeric-owner -xpf -
umoci repack --image "$OCI:debian-$SUITE" --history.created_by "debootstrap --variant=minbase $SUITE" "$BUNDLES/debian"
umoci config --image "$OCI:debian-$SUITE" --os linux --architecture "$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
  --config.env "$ENV_PATH" --config.cmd bash --author testbed --no-history
rm -rf "$BUNDLES/debian"   # base bundle not needed any more (rootfs-debian has the tree)
DEB_SECS=$(elapsed "$T0")
: >"$STATS/summary.txt"
image_stats "debian-$SUITE" "debian:$SUITE" "$DEB_SECS"

# ================================================================ python:bookworm
if [ "$PYTHON" = 1 ]; then
T0=$(now)
echo "== python:$SUITE"
B=$BUNDLES/python
umoci unpack --image "$OCI:debian-$SUITE" "$B"
R=$B/rootfs
# ---- layer 2: python3 from Debian
chroot_enter "$R"
run_logged python-apt chroot_apt_install "$R" python3
chroot_leave "$R"
assert_no_mounts "$R"
chroot "$R" /usr/bin/python3 --version
umoci repack --refresh-bundle --image "$OCI:python-$SUITE" \
  --history.created_by "apt-get install -y --no-install-recommends python3" "$B"
# ---- layer 3: app layer
A=$R/app
PYVER=$(chroot "$R" /usr/bin/python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
mkdir -p "$A/data" "$A/releases/v1" "$A/conf.d" "$R/usr/local/bin"
cat >"$A/main.py" <<'EOF'
#!/usr/bin/env python3
import json, os, sys
print(json.dumps({"hello": "world", "argv": sys.argv[1:], "cwd": os.getcwd()}))
EOF
chmod 755 "$A/main.py"
printf 'requests==2.31.0\nflask==3.0.0\n' >"$A/requirements.txt"
printf '[server]\nport = 8080\n' >"$A/conf.d/app.ini"
echo "v1" >"$A/releases/v1/VERSION"
: >"$A/empty"                                        # 0-byte file
gen_bytes "$A/data/random-50M.bin" $((50*1024*1024)) python-app-random   # 50 MiB incompressible
ln "$A/data/random-50M.bin" "$A/data/random-50M.hardlink"                  # hardlink
echo "hardlinked small file" >"$A/data/small.txt"; ln "$A/data/small.txt" "$A/conf.d/small-link.txt"
ln -s releases/v1 "$A/current"                        # relative symlink
ln -s /app/main.py "$R/usr/local/bin/app"             # absolute symlink
ln -s ../does/not/exist "$A/dangling"                 # dangling symlink
echo "xattr carrier" >"$A/xattr-file"                 # user.* xattrs
setfattr -n user.testbed.comment -v "hello xattr" "$A/xattr-file"
setfattr -n user.testbed.bin -v 0x00ff10ee "$A/xattr-file"
setfattr -n user.mime_type -v "text/plain" "$A/conf.d"
# sparse file: 64 MiB apparent, data at 0, 16 MiB and the last 4 KiB
truncate -s 64M "$A/data/sparse.img"
printf 'BEGIN' | dd of="$A/data/sparse.img" conv=notrunc status=none
printf 'MIDDLE' | dd of="$A/data/sparse.img" bs=1M seek=16 conv=notrunc status=none
head -c 4096 /dev/zero | tr '\0' 'E' | dd of="$A/data/sparse.img" bs=4096 seek=$((64*256-1)) conv=notrunc status=none
# whiteouts: delete files from layer 1 and layer 2, and a whole directory from layer 2
rm -f "$R/etc/motd" "$R/usr/lib/python$PYVER/turtle.py"
rm -rf "$R/usr/share/doc/python$PYVER"
# opaque directory: /etc/skel (from layer 1) replaced by a new directory
rm -rf "$R/etc/skel"; mkdir -m 755 "$R/etc/skel"
printf '# testbed skel profile\nexport PS1="app$ "\n' >"$R/etc/skel/.profile"
echo "added by app layer" >"$R/etc/skel/README.app"
# modify a file from a lower layer
echo "testbed-app" >"$R/etc/hostname"
assert_no_mounts "$R"
umoci repack --refresh-bundle --image "$OCI:python-$SUITE-umoci" --history.created_by "app layer (umoci diff)" "$B"
# umoci emits per-file whiteouts, never opaque markers: rewrite the last layer so that /etc/skel
# is an opaque directory (drop the .wh. entries under it, add etc/skel/.wh..wh..opq)
OPQ_TAR=$WORK/app-layer-opaque.tar
OCI=$OCI TAG="python-$SUITE-umoci" OUT=$OPQ_TAR OPAQUE_DIRS="etc/skel" python3 - <<'PYEOF'
import gzip, json, os, shutil, tarfile
oci = os.environ["OCI"]
def blob(d):
    a, h = d.split(":"); return os.path.join(oci, "blobs", a, h)
idx = json.load(open(os.path.join(oci, "index.json")))
desc = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == os.environ["TAG"]][0]
man = json.load(open(blob(desc["digest"])))
last = man["layers"][-1]["digest"]
raw = os.environ["OUT"] + ".orig"
with gzip.open(blob(last)) as g, open(raw, "wb") as o:
    shutil.copyfileobj(g, o, 1 << 20)
opaque = [d.strip("/") for d in os.environ["OPAQUE_DIRS"].split()]
def norm(n):
    n = n[2:] if n.startswith("./") else n
    return n.rstrip("/")
def under(n, d):
    return n.startswith(d + "/")
kept = dropped = 0
added = set()
with open(raw, "rb") as f, open(os.environ["OUT"], "wb") as out, tarfile.open(raw, "r:") as t:
    for m in t:
        n = norm(m.name)
        base = n.rsplit("/", 1)[-1]
        if base.startswith(".wh.") and any(under(n, d) for d in opaque):
            dropped += 1
            continue
        # copy the member verbatim (extended headers + header + padded data)
        end = m.offset_data + ((m.size + 511) // 512) * 512 if m.isreg() else m.offset_data
        f.seek(m.offset); out.write(f.read(end - m.offset)); kept += 1
        if m.isdir() and n in opaque and n not in added:
            ti = tarfile.TarInfo((m.name.rstrip("/")) + "/.wh..wh..opq")
            ti.type, ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.REGTYPE, 0, 0o644, 0, 0, m.mtime
            out.write(ti.tobuf(tarfile.PAX_FORMAT)); added.add(n)
    missing = [d for d in opaque if d not in added]
    if missing:
        raise SystemExit(f"opaque dir(s) {missing} have no directory entry in the layer")
    out.write(b"\0" * 1024)
os.unlink(raw)
print(f"  app layer rewritten: kept {kept} entries, dropped {dropped} whiteouts, added {len(added)} opaque marker(s)")
PYEOF
umoci raw add-layer --image "$OCI:python-$SUITE" --history.created_by "app layer (whiteouts, opaque /etc/skel, links, xattrs, sparse)" "$OPQ_TAR"
rm -f "$OPQ_TAR"
umoci rm --image "$OCI:python-$SUITE-umoci"
umoci config --image "$OCI:python-$SUITE" --config.cmd python3 --config.workingdir /app \
  --config.env LANG=C.UTF-8 --no-history
umoci gc --layout "$OCI"
PY_SECS=$(elapsed "$T0")
image_stats "python-$SUITE" "python:$SUITE" "$PY_SECS"
echo "  .wh. entries per layer:"
OCI=$OCI TAG="python-$SUITE" python3 - <<'PYEOF'
import gzip, json, os, tarfile
oci = os.environ["OCI"]
def blob(d):
    a, h = d.split(":"); return os.path.join(oci, "blobs", a, h)
idx = json.load(open(os.path.join(oci, "index.json")))
desc = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == os.environ["TAG"]][0]
for i, l in enumerate(json.load(open(blob(desc["digest"])))["layers"], 1):
    with gzip.open(blob(l["digest"])) as g, tarfile.open(fileobj=g, mode="r|") as t:
        wh = [m.name for m in t if m.name.rstrip("/").rsplit("/", 1)[-1].startswith(".wh.")]
    print(f"    layer {i}: {len(wh)}" + (": " + ", ".join(wh[:8]) + (" ..." if len(wh) > 8 else "") if wh else ""))
PYEOF
fi  # PYTHON

# ================================================================ node:bookworm
if [ "$NODE" = 1 ]; then
  T0=$(now)
  echo "== node:$SUITE"
  command -v npm >/dev/null || { echo "npm not found on host; NODE=0 to skip" >&2; exit 1; }
  B=$BUNDLES/node
  umoci unpack --image "$OCI:debian-$SUITE" "$B"
  R=$B/rootfs
  chroot_enter "$R"
  run_logged node-apt chroot_apt_install "$R" nodejs
  chroot_leave "$R"
  assert_no_mounts "$R"
  echo "  nodejs in image: $(chroot "$R" /usr/bin/node --version)"
  umoci repack --refresh-bundle --image "$OCI:node-$SUITE" \
    --history.created_by "apt-get install -y --no-install-recommends nodejs" "$B"
  NPMDIR=$WORK/npm-app
  rm -rf "$NPMDIR"; mkdir -p "$NPMDIR"
  (cd "$NPMDIR" && printf '{"name":"testbed-app","version":"1.0.0","private":true}\n' >package.json \
    && run_logged npm-install npm install --cache "$WORK/npm-cache" --no-audit --no-fund --loglevel=error $NPM_PACKAGES)
  mkdir -p "$R/app"
  cp -a "$NPMDIR/." "$R/app/"
  printf 'const _ = require("lodash");\nconsole.log(_.chunk([1,2,3,4], 2));\n' >"$R/app/index.js"
  assert_no_mounts "$R"
  umoci repack --refresh-bundle --image "$OCI:node-$SUITE" --history.created_by "npm install $NPM_PACKAGES" "$B"
  umoci config --image "$OCI:node-$SUITE" --config.cmd node --config.cmd /app/index.js \
    --config.workingdir /app --no-history
  NODE_SECS=$(elapsed "$T0")
  image_stats "node-$SUITE" "node:$SUITE" "$NODE_SECS"
fi

# ================================================================ edgecases:latest
if [ "$EDGE" = 1 ]; then
  T0=$(now)
  echo "== edgecases:latest (gen-tree.sh seed $EDGE_SEED, single layer, no base)"
  [ -x "$SCRIPT_DIR/gen-tree.sh" ] || { echo "gen-tree.sh not found next to $0; EDGE=0 to skip" >&2; exit 1; }
  FORCE=1 "$SCRIPT_DIR/gen-tree.sh" "$WORK/edge-tree" "$EDGE_SEED"
  umoci new --image "$OCI:edgecases"
  umoci unpack --image "$OCI:edgecases" "$BUNDLES/edge" >/dev/null
  tar -C "$WORK/edge-tree" --xattrs --xattrs-include='*' --acls -cf - . 2>/dev/null \
    | tar -C "$BUNDLES/edge/rootfs" --xattrs --xattrs-include='*' --acls --numeric-owner -xpf - 2>/dev/null
  # umoci drops empty-valued xattrs (PAX) and rounds mtimes to seconds: see README
  umoci repack --image "$OCI:edgecases" --history.created_by "gen-tree.sh DIR $EDGE_SEED" "$BUNDLES/edge" \
    >"$LOGS/edge-repack.log" 2>&1 || { cat "$LOGS/edge-repack.log" >&2; exit 1; }
  sed -n 's/^ *• */  umoci: /p' "$LOGS/edge-repack.log"
  umoci config --image "$OCI:edgecases" --os linux --architecture "$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
    --no-history
  rm -rf "$BUNDLES/edge"
  image_stats edgecases "edgecases:latest" "$(elapsed "$T0")"
fi
fi  # PUSH_ONLY

# ================================================================ push
[ -f "$OCI/index.json" ] || { echo "no OCI layout at $OCI; run without PUSH_ONLY first" >&2; exit 1; }
umoci ls --layout "$OCI" | grep -qx "python-$SUITE" || PYTHON=0
umoci ls --layout "$OCI" | grep -qx "node-$SUITE" || NODE=0
umoci ls --layout "$OCI" | grep -qx "edgecases" || EDGE=0
echo "== push to $REG"
umoci gc --layout "$OCI"
[ "$DEBIAN_OUT" = 1 ] && push "debian-$SUITE" "debian:$SUITE"
[ "$PYTHON" = 1 ] && push "python-$SUITE" "python:$SUITE"
[ "$NODE" = 1 ] && push "node-$SUITE" "node:$SUITE"
[ "$EDGE" = 1 ] && push edgecases edgecases:latest
if [ "$EXTRA_TAGS" = 1 ]; then
  [ "$DEBIAN_OUT" = 1 ] && push "debian-$SUITE" "debian:$SUITE-v2s2" --format v2s2
  [ "$PYTHON" = 1 ] && push "python-$SUITE" "python:$SUITE-v2s2" --format v2s2
  # OCI image index (what registries serve for multi-arch tags) pointing at the debian manifest.
  # Written into a copy of index.json entries; umoci is not used on the layout after this.
  OCI=$OCI TAG="debian-$SUITE" NEWTAG="debian-$SUITE-index" python3 - <<'PYEOF'
import hashlib, json, os
oci = os.environ["OCI"]
ip = os.path.join(oci, "index.json")
idx = json.load(open(ip))
desc = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == os.environ["TAG"]][0]
a, h = desc["digest"].split(":")
cfg = json.load(open(os.path.join(oci, "blobs", a, h)))["config"]
a2, h2 = cfg["digest"].split(":")
c = json.load(open(os.path.join(oci, "blobs", a2, h2)))
sub = {"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"],
       "platform": {"architecture": c.get("architecture", "amd64"), "os": c.get("os", "linux")}}
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": [sub]}, indent=2).encode()
d = hashlib.sha256(body).hexdigest()
open(os.path.join(oci, "blobs", "sha256", d), "wb").write(body)
idx["manifests"] = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != os.environ["NEWTAG"]]
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + d,
                         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": os.environ["NEWTAG"]}})
json.dump(idx, open(ip, "w"))
PYEOF
  push "debian-$SUITE-index" "debian:$SUITE-index" --all
fi

# ================================================================ expected trees
# Pull every image back from the registry and unpack it with umoci (applies whiteouts
# and opaque markers): WORKDIR/expected/<name>/rootfs is the ground truth for what a
# FUSE mount of the converted image must show (verify-tree.sh --no-root).
if [ "$EXPECTED" = 1 ]; then
  echo "== expected trees (pull back from $REG, umoci unpack)"
  rm -rf "$WORK/pulled" "$WORK/expected"; mkdir -p "$WORK/expected"
  iargs=(--src-tls-verify="$REG_TLS_VERIFY")
  [ -n "${REG_CREDS:-}" ] && iargs+=(--src-creds "$REG_CREDS")
  [ -n "${REG_CERT_DIR:-}" ] && iargs+=(--src-cert-dir "$REG_CERT_DIR")
  names=(); [ "$DEBIAN_OUT" = 1 ] && names+=("debian:$SUITE"); [ "$PYTHON" = 1 ] && names+=("python:$SUITE"); [ "$NODE" = 1 ] && names+=("node:$SUITE"); [ "$EDGE" = 1 ] && names+=(edgecases:latest)
  for n in "${names[@]}"; do
    t=${n/:/-}
    skopeo copy -q "${iargs[@]}" "docker://$REG/$n" "oci:$WORK/pulled:$t"
    umoci unpack --image "$WORK/pulled:$t" "$WORK/expected/$t" >/dev/null 2>&1
    echo "  $WORK/expected/$t/rootfs ($(find "$WORK/expected/$t/rootfs" -printf . | wc -c) entries)"
  done
  rm -rf "$WORK/pulled"
fi
[ "$KEEP_BUNDLES" = 1 ] || rm -rf "$BUNDLES"
echo "== done; stats in $STATS/summary.txt"
