// The `<blob_id>.blob.meta` local CI copy (see blob_meta_file.h).

#include "storage/blob_meta_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "base/bytes.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "compress/compressor.h"

namespace nydus::storage {

namespace {

constexpr uint64_t kHeader = sizeof(format::BlobMetaHeader);

uint64_t FileSizeFor(const meta::BlobInfo& blob) {
  return RoundUp(blob.ci_uncompressed_size, 4096) + kHeader;
}

// Writes `data` to `path` through a temporary file in the same directory and a rename.
Status WriteAtomically(const std::string& path, ByteSpan data) {
  static std::atomic<uint64_t> seq{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(seq.fetch_add(1, std::memory_order_relaxed));
  Status st = WriteWholeFile(tmp, data);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp);
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

std::string BlobMetaPath(const std::string& work_dir, const std::string& blob_id) {
  return work_dir + "/" + blob_id + ".blob.meta";
}

Result<std::vector<format::ChunkCompressInfo>> DecodeBlobMetaFile(const meta::BlobInfo& blob,
                                                                  ByteSpan file) {
  if (file.size() != FileSizeFor(blob)) {
    return Status::Corruption("blob meta file is " + std::to_string(file.size()) +
                              " bytes, expected " + std::to_string(FileSizeFor(blob)));
  }
  uint64_t header_at = file.size() - kHeader;
  return meta::DecodeBlobChunkInfos(blob, file.subspan(0, blob.ci_uncompressed_size),
                                    file.subspan(header_at, kHeader));
}

Result<BlobMetaLoad> LoadOrFetchBlobMeta(const std::string& path, const meta::BlobInfo& blob,
                                         const meta::BlobReadFn& read) {
  BlobMetaLoad out;
  if (!path.empty()) {
    // Bounded by the size rule before reading anything.
    Result<Bytes> file = ReadWholeFile(path, FileSizeFor(blob));
    if (file.ok()) {
      auto ci = DecodeBlobMetaFile(blob, *file);
      if (ci.ok()) {
        out.ci = std::move(ci).value();
        return out;
      }
      LOG_WARN("{}: {}; fetching the CI array again", path, ci.status().ToString());
    } else if (file.status().code() != StatusCode::kNotFound) {
      LOG_WARN("{}: {}; fetching the CI array again", path, file.status().ToString());
    }
  }
  // Keep the raw bytes the reader fetches so that the copy can be written without a
  // second read; ReadBlobChunkInfos validates them before we use them.
  Bytes raw;
  auto capture = [&](uint64_t off, std::span<uint8_t> buf) -> Status {
    RETURN_IF_ERROR(read(off, buf));
    raw.assign(buf.begin(), buf.end());
    out.fetched_bytes += buf.size();
    return Status::OK();
  };
  ASSIGN_OR_RETURN(out.ci, meta::ReadBlobChunkInfos(blob, capture));
  out.fetched = true;
  if (path.empty()) return out;

  const uint64_t csize = blob.ci_compressed_size, usize = blob.ci_uncompressed_size;
  if (raw.size() != csize + kHeader) return out;  // not a single read: skip the copy
  Bytes file(FileSizeFor(blob), 0);
  if (blob.ci_compressor == format::Compressor::kNone) {
    std::copy(raw.begin(), raw.begin() + usize, file.begin());
  } else if (Status st = compress::Decompress(blob.ci_compressor, ByteSpan(raw.data(), csize),
                                              std::span<uint8_t>(file.data(), usize));
             !st.ok()) {
    return out;  // cannot happen: ReadBlobChunkInfos decompressed the same bytes
  }
  std::copy(raw.begin() + csize, raw.end(), file.end() - kHeader);
  if (Status st = WriteAtomically(path, file); !st.ok()) {
    LOG_WARN("cannot write {}: {}", path, st.ToString());
  }
  return out;
}

}  // namespace nydus::storage
