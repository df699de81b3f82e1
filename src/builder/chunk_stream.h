// ChunkStream: the chunk pipeline for data that arrives as a stream (a tar entry's bytes),
// where the files cannot be re-read by offset as ChunkPipeline (chunk_pipeline.h) does.
//
// The caller asks for one buffer per chunk, in file/chunk order (NextBuffer), and fills it
// from its stream; the chunks are cut exactly like the directory source cuts them: chunk i of
// a file covers bytes [i*chunk_size, min(size, (i+1)*chunk_size)).
//
// Pipelining: the buffers form a ring of `window` slots. A filled buffer is handed to the
// pool at once (in small batches when chunks are small) to be digested and, unless the dict
// already holds it, compressed, while the caller goes on reading (inflating, parsing) into
// the next free slot. The caller commits finished slots strictly in request order, oldest
// first, as they complete; it waits only when every slot is in use. Commit rules are those of
// ChunkPipeline: a chunk found in the ChunkDict at commit time (from a parent or chunk-dict
// bootstrap, or written earlier by this stream, even a moment earlier in the same window) is
// referenced; any other one is appended to the BlobWriter and added to the dict. Commit
// order and dict contents at each commit are the same whatever the thread count, window or
// timing, so the blob and the chunk records are too. (Workers look into the dict only to
// skip compressing chunks that are surely duplicates; a duplicate they miss because its
// first copy is not committed yet is compressed and then dropped at commit.)
//
// Memory: at most `window` chunk buffers (chunk_size bytes each) plus, per slot, its
// compressed copy (at most CompressBound(chunk_size)); files are never held whole. With the
// default window that is <= 64 chunks and <= 64 MiB of chunk buffers (+ compressed copies).
//
// Ownership: borrows dict, writer and pool (all must outlive the stream). Inodes passed to
// NextBuffer must stay alive until Flush() returns; their `chunks` get appended in order.
// The destructor waits for work still running on the pool (after an error, or when Flush()
// was not called); nothing is committed then.
// Thread-safety: one caller thread; the stream itself uses the pool. While the stream is
// alive, nobody else may touch the dict or the writer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "builder/blob_writer.h"
#include "builder/chunk_dict.h"
#include "meta/image.h"

namespace nydus::builder {

class ChunkStream {
 public:
  // window 0: the ChunkPipeline default (8 per worker within [16, 64], at most 64 MiB).
  // pool may be null: chunks are then processed on the caller's thread.
  // REQUIRES: dict and writer non-null, same digester.
  ChunkStream(ChunkDict* dict, BlobWriter* writer, ThreadPool* pool, size_t window = 0);
  ~ChunkStream();
  ChunkStream(const ChunkStream&) = delete;
  ChunkStream& operator=(const ChunkStream&) = delete;

  // A buffer of `size` bytes for the chunk of `inode` starting at `file_offset`; the caller
  // fills it completely before the next call. Commits the chunks that are done, first
  // waiting for the oldest when every slot is in use (errors of that are returned).
  // REQUIRES: 1 <= size <= chunk size.
  Result<uint8_t*> NextBuffer(meta::Inode* inode, uint64_t file_offset, uint32_t size);
  // Processes and commits every requested chunk. Call once at the end of the stream.
  Status Flush();

  uint32_t chunk_size() const { return writer_->options().chunk_size; }
  size_t window() const { return slots_.size(); }

 private:
  struct Slot {
    meta::Inode* inode = nullptr;
    uint64_t offset = 0;
    Bytes buf;
    Digest digest{};
    std::optional<PreparedChunk> prepared;
    Status status;
    bool done = false;  // guarded by mu_: processed, ready to commit
  };
  void Process(Slot* slot);
  Status Commit(Slot* slot);
  // Hands the filled, not yet submitted slots to the pool: all of them when `force`, else
  // only whole batches.
  void Submit(bool force);
  // Commits done slots from the oldest on; with `wait`, first waits for the oldest.
  Status CommitDone(bool wait);
  Slot& At(size_t i) { return slots_[(head_ + i) % slots_.size()]; }

  ChunkDict* dict_;
  BlobWriter* writer_;
  ThreadPool* pool_;
  format::Digester digester_ = format::Digester::kBlake3;
  format::Compressor compressor_ = format::Compressor::kNone;
  std::vector<Slot> slots_;  // the ring
  size_t batch_ = 1;         // slots per pool task
  size_t head_ = 0;          // ring index of the oldest uncommitted slot
  size_t used_ = 0;          // slots handed out and not committed: head_ .. head_+used_-1
  size_t submitted_ = 0;     // of those, the first `submitted_` went to the pool
  Status failed_;            // sticky: after an error every call returns it

  std::mutex mu_;               // guards Slot::done and in_flight_
  std::condition_variable cv_;  // a task finished
  size_t in_flight_ = 0;        // pool tasks not finished
  std::mutex dict_mu_;          // workers' Contains() against the caller's commits
};

}  // namespace nydus::builder
