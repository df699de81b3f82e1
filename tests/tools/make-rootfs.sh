#!/usr/bin/env bash
# make-rootfs.sh DIR
#
# A Debian SUITE (default bookworm) `debootstrap --variant=minbase` tree in DIR, made to look
# like a published image: sources.list names deb.debian.org, no apt lists or .debs, empty /dev,
# empty resolv.conf, hostname "localhost".
#
# Cached: DIR is reused when the marker DIR.complete (beside DIR, not inside it, so the tree
# stays clean for image builds) exists; REBUILD=1 redoes it. Concurrent callers are
# serialised with flock on DIR.lock. The mirror is read from the machine's apt sources
# (tests/tools/detect-mirror.sh) or $MIRROR, and is never printed.
# Root required. Prints the time taken; the debootstrap log is DIR.log (mirror redacted).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR   (env: SUITE, MIRROR, REBUILD=1)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (debootstrap)" >&2; exit 1; }
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=${SUITE:-bookworm}
REBUILD=${REBUILD:-0}
mkdir -p "$(dirname "$1")"
ROOTFS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
MARK=$ROOTFS.complete
LOG=$ROOTFS.log

exec 9>"$ROOTFS.lock"
flock 9
if [ "$REBUILD" != 1 ] && [ -f "$MARK" ] && [ -x "$ROOTFS/bin/sh" ]; then
  echo "make-rootfs: reusing $ROOTFS (built $(cat "$MARK"); REBUILD=1 to redo)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
MIRROR_URL=$(SUITE=$SUITE "$SCRIPT_DIR/detect-mirror.sh") \
  || { echo "no http(s) Debian mirror in apt sources; set MIRROR=" >&2; exit 1; }
MIRROR_HOST=$(printf '%s' "$MIRROR_URL" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
rm -f "$MARK"
rm -rf "$ROOTFS"
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
T0=$(date +%s)
echo "make-rootfs: debootstrap --variant=minbase --arch=$ARCH $SUITE $ROOTFS <mirror from apt sources>"
rc=0
debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$ROOTFS" "$MIRROR_URL" >"$LOG" 2>&1 || rc=$?
sed -i -e "s#$MIRROR_URL#<mirror>#g" -e "s#$MIRROR_HOST#<mirror-host>#g" "$LOG"
if [ $rc != 0 ]; then
  echo "make-rootfs: debootstrap failed ($rc); last lines of $LOG:" >&2
  tail -25 "$LOG" >&2
  exit $rc
fi
echo "deb http://deb.debian.org/debian $SUITE main" >"$ROOTFS/etc/apt/sources.list"
: >"$ROOTFS/etc/resolv.conf"
echo localhost >"$ROOTFS/etc/hostname"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
       "$ROOTFS"/var/log/bootstrap.log "${ROOTFS:?}"/dev/* "$ROOTFS"/debootstrap
mkdir -p "$ROOTFS/var/lib/apt/lists/partial"
if [ "$MIRROR_URL" != http://deb.debian.org/debian ] && grep -rqsF "$MIRROR_URL" "$ROOTFS/etc" "$ROOTFS/var/lib/apt" 2>/dev/null; then
  echo "make-rootfs: WARNING: the mirror is still referenced inside $ROOTFS" >&2
fi
date -u +%Y-%m-%dT%H:%M:%SZ >"$MARK"
echo "make-rootfs: $ROOTFS ready in $(( $(date +%s) - T0 ))s ($(find "$ROOTFS" -xdev | wc -l) entries, $(du -sm "$ROOTFS" | cut -f1) MiB)"
