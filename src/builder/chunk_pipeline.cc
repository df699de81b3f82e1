#include "builder/chunk_pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <unordered_set>

#include "base/file_util.h"

namespace nydus::builder {
namespace {

// Default window: enough chunks to keep every worker busy, bounded in count and bytes.
constexpr size_t kChunksPerWorker = 8;
constexpr size_t kMinWindowChunks = 16;
constexpr size_t kMaxWindowChunks = 64;
constexpr uint64_t kWindowBytes = 64ull << 20;

using FileList = std::vector<std::pair<meta::Inode*, std::string>>;

// A source file open for positional reads; shared by the window slots reading it.
struct SourceFile {
  UniqueFd fd;
  std::string path;
};

// One chunk in flight.
struct Slot {
  std::shared_ptr<const SourceFile> file;
  meta::Inode* inode = nullptr;
  uint64_t offset = 0;  // in the file
  uint32_t size = 0;
  Bytes buf;  // uncompressed data (reused across windows)
  Digest digest{};
  std::optional<PreparedChunk> prepared;  // set when the chunk may have to be written
  Status status;
};

class Pipeline {
 public:
  Pipeline(const FileList& files, ChunkDict* dict, BlobWriter* writer, ThreadPool* pool,
           size_t window)
      : files_(files), dict_(dict), writer_(writer), pool_(pool), slots_(window) {}

  Status Run() {
    for (;;) {
      size_t n = 0;
      RETURN_IF_ERROR(FillWindow(&n));
      if (n == 0) return Status::OK();
      RunParallel(n);
      for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(slots_[i].status);
      for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(Commit(&slots_[i]));
    }
  }

 private:
  Status OpenNext(meta::Inode* inode, const std::string& path);
  Status FillWindow(size_t* n);
  void Process(Slot* slot) const;
  Status Commit(Slot* slot);

  void RunParallel(size_t n) {
    auto fn = [this](size_t i) { Process(&slots_[i]); };
    if (pool_ == nullptr) {
      for (size_t i = 0; i < n; ++i) fn(i);
    } else {
      ParallelFor(*pool_, n, fn);
    }
  }

  const FileList& files_;
  ChunkDict* dict_;
  BlobWriter* writer_;
  ThreadPool* pool_;
  std::vector<Slot> slots_;

  // Cursor over files and their chunks.
  size_t next_file_ = 0;
  std::shared_ptr<SourceFile> cur_;
  meta::Inode* cur_inode_ = nullptr;
  uint64_t cur_offset_ = 0;
  std::unordered_set<const meta::Inode*> seen_;
};

Status Pipeline::OpenNext(meta::Inode* inode, const std::string& path) {
  auto file = std::make_shared<SourceFile>();
  file->path = path;
  file->fd.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!file->fd.valid()) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(file->fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (!S_ISREG(st.st_mode)) return Status::IOError(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) != inode->size) {
    return Status::IOError(path + ": file size " + std::to_string(st.st_size) +
                           " differs from the recorded size " + std::to_string(inode->size) +
                           " (file changed during the build?)");
  }
  inode->chunks.clear();
  cur_ = std::move(file);
  cur_inode_ = inode;
  cur_offset_ = 0;
  return Status::OK();
}

Status Pipeline::FillWindow(size_t* n) {
  const uint64_t chunk_size = writer_->options().chunk_size;
  *n = 0;
  while (*n < slots_.size()) {
    if (cur_ == nullptr || cur_offset_ >= cur_inode_->size) {
      cur_.reset();
      if (next_file_ >= files_.size()) break;
      const auto& [inode, path] = files_[next_file_++];
      if (inode == nullptr) return Status::InvalidArgument("chunk pipeline: null inode");
      if (!seen_.insert(inode).second) continue;  // another name of a hardlinked inode
      RETURN_IF_ERROR(OpenNext(inode, path));
      continue;
    }
    Slot& slot = slots_[(*n)++];
    slot.file = cur_;
    slot.inode = cur_inode_;
    slot.offset = cur_offset_;
    slot.size = static_cast<uint32_t>(std::min(chunk_size, cur_inode_->size - cur_offset_));
    slot.prepared.reset();
    slot.status = Status::OK();
    cur_offset_ += slot.size;
  }
  return Status::OK();
}

// Runs on a worker: read, digest and, unless the chunk is already known, compress. The dict
// is only read here (no commit runs concurrently). A chunk repeated inside the window is
// compressed more than once; the commit keeps the first.
void Pipeline::Process(Slot* slot) const {
  slot->buf.resize(slot->size);
  slot->status = PreadFull(slot->file->fd.get(), slot->buf.data(), slot->size, slot->offset,
                           slot->file->path);
  if (!slot->status.ok()) return;
  const auto& opts = writer_->options();
  slot->digest = ComputeDigest(static_cast<DigestAlgo>(opts.digester), slot->buf);
  if (dict_->Contains(slot->digest, slot->size)) return;
  auto prepared = PrepareChunk(slot->buf, slot->digest, opts.compressor);
  if (!prepared.ok()) {
    slot->status = prepared.status().WithContext(slot->file->path);
    return;
  }
  slot->prepared = std::move(prepared).value();
}

Status Pipeline::Commit(Slot* slot) {
  meta::ChunkInfo info;
  if (const ChunkDict::Entry* entry = dict_->Find(slot->digest, slot->size)) {
    ASSIGN_OR_RETURN(info, dict_->Use(*entry));
  } else {
    if (!slot->prepared.has_value()) {
      return Status::Internal("chunk pipeline: " + slot->file->path + ": chunk at offset " +
                              std::to_string(slot->offset) + " was not prepared");
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
  slot->file.reset();  // closes the file once its last chunk is committed
  return Status::OK();
}

size_t WindowSize(const ChunkPipelineOptions& options, uint32_t chunk_size,
                  const ThreadPool* pool) {
  if (options.window_chunks > 0) return options.window_chunks;
  const size_t workers = pool ? pool->size() + 1 : 1;  // ParallelFor's caller works too
  size_t window = std::clamp<size_t>(kChunksPerWorker * workers, kMinWindowChunks,
                                     kMaxWindowChunks);
  window = std::min<size_t>(window, kWindowBytes / chunk_size);
  return std::max(window, workers);
}

}  // namespace

Status WriteFileData(const FileList& files_in_order, ChunkDict* dict, BlobWriter* writer,
                     ThreadPool* pool, const ChunkPipelineOptions& options) {
  if (dict == nullptr || writer == nullptr) {
    return Status::InvalidArgument("chunk pipeline: dict and writer are required");
  }
  if (dict->digester() != writer->options().digester) {
    return Status::InvalidArgument("chunk pipeline: dict and blob writer digesters differ");
  }
  Pipeline pipeline(files_in_order, dict, writer, pool,
                    WindowSize(options, writer->options().chunk_size, pool));
  return pipeline.Run();
}

}  // namespace nydus::builder
