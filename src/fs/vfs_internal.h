// Internal to src/fs: the Vfs bookkeeping structs, shared by vfs.cc (mount table) and
// vfs_ops.cc (operations).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "fs/access_pattern.h"
#include "fs/vfs.h"

namespace nydus::fs {

struct Vfs::Mounted {
  Mounted(std::shared_ptr<const RafsFs> f, std::string p, uint32_t s)
      : fs(std::move(f)), path(std::move(p)), slot(s) {
    if (fs->options().access_pattern) access = std::make_unique<AccessRecorder>();
  }
  std::shared_ptr<const RafsFs> fs;
  mutable FsStats stats;
  std::unique_ptr<AccessRecorder> access;  // set when fs->options().access_pattern
  std::string path;
  uint32_t slot = 0;  // 0 in root mode (identity inode numbers)
};

struct Vfs::PseudoDir {
  uint64_t ino = 0;
  uint64_t parent = 0;
  std::string name;
  std::map<std::string, uint64_t> children;  // name -> pseudo ino
  uint32_t slot = 0;                         // non-zero: an image is mounted here
};

struct Vfs::Target {
  Mounted* mount = nullptr;        // null for a pseudo directory
  std::shared_ptr<Mounted> keep;   // pseudo mode: keeps `mount` alive without the lock
  uint64_t inner = 0;              // inode number inside the mounted RafsFs
  const PseudoDir* dir = nullptr;  // pseudo directory; valid while the lock is held
};

}  // namespace nydus::fs
