// ChunkPipeline: turns regular files into chunks of one data blob (reference spec §3.0).
//
// Each file of `size` bytes is split into ceil(size / chunk_size) chunks, only the last one
// short; empty files have none. Chunks are read (pread), digested and — unless the dict
// already holds them — compressed in parallel on a thread pool, but committed strictly in
// file/chunk order: a chunk whose (digest, size) is in the ChunkDict (a --chunk-dict or
// parent chunk, or one written earlier in this build) is referenced and nothing is written;
// any other chunk is appended to the BlobWriter and added to the dict. The blob bytes are
// therefore identical for every thread count. Sparse files read back as zeros and their zero
// chunks deduplicate like any others.
//
// Memory is bounded: at most `window_chunks` chunks are in flight (read buffer + compressed
// copy each); files are never loaded whole.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "builder/blob_writer.h"
#include "builder/chunk_dict.h"
#include "meta/image.h"

namespace nydus::builder {

struct ChunkPipelineOptions {
  // Chunks in flight at once. 0: 8 per worker within [16, 64], at most 64 MiB of chunks,
  // at least one per worker.
  size_t window_chunks = 0;
};

// Writes the data of `files_in_order` (inode, source path), in that order, and sets each
// Inode::chunks (file order, with file_offset). An Inode listed twice (hardlinks) is done
// once. Chunk size, digester and compressor come from writer->options(); the first new chunk
// gets its blob index from dict->NewBlobIndex() (the writer must not have chunks with another
// index). `pool` may be null (everything runs on the calling thread).
// Errors: IOError naming the file when it cannot be read or its size differs from
// Inode::size; errors of the writer and the dict are passed through. The writer is left in
// a failed state on a write error; the caller abandons the build.
// REQUIRES: dict and writer non-null, dict->digester() == writer digester.
Status WriteFileData(const std::vector<std::pair<meta::Inode*, std::string>>& files_in_order,
                     ChunkDict* dict, BlobWriter* writer, ThreadPool* pool,
                     const ChunkPipelineOptions& options = {});

}  // namespace nydus::builder
