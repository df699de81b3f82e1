#!/usr/bin/env bash
# scripts/mount-erofs.sh: mount a RAFS v6 image with the kernel's EROFS driver, no nydusd.
#
#   scripts/mount-erofs.sh BOOTSTRAP BLOB_DIR MOUNTPOINT [--keep DISK]
#   scripts/mount-erofs.sh --umount MOUNTPOINT
#
# Mount: `nydus-image export --block -B BOOTSTRAP -D BLOB_DIR -O DISK` writes one file holding
# the bootstrap and every blob's data (at the device table's mapped_blkaddr), then
# `mount -t erofs -o ro,loop DISK MOUNTPOINT`. The kernel reads it directly: no FUSE, no
# daemon, no extra device= options.
#   Without --keep the disk is written next to the bootstrap (BOOTSTRAP.disk.XXXXXX) and
#   removed right after the mount: the loop device keeps the open file alive, and its space
#   is given back when the filesystem is unmounted.
#   With --keep DISK the disk is written to DISK and stays there (mount it again later with
#   `mount -t erofs -o ro,loop DISK MOUNTPOINT`, or check it with fsck.erofs).
# Umount: unmounts MOUNTPOINT (an erofs mount) and detaches its loop device if the kernel did
# not already do so.
#
# Needs root, kernel EROFS (`modprobe erofs`) and loop devices. The MOUNTPOINT is created if
# missing. nydus-image is taken from $NYDUS_IMAGE, else PATH, else <repo>/build/src/tools.
set -euo pipefail

PROG=$(basename "$0")
die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
  sed -n '4,5p' "$0" | sed 's/^#   /usage: /' >&2
  exit 2
}

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (mount and loop devices need CAP_SYS_ADMIN); try: sudo $PROG $*"
}

# mount_line MNT: prints "fstype source" of MNT from /proc/self/mountinfo (the last mount on it)
mount_line() {
  awk -v m="$1" '{ for (i = 7; $i != "-"; i++) ; if ($5 == m) l = $(i + 1) " " $(i + 2) }
                 END { if (l == "") exit 1; print l }' /proc/self/mountinfo
}

do_umount() {
  [ $# = 1 ] || usage
  need_root "--umount $1"
  local mnt line fstype src back=""
  mnt=$(realpath -e "$1" 2>/dev/null) || die "$1: no such directory"
  line=$(mount_line "$mnt") || die "$mnt is not a mount point"
  fstype=${line%% *} src=${line#* }
  [ "$fstype" = erofs ] || die "$mnt is a $fstype mount, not erofs; not touching it"
  if [[ $src == /dev/loop* ]]; then
    back=$(losetup -n -O BACK-FILE "$src" 2>/dev/null || true)
  fi
  umount "$mnt" || die "umount $mnt failed (busy? see: fuser -vm $mnt)"
  # mount -o loop sets autoclear, so the device is normally gone already; detach it only if it
  # still has the same backing file (it may have been reused by someone else meanwhile).
  if [ -n "$back" ] && [ "$(losetup -n -O BACK-FILE "$src" 2>/dev/null || true)" = "$back" ]; then
    losetup -d "$src" 2>/dev/null || true
  fi
  echo "unmounted $mnt${back:+ (loop $src, $back)}"
}

find_nydus_image() {
  if [ -n "${NYDUS_IMAGE:-}" ]; then
    [ -x "$NYDUS_IMAGE" ] || die "NYDUS_IMAGE=$NYDUS_IMAGE is not executable"
    echo "$NYDUS_IMAGE"
  elif command -v nydus-image >/dev/null 2>&1; then
    command -v nydus-image
  else
    local repo; repo=$(cd "$(dirname "$0")/.." && pwd)
    [ -x "$repo/build/src/tools/nydus-image" ] \
      || die "nydus-image not found (set NYDUS_IMAGE, put it on PATH, or build it: ninja -C build nydus-image)"
    echo "$repo/build/src/tools/nydus-image"
  fi
}

do_mount() {
  local boot="" blobs="" mnt="" keep="" args=() orig=("$@")
  while [ $# -gt 0 ]; do
    case $1 in
      --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
      --keep=*) keep=${1#--keep=}; shift ;;
      -h|--help) usage ;;
      -*) die "unknown option $1" ;;
      *) args+=("$1"); shift ;;
    esac
  done
  [ ${#args[@]} = 3 ] || usage
  boot=${args[0]} blobs=${args[1]} mnt=${args[2]}
  need_root "${orig[@]}"
  [ -f "$boot" ] || die "bootstrap $boot: no such file"
  [ -d "$blobs" ] || die "blob dir $blobs: no such directory"
  grep -qw erofs /proc/filesystems || { command -v modprobe >/dev/null && modprobe erofs 2>/dev/null; } || true
  grep -qw erofs /proc/filesystems \
    || die "the kernel has no EROFS support: run \`modprobe erofs\` (needs CONFIG_EROFS_FS)"
  [ -e /dev/loop-control ] || { command -v modprobe >/dev/null && modprobe loop 2>/dev/null; } || true
  [ -e /dev/loop-control ] || die "no loop device support: run \`modprobe loop\`"
  local img; img=$(find_nydus_image)

  mkdir -p "$mnt" || die "cannot create mount point $mnt"
  mnt=$(realpath -e "$mnt")
  if mountpoint -q "$mnt"; then
    die "$mnt is already a mount point (unmount it first: $PROG --umount $mnt)"
  fi

  local disk tmp=0
  if [ -n "$keep" ]; then
    disk=$keep
    mkdir -p "$(dirname "$disk")"
  else
    disk=$(mktemp "$boot.disk.XXXXXX") || die "cannot create a disk file next to $boot"
    tmp=1
  fi
  cleanup_disk() { [ $tmp = 0 ] || rm -f "$disk"; }
  local out
  if ! out=$("$img" export --block -B "$boot" -D "$blobs" -O "$disk" 2>&1); then
    cleanup_disk
    printf '%s\n' "$out" | tail -n 20 >&2
    die "nydus-image export --block failed (is $boot a RAFS v6 bootstrap with its blobs in $blobs?)"
  fi
  if ! out=$(mount -t erofs -o ro,loop "$disk" "$mnt" 2>&1); then
    cleanup_disk
    printf '%s\n' "$out" >&2
    dmesg 2>/dev/null | grep -i erofs | tail -n 5 | sed 's/^/dmesg: /' >&2 || true
    die "mount -t erofs -o ro,loop $disk $mnt failed"
  fi
  local src; src=$(mount_line "$mnt" | cut -d' ' -f2)
  if [ $tmp = 1 ]; then
    rm -f "$disk"
    echo "mounted $boot at $mnt (kernel EROFS, $src; disk removed, freed on umount)"
  else
    echo "mounted $boot at $mnt (kernel EROFS, $src; disk kept at $disk)"
  fi
}

[ $# -ge 1 ] || usage
case $1 in
  --umount|-u) shift; do_umount "$@" ;;
  -h|--help) usage ;;
  *) do_mount "$@" ;;
esac
