// Plain value types the filesystem core (RafsFs) answers with. They mirror what a FUSE reply
// needs, without naming any libfuse type, so fs/ is testable without /dev/fuse and the fuse/
// adapter converts them field by field.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>

namespace nydus::fs {

// The FUSE root inode number (FUSE_ROOT_ID). RafsFs always reports the image root as 1.
inline constexpr uint64_t kRootIno = 1;

// Attributes of one inode, as stat(2) reports them.
struct Attr {
  uint64_t ino = 0;
  uint32_t mode = 0;  // type and permission bits
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;     // dev_t as stat reports it (major()/minor() work on it)
  uint64_t size = 0;     // bytes
  uint64_t blocks = 0;   // 512-byte units: ceil(size / 512)
  uint32_t blksize = 0;  // preferred I/O size (4096, the reference's RAFS_ATTR_BLOCK_SIZE)
  // RAFS stores one timestamp: atime, mtime and ctime all report it.
  int64_t atime = 0, mtime = 0, ctime = 0;  // seconds since the epoch
  uint32_t atime_nsec = 0, mtime_nsec = 0, ctime_nsec = 0;
};

// The answer to a lookup: the child's inode number and attributes.
struct Entry {
  uint64_t ino = 0;
  Attr attr;
  uint64_t generation = 0;  // always 0: inode numbers are never reused in an immutable image
};

// One directory entry of a ReadDir walk.
struct DirEntry {
  uint64_t ino = 0;
  std::string name;          // raw bytes, no NUL
  uint32_t type = 0;         // DT_* value (DT_REG, DT_DIR, ...), i.e. IFTODT(mode)
  uint64_t next_offset = 0;  // pass as `offset` to ReadDir to continue after this entry
};

// Filesystem statistics (statvfs). RAFS is read-only, so nothing is ever free.
struct StatFs {
  uint32_t bsize = 0;   // block size used by `blocks`
  uint32_t frsize = 0;  // fragment size (== bsize)
  uint64_t blocks = 0;  // sum over inodes of ceil(size / bsize)
  uint64_t bfree = 0, bavail = 0;
  uint64_t files = 0;  // number of distinct inodes (hardlinks count once)
  uint64_t ffree = 0, favail = 0;
  uint32_t namemax = 0;  // 255
};

// Credentials of the process making a request (for Access).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

}  // namespace nydus::fs
