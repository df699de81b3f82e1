#include "builder/chunk_stream.h"

#include <algorithm>

namespace nydus::builder {
namespace {

// Same defaults as ChunkPipeline (chunk_pipeline.cc).
constexpr size_t kChunksPerWorker = 8;
constexpr size_t kMinWindowChunks = 16;
constexpr size_t kMaxWindowChunks = 64;
constexpr uint64_t kWindowBytes = 64ull << 20;

size_t DefaultWindow(uint32_t chunk_size, const ThreadPool* pool) {
  const size_t workers = pool ? pool->size() + 1 : 1;
  size_t window =
      std::clamp<size_t>(kChunksPerWorker * workers, kMinWindowChunks, kMaxWindowChunks);
  window = std::min<size_t>(window, kWindowBytes / std::max<uint32_t>(chunk_size, 1));
  return std::max<size_t>(window, std::max<size_t>(workers, 1));
}

}  // namespace

ChunkStream::ChunkStream(ChunkDict* dict, BlobWriter* writer, ThreadPool* pool, size_t window)
    : dict_(dict), writer_(writer), pool_(pool) {
  if (dict_ == nullptr || writer_ == nullptr) {
    failed_ = Status::InvalidArgument("chunk stream: dict and writer are required");
    return;
  }
  if (dict_->digester() != writer_->options().digester) {
    failed_ = Status::InvalidArgument("chunk stream: dict and blob writer digesters differ");
    return;
  }
  slots_.resize(window > 0 ? window : DefaultWindow(writer_->options().chunk_size, pool_));
}

Result<uint8_t*> ChunkStream::NextBuffer(meta::Inode* inode, uint64_t file_offset, uint32_t size) {
  RETURN_IF_ERROR(failed_);
  if (inode == nullptr || size == 0 || size > writer_->options().chunk_size) {
    return Status::InvalidArgument("chunk stream: bad chunk request");
  }
  if (used_ == slots_.size()) RETURN_IF_ERROR(Flush());
  Slot& slot = slots_[used_++];
  slot.inode = inode;
  slot.offset = file_offset;
  slot.buf.resize(size);
  slot.prepared.reset();
  slot.status = Status::OK();
  return slot.buf.data();
}

// Runs on a worker: digest and, unless the chunk is already known, compress. The dict is
// only read here (no commit runs concurrently).
void ChunkStream::Process(Slot* slot) const {
  const auto& opts = writer_->options();
  slot->digest = ComputeDigest(static_cast<DigestAlgo>(opts.digester), slot->buf);
  if (dict_->Contains(slot->digest, static_cast<uint32_t>(slot->buf.size()))) return;
  auto prepared = PrepareChunk(slot->buf, slot->digest, opts.compressor);
  if (!prepared.ok()) {
    slot->status = prepared.status();
    return;
  }
  slot->prepared = std::move(prepared).value();
}

Status ChunkStream::Commit(Slot* slot) {
  const auto size = static_cast<uint32_t>(slot->buf.size());
  meta::ChunkInfo info;
  if (const ChunkDict::Entry* entry = dict_->Find(slot->digest, size)) {
    ASSIGN_OR_RETURN(info, dict_->Use(*entry));
  } else {
    if (!slot->prepared.has_value()) {
      return Status::Internal("chunk stream: chunk at offset " + std::to_string(slot->offset) +
                              " was not prepared");
    }
    ASSIGN_OR_RETURN(uint32_t blob_index, dict_->NewBlobIndex());
    if (writer_->options().blob_index != blob_index) {
      RETURN_IF_ERROR(writer_->SetBlobIndex(blob_index));
    }
    ASSIGN_OR_RETURN(info, writer_->AddPreparedChunk(*slot->prepared));
    dict_->AddBuiltChunk(info);
  }
  info.file_offset = slot->offset;
  slot->inode->chunks.push_back(info);
  slot->prepared.reset();
  return Status::OK();
}

Status ChunkStream::Flush() {
  RETURN_IF_ERROR(failed_);
  const size_t n = used_;
  used_ = 0;
  auto fn = [this](size_t i) { Process(&slots_[i]); };
  if (pool_ == nullptr) {
    for (size_t i = 0; i < n; ++i) fn(i);
  } else {
    ParallelFor(*pool_, n, fn);
  }
  Status st;
  for (size_t i = 0; i < n && st.ok(); ++i) st = slots_[i].status;
  for (size_t i = 0; i < n && st.ok(); ++i) st = Commit(&slots_[i]);
  if (!st.ok()) failed_ = st;
  return st;
}

}  // namespace nydus::builder
