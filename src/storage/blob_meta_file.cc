// The `<blob_id>.blob.meta` local CI copy (see blob_meta_file.h).

#include "storage/blob_meta_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "compress/compressor.h"

namespace nydus::storage {

namespace {

constexpr uint64_t kHeader = sizeof(format::BlobMetaHeader);
constexpr char kTocBlobMeta[] = "blob.meta";
constexpr char kTocBlobMetaHeader[] = "blob.meta.header";

uint64_t FileSizeFor(const meta::BlobInfo& blob) {
  return RoundUp(blob.ci_uncompressed_size, 4096) + kHeader;
}

// `ci_data` (uncompressed) and `header` against the ToC's digests (see the header comment).
Status VerifyAgainstToc(const meta::BlobInfo& blob, const meta::BlobReadFn& read, ByteSpan ci_data,
                        ByteSpan header) {
  const bool pinned = blob.blob_toc_size != 0 && blob.blob_toc_digest != Digest{};
  Result<meta::BlobToc> toc = meta::ReadBlobToc(blob, read);
  if (!toc.ok()) {
    if (pinned) return toc.status().WithContext("blob meta: cannot verify the CI");
    LOG_WARN("blob {}: CI not verified against the ToC: {}", blob.blob_id, toc.status().ToString());
    return Status::OK();
  }
  struct Part {
    const char* name;
    ByteSpan data;
  };
  for (const Part& part : {Part{kTocBlobMeta, ci_data}, Part{kTocBlobMetaHeader, header}}) {
    const meta::TocEntryInfo* e = toc->Find(part.name);
    if (e == nullptr) {
      if (pinned) {
        return Status::Corruption(std::string("blob meta: the ToC has no \"") + part.name +
                                  "\" entry");
      }
      continue;
    }
    if (e->uncompressed_digest == Digest{}) continue;  // the reference skips zero digests too
    Digest got = Sha256(part.data);
    if (got != e->uncompressed_digest) {
      return Status::Corruption(std::string("blob meta: sha256 of \"") + part.name + "\" is " +
                                DigestHex(got) + ", the ToC says " +
                                DigestHex(e->uncompressed_digest));
    }
  }
  return Status::OK();
}

}  // namespace

std::string BlobMetaPath(const std::string& work_dir, const std::string& blob_id) {
  return work_dir + "/" + blob_id + ".blob.meta";
}

Status CheckCiLayout(const meta::BlobInfo& blob, std::span<const format::ChunkCompressInfo> ci) {
  if (blob.features & (format::kBlobSeparate | format::kBlobZran)) return Status::OK();
  uint64_t prev_end = 0;
  for (size_t i = 0; i < ci.size(); ++i) {
    if (ci[i].compressed_offset < prev_end) {
      return Status::Corruption("blob meta: chunk " + std::to_string(i) + " stored at " +
                                std::to_string(ci[i].compressed_offset) +
                                ", before the end of chunk " + std::to_string(i - 1) + " (" +
                                std::to_string(prev_end) + ")");
    }
    prev_end = ci[i].compressed_offset + ci[i].compressed_size;
  }
  return Status::OK();
}

Result<std::vector<format::ChunkCompressInfo>> DecodeBlobMetaFile(const meta::BlobInfo& blob,
                                                                  ByteSpan file) {
  if (file.size() != FileSizeFor(blob)) {
    return Status::Corruption("blob meta file is " + std::to_string(file.size()) +
                              " bytes, expected " + std::to_string(FileSizeFor(blob)));
  }
  uint64_t header_at = file.size() - kHeader;
  ASSIGN_OR_RETURN(auto ci,
                   meta::DecodeBlobChunkInfos(blob, file.subspan(0, blob.ci_uncompressed_size),
                                              file.subspan(header_at, kHeader)));
  RETURN_IF_ERROR(CheckCiLayout(blob, ci));
  return ci;
}

Result<std::vector<format::ChunkCompressInfo>> LoadOrFetchBlobMeta(const std::string& path,
                                                                   const meta::BlobInfo& blob,
                                                                   const meta::BlobReadFn& read) {
  if (!path.empty()) {
    // Bounded by the size rule before reading anything.
    Result<Bytes> file = ReadWholeFile(path, FileSizeFor(blob));
    if (file.ok()) {
      auto ci = DecodeBlobMetaFile(blob, *file);
      if (ci.ok()) return ci;
      LOG_WARN("{}: {}; fetching the CI array again", path, ci.status().ToString());
    } else if (file.status().code() != StatusCode::kNotFound) {
      LOG_WARN("{}: {}; fetching the CI array again", path, file.status().ToString());
    }
  }
  // The uncompressed image is needed only to check the ToC digests or to save a copy. Then
  // keep the raw bytes the reader fetches, so that no second read is needed;
  // ReadBlobChunkInfos validates them first.
  const bool has_toc = blob.features & format::kBlobHasToc;
  const bool keep = has_toc || !path.empty();
  Bytes raw;
  auto capture = [&](uint64_t off, std::span<uint8_t> buf) -> Status {
    RETURN_IF_ERROR(read(off, buf));
    if (keep) raw.assign(buf.begin(), buf.end());
    return Status::OK();
  };
  ASSIGN_OR_RETURN(std::vector<format::ChunkCompressInfo> out,
                   meta::ReadBlobChunkInfos(blob, capture));
  RETURN_IF_ERROR(CheckCiLayout(blob, out));
  if (!keep) return out;

  const uint64_t csize = blob.ci_compressed_size, usize = blob.ci_uncompressed_size;
  if (raw.size() != csize + kHeader) {
    return Status::Internal("blob meta: the CI was not read in one piece");
  }
  // The file image: uncompressed CI, zero padding, header.
  Bytes file(FileSizeFor(blob), 0);
  if (blob.ci_compressor == format::Compressor::kNone) {
    std::copy(raw.begin(), raw.begin() + usize, file.begin());
  } else if (Status st = compress::Decompress(blob.ci_compressor, ByteSpan(raw.data(), csize),
                                              std::span<uint8_t>(file.data(), usize));
             !st.ok()) {
    // ReadBlobChunkInfos decompressed the same bytes, so this cannot fail.
    return Status::Internal("blob meta: decompress CI again: " + st.message());
  }
  std::copy(raw.begin() + csize, raw.end(), file.end() - kHeader);
  if (has_toc) {
    RETURN_IF_ERROR(VerifyAgainstToc(blob, read, ByteSpan(file.data(), usize),
                                     ByteSpan(file.data() + file.size() - kHeader, kHeader)));
  }
  if (path.empty()) return out;
  if (Status st = WriteFileAtomically(path, file); !st.ok()) {
    LOG_WARN("cannot write {}: {}", path, st.ToString());
  }
  return out;
}

void RemoveBlobMetaFile(const std::string& path) {
  if (path.empty()) return;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    LOG_WARN("cannot remove {}: {}", path, Status::FromErrno(errno, "unlink").ToString());
  }
}

}  // namespace nydus::storage
