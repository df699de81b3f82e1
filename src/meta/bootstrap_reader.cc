// Version dispatch and helpers shared by the v5 and v6 decoders.

#include "meta/bootstrap_reader.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "base/file_util.h"
#include "format/rafs.h"
#include "format/v6.h"
#include "meta/bootstrap_reader_internal.h"

namespace nydus::meta {

namespace internal {

void SetImageSettings(uint32_t version, uint64_t flags, uint32_t chunk_size, Image* image) {
  image->version = version;
  image->flags = flags;
  image->chunk_size = chunk_size;
  image->compressor = format::CompressorFromFlags(flags);
  image->digester = format::DigesterFromFlags(flags);
  image->explicit_uidgid = flags & format::kFlagExplicitUidGid;
}

std::string StrFormat(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, ap2);
  va_end(ap2);
  return out;
}

Status Corrupt(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return Status::Corruption(buf);
}

Status ValidateEntryName(std::string_view name) {
  if (name.empty()) return Status::Corruption("empty name");
  if (name.size() > format::kMaxNameLen) {
    return Status::Corruption(StrFormat("name length %zu exceeds 255", name.size()));
  }
  for (char c : name) {
    if (c == '/') return Status::Corruption("name contains '/'");
    if (c == '\0') return Status::Corruption("name contains NUL");
  }
  return Status::OK();
}

Status SortXattrs(std::vector<Xattr>* xattrs) {
  std::sort(xattrs->begin(), xattrs->end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  for (size_t i = 1; i < xattrs->size(); ++i) {
    if ((*xattrs)[i].name == (*xattrs)[i - 1].name) {
      return Status::Corruption("duplicate xattr " + (*xattrs)[i].name);
    }
  }
  return Status::OK();
}

ChunkInfo ChunkFromRecord(const format::RafsV5ChunkInfo& rec) {
  ChunkInfo c;
  std::copy(std::begin(rec.block_id), std::end(rec.block_id), c.digest.begin());
  c.blob_index = rec.blob_index;
  c.flags = rec.flags;
  c.compressed_size = rec.compressed_size;
  c.uncompressed_size = rec.uncompressed_size;
  c.compressed_offset = rec.compressed_offset;
  c.uncompressed_offset = rec.uncompressed_offset;
  c.file_offset = rec.file_offset;
  c.index = rec.index;
  return c;
}

PathByKey FirstPaths(const Node& root, bool by_nid) {
  PathByKey paths;
  WalkTree(root, [&](const Node& node, const std::string& path) {
    paths.emplace(by_nid ? node.inode->nid : node.inode->ino, path);
    return true;
  });
  return paths;
}

uint32_t ExpectedChunkSize(uint64_t size, uint32_t chunk_size, uint64_t i) {
  if (i >= ChunkCount(size, chunk_size)) return 0;
  uint64_t start = i * chunk_size;
  return static_cast<uint32_t>(std::min<uint64_t>(chunk_size, size - start));
}

}  // namespace internal

Result<Image> ReadBootstrap(ByteSpan data, const ReadOptions& opts) {
  if (data.size() > format::kMaxMetadataSize) {
    return Status::Corruption(
        internal::StrFormat("bootstrap size %zu exceeds the 2 GiB metadata limit", data.size()));
  }
  if (data.size() >= 4 && LoadLE32(data.data()) == format::kRafsV5Magic) {
    return internal::ReadBootstrapV5(data, opts);
  }
  if (data.size() >= format::kV6SuperBlockOffset + 4 &&
      LoadLE32(data.data() + format::kV6SuperBlockOffset) == format::kErofsMagic) {
    return internal::ReadBootstrapV6(data, opts);
  }
  return Status::Corruption(internal::StrFormat(
      "not a RAFS bootstrap (%zu bytes): no v5 magic at 0 and no EROFS magic at 1024",
      data.size()));
}

Result<Image> ReadBootstrapFile(const std::string& path, const ReadOptions& opts) {
  ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path, format::kMaxMetadataSize));
  auto image = ReadBootstrap(data, opts);
  if (!image.ok()) return image.status().WithContext(path);
  return image;
}

}  // namespace nydus::meta
