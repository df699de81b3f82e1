// Vfs: what the FUSE adapter serves — one RafsFs at the root, or several RafsFs instances
// mounted at paths inside a pseudo directory tree (nydusd's "virtual mountpoints", mounted
// and unmounted at run time through the API: POST/DELETE /api/v1/mount?mountpoint=/sub).
//
// Two shapes, fixed at construction:
//   - root mode (nydusd --bootstrap B): the image at "/" is the whole filesystem and its inode
//     numbers pass through unchanged (v6 nid, v5 ino; the root is 1). No other mount is
//     possible, and the root image cannot be replaced or removed (restart nydusd instead).
//   - pseudo mode (nydusd --apisock S without --bootstrap): the root is an empty read-only
//     directory; Mount("/a/b", fs) creates the pseudo directories on the way and makes "b"
//     the image's root. Like the reference's fuse-backend-rs Vfs, an inode of the image
//     mounted in slot k (1..255) is reported as (k << 56) | ino; pseudo directories use small
//     numbers in slot 0. A slot is not reused while any other slot is free, so a stale inode
//     number of an unmounted image answers NotFound instead of reaching a new image.
//
// Every call into a mounted RafsFs is counted in that mount's FsStats (operation, success,
// latency; bytes and latency histogram for reads). When the RafsFs was created with
// options().access_pattern, every read also goes to the mount's AccessRecorder.
//
// Ownership: holds each mounted RafsFs by shared_ptr (the caller may alias it to an object
// that also owns the RafsFs's ChunkReader and backend); Umount drops the Vfs's reference once
// no operation uses it any more.
// Thread-safety: every method may be called concurrently; Mount/Umount/Remount take an
// exclusive lock that operations on pseudo-mode inodes share.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "base/read_pieces.h"
#include "base/result.h"
#include "fs/access_pattern.h"
#include "fs/fs_stats.h"
#include "fs/fs_types.h"
#include "fs/rafs_fs.h"

namespace nydus::fs {

struct VfsOptions {
  double attr_timeout_sec = kDefaultCacheTimeoutSec;
  double entry_timeout_sec = kDefaultCacheTimeoutSec;
};

// The access pattern of one mount: whether it is recorded (RafsFsOptions::access_pattern)
// and the inodes read so far (inner RafsFs numbers), in first-access order.
struct AccessPatternInfo {
  bool enabled = false;
  std::vector<AccessRecord> records;
};

// Called after a mount or unmount changed the pseudo tree, with the directory inode whose
// entry `name` appeared or disappeared, so the FUSE layer can drop kernel caches.
using VfsInvalidateFn = std::function<void(uint64_t parent_ino, const std::string& name)>;

class Vfs {
 public:
  static constexpr int kSlotShift = 56;
  static constexpr uint32_t kMaxMounts = 255;

  // Root mode over `root` (must not be null).
  Vfs(std::shared_ptr<const RafsFs> root, const VfsOptions& options);
  // Pseudo mode, initially empty.
  explicit Vfs(const VfsOptions& options);
  ~Vfs();
  Vfs(const Vfs&) = delete;
  Vfs& operator=(const Vfs&) = delete;

  const VfsOptions& options() const { return options_; }
  bool root_mode() const { return root_ != nullptr; }
  void set_invalidate(VfsInvalidateFn fn);

  // Pseudo mode only. `path` is absolute, normalised ("/a/b": no "." "..", no empty or
  // trailing components). AlreadyExists when something is mounted at or below/above `path`;
  // Unavailable when 255 images are mounted; InvalidArgument in root mode or for a bad
  // path.
  Status Mount(const std::string& path, std::shared_ptr<const RafsFs> fs);
  // Replaces the image at `path` (PUT /api/v1/mount). NotFound when nothing is mounted there.
  Status Remount(const std::string& path, std::shared_ptr<const RafsFs> fs);
  // Removes the image at `path`; empty pseudo directories it created are removed too.
  Status Umount(const std::string& path);

  // The mounted paths ("/" in root mode), sorted.
  std::vector<std::string> Mountpoints() const;
  // The image and stats at `path`, or nullptr.
  std::shared_ptr<const RafsFs> FsAt(const std::string& path) const;
  std::optional<FsStatsSnapshot> StatsAt(const std::string& path) const;
  // The access pattern at `path` (nullopt when nothing is mounted there).
  std::optional<AccessPatternInfo> AccessPatternAt(const std::string& path) const;

  // The RafsFs operations, on reported inode numbers (see RafsFs for each one's contract).
  Result<Attr> GetAttr(uint64_t ino) const;
  // GetAttr for the entries of a READDIRPLUS reply: the same answer, not counted as a
  // getattr in the mount's fop statistics (the kernel sent no GETATTR).
  Result<Attr> EntryAttr(uint64_t ino) const;
  Result<Entry> Lookup(uint64_t parent, const std::string& name) const;
  Status ReadDir(uint64_t ino, uint64_t offset, const RafsFs::DirFn& fn, bool plus) const;
  Result<std::string> ReadLink(uint64_t ino) const;
  Status Open(uint64_t ino, int flags, bool dir) const;
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out,
                      ReadPieces* pieces = nullptr) const;
  Result<std::optional<std::string>> GetXattr(uint64_t ino, const std::string& name) const;
  Result<std::vector<std::string>> ListXattr(uint64_t ino) const;
  StatFs GetStatFs(uint64_t ino) const;
  Status Access(uint64_t ino, int mask, const Caller& caller) const;
  // Counts a FORGET/BATCH_FORGET or RELEASE the FUSE layer answered itself.
  void CountFop(uint64_t ino, Fop op) const;

  // False for names inside pseudo directories, whose absence the kernel must not cache
  // (an image may be mounted there later), and for pseudo directories themselves.
  bool Cacheable(uint64_t ino) const;

 private:
  Result<Attr> AttrOf(uint64_t ino, bool count) const;
  struct Mounted;
  struct PseudoDir;
  struct Target;  // an inode resolved to (mount, inner ino) or a pseudo directory

  // Maps `ino` to its mount and inner number; for a pseudo directory, `lock` is taken and
  // Target::dir is set.
  Result<Target> Resolve(uint64_t ino, std::shared_lock<std::shared_mutex>* lock) const;
  Attr PseudoAttr(const PseudoDir& dir) const;
  Result<Entry> MountRootEntry(const Mounted& m) const;
  static uint64_t Outer(const Mounted& m, uint64_t inner);
  Status ValidatePath(const std::string& path) const;

  VfsOptions options_;
  std::shared_ptr<Mounted> root_;                        // root mode; immutable
  mutable std::shared_mutex mu_;                         // pseudo mode: guards everything below
  std::map<uint64_t, std::unique_ptr<PseudoDir>> dirs_;  // by pseudo ino
  std::vector<std::shared_ptr<Mounted>> slots_;          // index = slot; [0] unused
  uint32_t next_slot_ = 1;
  uint64_t next_pseudo_ino_ = 2;
  VfsInvalidateFn invalidate_;
  int64_t start_time_ = 0;
};

}  // namespace nydus::fs
