// Device numbers as RAFS stores them.
//
// meta::Inode::rdev holds the Linux dev_t exactly as stat(2) reports it (glibc encoding:
// major/minor via major()/minor()). On disk, RAFS v5 `i_rdev` and v6 `i_u` (extended
// inodes of char/block devices) are u32 in the kernel's new_encode_dev layout:
//
//   bits  0..7   minor bits 0..7
//   bits  8..19  major bits 0..11
//   bits 20..31  minor bits 8..19
//
// i.e. (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12). This equals the low 32 bits of
// the glibc dev_t, which is what the reference builder writes (`st_rdev as u32`), so the two
// agree for every device whose major < 4096 and minor < 2^20; larger numbers cannot be
// represented and are truncated to those widths. Header-only; shared by the writers and
// the bootstrap reader.
#pragma once

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <cstdint>

namespace nydus::meta {

// Encodes `dev` (as stat gives it) into the on-disk u32. Bits beyond 12 major / 20 minor
// bits are dropped.
inline uint32_t EncodeRdev(dev_t dev) {
  const uint32_t maj = static_cast<uint32_t>(major(dev)) & 0xfffu;
  const uint32_t min = static_cast<uint32_t>(minor(dev)) & 0xfffffu;
  return (min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12);
}

// Decodes an on-disk u32 into a dev_t usable with major()/minor() and reported by stat.
inline dev_t DecodeRdev(uint32_t v) {
  const unsigned int maj = (v >> 8) & 0xfffu;
  const unsigned int min = (v & 0xffu) | ((v >> 12) & 0xfff00u);
  return makedev(maj, min);
}

}  // namespace nydus::meta
