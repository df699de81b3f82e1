// AccessRecorder: which files a workload reads, in the order it first reads them — the data
// behind nydusd's GET /api/v1/metrics/pattern (the reference's FsIoStats access_patterns,
// utils/src/metrics.rs, enabled by the rafs config `access_pattern: true`). Each record is one
// inode (the RafsFs inode number, not the Vfs slot-prefixed one) with the number of read
// requests it received and the wall-clock time of the first one. Unlike the reference, which
// keeps a hash map and exports it unordered, records keep their first-access order, so the
// list can be turned straight into a prefetch list (ResolvePaths, `nydusctl access-pattern`,
// `nydusify convert --prefetch-patterns`).
//
// ResolvePaths maps inode numbers back to absolute paths by walking the image from its root
// (breadth first, so a hardlinked inode gets its shallowest path; among equally deep ones the
// first in directory order). The walk stops as soon as every wanted inode has a path.
//
// Thread-safety: RecordRead and Snapshot may be called concurrently. The inodes are spread
// over kShards shards by number, each with its own mutex: a read takes one of those (no
// lock shared by every read of the mount); a global sequence number assigned at an inode's
// first read gives the order back in Snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/result.h"
#include "fs/rafs_fs.h"

namespace nydus::fs {

struct AccessRecord {
  uint64_t ino = 0;
  uint64_t nr_read = 0;                 // read requests seen for this inode
  uint64_t first_access_time_secs = 0;  // wall clock of the first read (as it returned)
  uint32_t first_access_time_nanos = 0;
  // Distinct kAccessBlock-sized blocks of the file that reads touched, times the block size:
  // how much of the file the workload needed (ours; lets a prefetch list leave out large
  // files that are read only sparsely).
  uint64_t bytes_touched = 0;
  // Which bytes those were: the touched blocks merged into maximal runs of consecutive
  // blocks, each [offset, length] in bytes (multiples of kAccessBlock), in offset order. The
  // last run may reach past the end of the file (its last block is partial): ClampRanges.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
};

// Granularity of AccessRecord::bytes_touched and ranges.
inline constexpr uint64_t kAccessBlock = 64 << 10;

// `ranges` (sorted and disjoint, as AccessRecord::ranges) cut to a file of `size` bytes: runs
// starting at or past `size` are dropped and a run reaching past it ends at `size`.
std::vector<std::pair<uint64_t, uint64_t>> ClampRanges(
    std::vector<std::pair<uint64_t, uint64_t>> ranges, uint64_t size);

class AccessRecorder {
 public:
  AccessRecorder() = default;
  AccessRecorder(const AccessRecorder&) = delete;
  AccessRecorder& operator=(const AccessRecorder&) = delete;

  // Counts one read request of inode `ino` that returned bytes [offset, offset + size) (size
  // 0 for a failed or past-EOF read: counted, no block touched); the first one fixes its
  // place and time.
  void RecordRead(uint64_t ino, uint64_t offset, uint64_t size);
  // Every inode read so far, in first-access order.
  std::vector<AccessRecord> Snapshot() const;
  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Slot {
    uint64_t seq = 0;  // first-access order across shards
    uint64_t nr_read = 0;
    uint64_t secs = 0;
    uint32_t nanos = 0;
    std::vector<bool> blocks;  // block i touched
    uint64_t touched = 0;      // set bits in `blocks`
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, Slot> slots;  // guarded by mu
  };
  static void Touch(Slot& s, uint64_t offset, uint64_t size);
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<size_t> count_{0};
};

// Absolute paths ("/usr/bin/python3") of the inodes in `inos` (RafsFs inode numbers; the
// root is kRootIno and maps to "/"). Inodes not found in the tree are absent from the result.
// Errors of the directory walk (a corrupt directory) pass through.
Result<std::unordered_map<uint64_t, std::string>> ResolvePaths(
    const RafsFs& fs, const std::unordered_set<uint64_t>& inos);

}  // namespace nydus::fs
