// ChunkStream: the chunk pipeline for data that arrives as a stream (a tar entry's bytes),
// where the files cannot be re-read by offset as ChunkPipeline (chunk_pipeline.h) does.
//
// The caller asks for one buffer per chunk, in file/chunk order (NextBuffer), and fills it
// from its stream; the chunks are cut exactly like the directory source cuts them: chunk i of
// a file covers bytes [i*chunk_size, min(size, (i+1)*chunk_size)). When `window` buffers are
// filled they are digested and, unless the dict holds them, compressed in parallel on the
// pool, then committed strictly in request order: a chunk found in the ChunkDict is
// referenced, any other one is appended to the BlobWriter and added to the dict — the same
// rules and therefore the same chunks as ChunkPipeline. Blob bytes do not depend on the
// thread count.
//
// Memory is bounded by the window (at most `window` chunk buffers plus their compressed
// copies); files are never held whole.
//
// Ownership: borrows dict, writer and pool (all must outlive the stream). Inodes passed to
// NextBuffer must stay alive until Flush() returns; their `chunks` get appended in order.
// Thread-safety: one caller thread.
#pragma once

#include <cstddef>
#include <cstdint>
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
  // REQUIRES: dict and writer non-null, same digester.
  ChunkStream(ChunkDict* dict, BlobWriter* writer, ThreadPool* pool, size_t window = 0);
  ChunkStream(const ChunkStream&) = delete;
  ChunkStream& operator=(const ChunkStream&) = delete;

  // A buffer of `size` bytes for the chunk of `inode` starting at `file_offset`; the caller
  // fills it completely before the next call. May first process and commit the full window
  // (errors of that are returned). REQUIRES: 1 <= size <= chunk size.
  Result<uint8_t*> NextBuffer(meta::Inode* inode, uint64_t file_offset, uint32_t size);
  // Processes and commits every requested chunk. Call once at the end of the stream.
  Status Flush();

  uint32_t chunk_size() const { return writer_->options().chunk_size; }

 private:
  struct Slot {
    meta::Inode* inode = nullptr;
    uint64_t offset = 0;
    Bytes buf;
    Digest digest{};
    std::optional<PreparedChunk> prepared;
    Status status;
  };
  void Process(Slot* slot) const;
  Status Commit(Slot* slot);

  ChunkDict* dict_;
  BlobWriter* writer_;
  ThreadPool* pool_;
  std::vector<Slot> slots_;
  size_t used_ = 0;
  Status failed_;  // sticky: after an error every call returns it
};

}  // namespace nydus::builder
