#include "builder/chunk_stream.h"

#include <algorithm>

namespace nydus::builder {
namespace {

// Same defaults as ChunkPipeline (chunk_pipeline.cc).
constexpr size_t kChunksPerWorker = 8;
constexpr size_t kMinWindowChunks = 16;
constexpr size_t kMaxWindowChunks = 64;
constexpr uint64_t kWindowBytes = 64ull << 20;
// Small chunks go to the pool in batches of about this many bytes (one task per chunk for
// chunks this size or larger), at most a quarter of the window per batch.
constexpr uint64_t kTaskBytes = 256 << 10;

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
  // Copied: workers must not read the writer's options while commits change blob_index.
  digester_ = writer_->options().digester;
  compressor_ = writer_->options().compressor;
  const uint32_t chunk_size = std::max<uint32_t>(writer_->options().chunk_size, 1);
  slots_.resize(window > 0 ? window : DefaultWindow(chunk_size, pool_));
  batch_ = std::clamp<size_t>(kTaskBytes / chunk_size, 1, std::max<size_t>(slots_.size() / 4, 1));
}

ChunkStream::~ChunkStream() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
}

Result<uint8_t*> ChunkStream::NextBuffer(meta::Inode* inode, uint64_t file_offset, uint32_t size) {
  RETURN_IF_ERROR(failed_);
  if (inode == nullptr || size == 0 || size > writer_->options().chunk_size) {
    return Status::InvalidArgument("chunk stream: bad chunk request");
  }
  // Every buffer handed out so far is filled now.
  const bool full = used_ == slots_.size();
  Submit(full);
  RETURN_IF_ERROR(CommitDone(full));
  Slot& slot = At(used_++);
  slot.inode = inode;
  slot.offset = file_offset;
  slot.buf.resize(size);
  slot.prepared.reset();
  slot.status = Status::OK();
  return slot.buf.data();
}

// Runs on a worker (or inline without a pool): digest and, unless the chunk is already
// known, compress.
void ChunkStream::Process(Slot* slot) {
  slot->digest = ComputeDigest(static_cast<DigestAlgo>(digester_), slot->buf);
  {
    std::lock_guard<std::mutex> lock(dict_mu_);
    if (dict_->Contains(slot->digest, static_cast<uint32_t>(slot->buf.size()))) return;
  }
  auto prepared = PrepareChunk(slot->buf, slot->digest, compressor_);
  if (!prepared.ok()) {
    slot->status = prepared.status();
    return;
  }
  slot->prepared = std::move(prepared).value();
}

void ChunkStream::Submit(bool force) {
  while (submitted_ < used_) {
    const size_t n = std::min(batch_, used_ - submitted_);
    if (n < batch_ && !force) return;
    const size_t first = (head_ + submitted_) % slots_.size();
    submitted_ += n;
    auto run = [this, first, n] {
      for (size_t i = 0; i < n; ++i) Process(&slots_[(first + i) % slots_.size()]);
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < n; ++i) slots_[(first + i) % slots_.size()].done = true;
      --in_flight_;
      cv_.notify_all();
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++in_flight_;
    }
    if (pool_ != nullptr) {
      pool_->Submit(run);
    } else {
      run();
    }
  }
}

Status ChunkStream::CommitDone(bool wait) {
  while (used_ > 0) {
    Slot& slot = At(0);
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wait) cv_.wait(lock, [&slot] { return slot.done; });
      if (!slot.done) break;
      slot.done = false;
    }
    wait = false;
    Status st = slot.status.ok() ? Commit(&slot) : slot.status;
    head_ = (head_ + 1) % slots_.size();
    --used_;
    --submitted_;
    if (!st.ok()) {
      failed_ = st;
      return st;
    }
  }
  return Status::OK();
}

Status ChunkStream::Commit(Slot* slot) {
  const auto size = static_cast<uint32_t>(slot->buf.size());
  meta::ChunkInfo info;
  std::unique_lock<std::mutex> lock(dict_mu_);
  if (const ChunkDict::Entry* entry = dict_->Find(slot->digest, size)) {
    ASSIGN_OR_RETURN(info, dict_->Use(*entry));
  } else {
    if (!slot->prepared.has_value()) {
      return Status::Internal("chunk stream: chunk at offset " + std::to_string(slot->offset) +
                              " was not prepared");
    }
    ASSIGN_OR_RETURN(uint32_t blob_index, dict_->NewBlobIndex());
    lock.unlock();  // the writer is the caller's alone
    if (writer_->options().blob_index != blob_index) {
      RETURN_IF_ERROR(writer_->SetBlobIndex(blob_index));
    }
    ASSIGN_OR_RETURN(info, writer_->AddPreparedChunk(*slot->prepared));
    lock.lock();
    dict_->AddBuiltChunk(info);
  }
  lock.unlock();
  info.file_offset = slot->offset;
  slot->inode->chunks.push_back(info);
  slot->prepared.reset();
  return Status::OK();
}

Status ChunkStream::Flush() {
  RETURN_IF_ERROR(failed_);
  Submit(/*force=*/true);
  while (used_ > 0) RETURN_IF_ERROR(CommitDone(/*wait=*/true));
  return Status::OK();
}

}  // namespace nydus::builder
