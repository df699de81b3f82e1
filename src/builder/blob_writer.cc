#include "builder/blob_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "compress/compressor.h"

namespace nydus::builder {
namespace {

constexpr size_t kBufferSize = 1 << 20;
// Blob id recorded by an inlined bootstrap; readers substitute the id from the file name.
constexpr char kInlinePlaceholderId[] =
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
// CI v1 stores the compressed offset in 40 bits and the uncompressed one in bits 12..43.
constexpr uint64_t kMaxCiCompressedOffset = 1ull << 40;
constexpr uint64_t kMaxCiUncompressedOffset = 1ull << 44;

// ToC entry names (reference storage/src/meta/toc.rs).
constexpr char kTocBlobRaw[] = "image.blob";
constexpr char kTocBlobMeta[] = "blob.meta";
constexpr char kTocBlobMetaHeader[] = "blob.meta.header";
constexpr char kTocBlobDigest[] = "blob.digest";
constexpr char kTocBootstrap[] = "image.boot";
constexpr char kTocBlobToc[] = "rafs.blob.toc";

Status ValidateOptions(const BlobWriterOptions& o) {
  if (o.fs_version != 5 && o.fs_version != 6) {
    return Status::InvalidArgument("blob writer: fs version must be 5 or 6, got " +
                                   std::to_string(o.fs_version));
  }
  if (!IsPowerOfTwo(o.chunk_size) || o.chunk_size < format::kMinChunkSize ||
      o.chunk_size > format::kMaxChunkSize) {
    return Status::InvalidArgument("blob writer: invalid chunk size " +
                                   std::to_string(o.chunk_size));
  }
  if (o.blob_toc && o.fs_version != 6) {
    return Status::InvalidArgument("blob writer: blob-toc requires RAFS v6");
  }
  if (o.blob_id.size() > 255) {
    return Status::InvalidArgument("blob writer: blob id longer than 255 characters");
  }
  return Status::OK();
}

Result<uint32_t> TocFlags(format::Compressor algo) {
  switch (algo) {
    case format::Compressor::kNone:
      return format::kTocFlagNone;
    case format::Compressor::kZstd:
      return format::kTocFlagZstd;
    case format::Compressor::kLz4Block:
      return format::kTocFlagLz4;
    default:
      break;
  }
  return Status::NotSupported(std::string("blob ToC cannot describe compressor ") +
                              format::CompressorName(algo));
}

// Compresses `in` with `algo`; empty result means "store raw" (the output did not shrink).
Result<Bytes> CompressIfSmaller(format::Compressor algo, ByteSpan in) {
  if (algo == format::Compressor::kNone || in.empty()) return Bytes();
  ASSIGN_OR_RETURN(Bytes out, compress::Compress(algo, in));
  if (out.size() >= in.size()) return Bytes();
  return out;
}

}  // namespace

Result<PreparedChunk> PrepareChunk(ByteSpan data, const Digest& digest, format::Compressor algo) {
  if (data.empty() || data.size() > format::kMaxChunkSize) {
    return Status::InvalidArgument("chunk size " + std::to_string(data.size()) + " out of range");
  }
  PreparedChunk chunk;
  chunk.digest = digest;
  chunk.uncompressed_size = static_cast<uint32_t>(data.size());
  ASSIGN_OR_RETURN(chunk.data, CompressIfSmaller(algo, data));
  chunk.compressed = !chunk.data.empty();
  if (!chunk.compressed) chunk.data.assign(data.begin(), data.end());
  return chunk;
}

Result<PreparedChunk> PrepareChunk(ByteSpan data, format::Digester digester,
                                   format::Compressor algo) {
  return PrepareChunk(data, ComputeDigest(static_cast<DigestAlgo>(digester), data), algo);
}

Result<std::unique_ptr<BlobWriter>> BlobWriter::Create(const std::string& path,
                                                       const BlobWriterOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  struct stat st;
  bool fifo = ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
  int flags = O_WRONLY | O_CLOEXEC | (fifo ? 0 : O_CREAT | O_TRUNC);
  UniqueFd fd(::open(path.c_str(), flags, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "open blob " + path);
  return std::unique_ptr<BlobWriter>(new BlobWriter(std::move(fd), path, options));
}

Result<std::unique_ptr<BlobWriter>> BlobWriter::CreateForFd(UniqueFd fd, std::string name,
                                                            const BlobWriterOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  if (!fd.valid()) return Status::InvalidArgument("blob writer: invalid descriptor");
  return std::unique_ptr<BlobWriter>(new BlobWriter(std::move(fd), std::move(name), options));
}

BlobWriter::BlobWriter(UniqueFd fd, std::string name, const BlobWriterOptions& options)
    : fd_(std::move(fd)),
      name_(std::move(name)),
      options_(options),
      blob_hash_(NewHasher(DigestAlgo::kSha256)),
      data_hash_(NewHasher(DigestAlgo::kSha256)) {
  buf_.reserve(kBufferSize);
}

BlobWriter::~BlobWriter() = default;

Status BlobWriter::SetBlobIndex(uint32_t blob_index) {
  if (chunk_count_ != 0) {
    return Status::Internal(name_ + ": blob index changed after chunks were added");
  }
  options_.blob_index = blob_index;
  return Status::OK();
}

Status BlobWriter::CheckState(State want, const char* op) const {
  if (state_ == State::kFailed) return error_;
  if (state_ != want) return Status::Internal(name_ + ": " + op + " called out of order");
  return Status::OK();
}

Status BlobWriter::Write(ByteSpan data, bool hashed) {
  if (hashed) blob_hash_->Update(data);
  pos_ += data.size();
  Status st;
  if (buf_.size() + data.size() > kBufferSize) st = Flush();
  if (st.ok()) {
    if (data.size() >= kBufferSize) {
      st = WriteFull(fd_.get(), data.data(), data.size(), "blob " + name_);
    } else {
      buf_.insert(buf_.end(), data.begin(), data.end());
    }
  }
  if (!st.ok()) {
    state_ = State::kFailed;
    error_ = st;
  } else if (options_.tee) {
    options_.tee(data);
  }
  return st;
}

Status BlobWriter::Flush() {
  if (buf_.empty()) return Status::OK();
  Status st = WriteFull(fd_.get(), buf_.data(), buf_.size(), "blob " + name_);
  buf_.clear();
  if (!st.ok()) {
    state_ = State::kFailed;
    error_ = st;
  }
  return st;
}

Status BlobWriter::WriteTarHeader(const char* name, uint64_t size) {
  uint8_t header[format::kTarHeaderSize];
  format::MakeReverseTarHeader(name, size, header);
  return Write(ByteSpan(header, sizeof(header)), /*hashed=*/true);
}

Result<meta::ChunkInfo> BlobWriter::AddChunk(ByteSpan data) {
  RETURN_IF_ERROR(CheckState(State::kData, "AddChunk"));
  ASSIGN_OR_RETURN(PreparedChunk chunk, PrepareChunk(data, options_.digester, options_.compressor));
  return AddPreparedChunk(chunk);
}

Result<meta::ChunkInfo> BlobWriter::AddPreparedChunk(const PreparedChunk& chunk) {
  RETURN_IF_ERROR(CheckState(State::kData, "AddChunk"));
  const uint32_t usize = chunk.uncompressed_size;
  if (usize == 0 || usize > options_.chunk_size) {
    return Status::InvalidArgument(name_ + ": chunk size " + std::to_string(usize) + " not in 1.." +
                                   std::to_string(options_.chunk_size));
  }
  if (chunk.data.empty() ||
      (chunk.compressed ? chunk.data.size() >= usize : chunk.data.size() != usize)) {
    return Status::InvalidArgument(name_ + ": prepared chunk data size " +
                                   std::to_string(chunk.data.size()) +
                                   " inconsistent with uncompressed size " + std::to_string(usize));
  }
  if (chunk_count_ >= format::kMaxChunksPerBlob) {
    return Status::OutOfRange(name_ + ": more than " + std::to_string(format::kMaxChunksPerBlob) +
                              " chunks in a blob");
  }
  if (options_.fs_version == 6 && (data_size_ + chunk.data.size() > kMaxCiCompressedOffset ||
                                   uncompressed_size_ + usize > kMaxCiUncompressedOffset)) {
    return Status::OutOfRange(name_ + ": blob too large for the CI array");
  }
  meta::ChunkInfo info;
  info.digest = chunk.digest;
  info.blob_index = options_.blob_index;
  info.flags = chunk.compressed ? uint32_t{format::kChunkCompressed} : 0u;
  info.compressed_size = static_cast<uint32_t>(chunk.data.size());
  info.uncompressed_size = usize;
  info.compressed_offset = data_size_;
  info.uncompressed_offset = uncompressed_size_;
  info.index = chunk_count_;

  RETURN_IF_ERROR(Write(chunk.data, /*hashed=*/true));
  // The image.blob ToC digest is the only user of data_hash_: without a ToC, no second
  // SHA-256 pass over the chunk data.
  if (options_.blob_toc) data_hash_->Update(chunk.data);
  if (options_.fs_version == 6) {
    format::ChunkCompressInfo ci;
    ci.compressed_offset = info.compressed_offset;
    ci.compressed_size = info.compressed_size;
    ci.uncompressed_offset = info.uncompressed_offset;
    ci.uncompressed_size = usize;
    ci.compressed = chunk.compressed;
    uint8_t record[format::kCiV1Size];
    format::EncodeCiV1(ci, record);
    ci_.insert(ci_.end(), record, record + sizeof(record));
  }
  if (options_.blob_toc) digests_.insert(digests_.end(), chunk.digest.begin(), chunk.digest.end());
  ++chunk_count_;
  data_size_ += chunk.data.size();
  uncompressed_size_ += aligned() ? RoundUp(usize, format::kBlockSize) : usize;
  return info;
}

uint32_t BlobWriter::BlobFeatures() const {
  uint32_t f = format::kBlobCapTarToc | options_.extra_features;
  if (options_.inline_meta) f |= format::kBlobInlinedFsMeta | format::kBlobHasTarHeader;
  if (options_.blob_toc) f |= format::kBlobHasToc | format::kBlobHasTarHeader;
  // The reference sets these in the blob.meta header, which only v6 blobs with chunks have.
  if (options_.fs_version == 6 && chunk_count_ > 0) {
    f |= format::kBlobAligned;
    if (options_.blob_toc) f |= format::kBlobInlinedChunkDigest;
  }
  return f;
}

Status BlobWriter::AddTocEntry(const char* name, format::Compressor algo, const Digest& digest,
                               uint64_t offset, uint64_t compressed_size,
                               uint64_t uncompressed_size) {
  format::TocEntry e;
  std::memset(&e, 0, sizeof(e));
  ASSIGN_OR_RETURN(e.flags, TocFlags(algo));
  std::memcpy(e.name, name, std::strlen(name));  // names are at most 16 bytes
  std::memcpy(e.uncompressed_digest, digest.data(), digest.size());
  e.compressed_offset = offset;
  e.compressed_size = compressed_size;
  e.uncompressed_size = uncompressed_size;
  toc_.push_back(e);
  return Status::OK();
}

Status BlobWriter::WriteBlobMeta() {
  ci_offset_ = pos_;
  ASSIGN_OR_RETURN(Bytes packed, CompressIfSmaller(options_.compressor, ci_));
  ci_compressor_ = packed.empty() ? format::Compressor::kNone : options_.compressor;
  ByteSpan ci_data = packed.empty() ? ByteSpan(ci_) : ByteSpan(packed);
  ci_compressed_size_ = ci_data.size();
  header_features_ = BlobFeatures();

  format::BlobMetaHeader h;
  std::memset(&h, 0, sizeof(h));
  h.s_magic = format::kBlobMetaMagic;
  h.s_features = header_features_;
  h.s_ci_compressor = static_cast<uint32_t>(ci_compressor_);
  h.s_ci_entries = chunk_count_;
  h.s_ci_offset = ci_offset_;
  h.s_ci_compressed_size = ci_compressed_size_;
  h.s_ci_uncompressed_size = ci_.size();
  h.s_magic2 = format::kBlobMetaMagic;
  ByteSpan header(reinterpret_cast<const uint8_t*>(&h), sizeof(h));

  RETURN_IF_ERROR(Write(ci_data, true));
  RETURN_IF_ERROR(Write(header, true));
  if (tar_headers()) {
    RETURN_IF_ERROR(WriteTarHeader(kTocBlobMeta, ci_compressed_size_ + header.size()));
  }
  if (!options_.blob_toc) return Status::OK();
  RETURN_IF_ERROR(AddTocEntry(kTocBlobMeta, ci_compressor_, Sha256(ci_), ci_offset_,
                              ci_compressed_size_, ci_.size()));
  RETURN_IF_ERROR(AddTocEntry(kTocBlobMetaHeader, format::Compressor::kNone, Sha256(header),
                              ci_offset_ + ci_compressed_size_, header.size(), header.size()));
  return WriteDigestArray();
}

Status BlobWriter::WriteDigestArray() {
  const uint64_t offset = pos_;
  // Reference quirk: the digest array is not part of the blob-id hash; its header is.
  RETURN_IF_ERROR(Write(digests_, /*hashed=*/false));
  RETURN_IF_ERROR(WriteTarHeader(kTocBlobDigest, digests_.size()));
  return AddTocEntry(kTocBlobDigest, format::Compressor::kNone, Sha256(digests_), offset,
                     digests_.size(), digests_.size());
}

Status BlobWriter::WriteBootstrap(ByteSpan bootstrap) {
  const uint64_t offset = pos_;
  Bytes packed;
  if (options_.blob_toc) {
    ASSIGN_OR_RETURN(packed, CompressIfSmaller(format::Compressor::kZstd, bootstrap));
  }
  ByteSpan data = packed.empty() ? bootstrap : ByteSpan(packed);
  RETURN_IF_ERROR(Write(data, true));
  RETURN_IF_ERROR(WriteTarHeader(kTocBootstrap, data.size()));
  if (!options_.blob_toc) return Status::OK();
  return AddTocEntry(kTocBootstrap,
                     packed.empty() ? format::Compressor::kNone : format::Compressor::kZstd,
                     Sha256(bootstrap), offset, data.size(), bootstrap.size());
}

Status BlobWriter::WriteToc() {
  if (!options_.blob_toc) return Status::OK();
  Bytes table;
  for (const auto& e : toc_) AppendPod(&table, e);
  uint8_t header[format::kTarHeaderSize];
  format::MakeReverseTarHeader(kTocBlobToc, table.size(), header);
  RETURN_IF_ERROR(Write(table, true));
  RETURN_IF_ERROR(Write(ByteSpan(header, sizeof(header)), true));
  auto hasher = NewHasher(DigestAlgo::kSha256);
  hasher->Update(table);
  hasher->Update(ByteSpan(header, sizeof(header)));
  toc_digest_ = hasher->Finish();
  toc_size_ = static_cast<uint32_t>(table.size() + sizeof(header));
  return Status::OK();
}

Result<meta::BlobInfo> BlobWriter::FinishData() {
  RETURN_IF_ERROR(CheckState(State::kData, "FinishData"));
  state_ = State::kMeta;
  if (chunk_count_ > 0) {
    if (tar_headers()) {
      uint8_t header[format::kTarHeaderSize];
      format::MakeReverseTarHeader(kTocBlobRaw, data_size_, header);
      RETURN_IF_ERROR(Write(ByteSpan(header, sizeof(header)), true));
      // The image.blob digest covers the chunk data plus its tar header (fixture-verified).
      if (options_.blob_toc) {
        data_hash_->Update(ByteSpan(header, sizeof(header)));
        RETURN_IF_ERROR(AddTocEntry(kTocBlobRaw, format::Compressor::kNone, data_hash_->Finish(), 0,
                                    data_size_, uncompressed_size_));
      }
    }
    if (options_.fs_version == 6) RETURN_IF_ERROR(WriteBlobMeta());
  }
  if (options_.inline_meta) {
    blob_id_ = options_.blob_id.empty() ? kInlinePlaceholderId : options_.blob_id;
    return MakeBlobInfo();
  }
  if (chunk_count_ > 0) RETURN_IF_ERROR(WriteToc());
  RETURN_IF_ERROR(Flush());
  blob_id_ = options_.blob_id;
  if (blob_id_.empty() && chunk_count_ > 0) blob_id_ = DigestHex(blob_hash_->Finish());
  return MakeBlobInfo();
}

Result<meta::BlobInfo> BlobWriter::Finish(ByteSpan bootstrap) {
  if (state_ == State::kData) RETURN_IF_ERROR(FinishData().status());
  RETURN_IF_ERROR(CheckState(State::kMeta, "Finish"));
  if (options_.inline_meta) {
    if (bootstrap.empty()) {
      return Status::InvalidArgument(name_ + ": inline-meta blob needs the bootstrap");
    }
    RETURN_IF_ERROR(WriteBootstrap(bootstrap));
    RETURN_IF_ERROR(WriteToc());
    blob_id_ = options_.blob_id.empty() ? DigestHex(blob_hash_->Finish()) : options_.blob_id;
  } else if (!bootstrap.empty()) {
    return Status::InvalidArgument(name_ + ": bootstrap given to a blob without inline-meta");
  }
  RETURN_IF_ERROR(Flush());
  state_ = State::kDone;
  if (::close(fd_.Release()) != 0) return Status::FromErrno(errno, "close blob " + name_);
  return MakeBlobInfo();
}

void BlobWriter::Abandon() {
  state_ = State::kAbandoned;
  buf_.clear();
  fd_.Reset();
}

meta::BlobInfo BlobWriter::MakeBlobInfo() const {
  meta::BlobInfo b;
  b.blob_id = blob_id_;
  b.chunk_count = chunk_count_;
  b.features = BlobFeatures();
  b.compressor = options_.compressor;
  b.digester = options_.digester;
  b.chunk_size = options_.chunk_size;
  b.compressed_size = pos_;
  b.uncompressed_size = uncompressed_size_;
  if (options_.fs_version == 6 && chunk_count_ > 0) {
    b.ci_compressor = ci_compressor_;
    b.ci_offset = ci_offset_;
    b.ci_compressed_size = ci_compressed_size_;
    b.ci_uncompressed_size = ci_.size();
  }
  b.blob_toc_size = toc_size_;
  b.blob_toc_digest = toc_digest_;
  return b;
}

}  // namespace nydus::builder
