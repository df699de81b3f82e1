#include "builder/export_block.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <utility>

#include "base/bytes.h"
#include "base/file_util.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"

namespace nydus::builder {
namespace {

constexpr uint64_t kBlock = 4096;

std::string BaseName(const std::string& p) {
  const size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Sets mapped_blkaddr in every device slot of `boot`; returns the end of the last blob.
Result<uint64_t> MapDevices(Bytes* boot, const meta::Image& image, std::vector<uint32_t>* out) {
  uint64_t pos = boot->size();
  for (size_t i = 0; i < image.blobs.size(); ++i) {
    const uint64_t slot = format::kV6DeviceTableOffset + i * sizeof(format::RafsV6Device);
    if (!RangeInside(slot, sizeof(format::RafsV6Device), boot->size())) {
      return Status::Corruption("export: device table slot " + std::to_string(i) +
                                " beyond the bootstrap");
    }
    format::RafsV6Device dev;
    ReadPod(ByteSpan(boot->data(), boot->size()), slot, &dev);
    const uint64_t mapped = RoundUp(pos, kBlockSegAlignment) / kBlock;
    const uint64_t blocks = dev.blocks;
    if (mapped + blocks > UINT32_MAX) return Status::OutOfRange("export: image too large");
    dev.mapped_blkaddr = static_cast<uint32_t>(mapped);
    std::memcpy(boot->data() + slot, &dev, sizeof(dev));
    out->push_back(static_cast<uint32_t>(mapped));
    pos = (mapped + blocks) * kBlock;
  }
  return pos;
}

Status PwriteAll(int fd, const uint8_t* p, size_t len, uint64_t off, const std::string& what) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno(n < 0 ? errno : EIO, "export: write " + what);
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Result<ExportBlockResult> ExportBlock(const ExportBlockOptions& opts) {
  ExportBlockResult res;
  res.output_path = opts.output_path;
  if (res.output_path.empty()) {
    if (opts.blob_dir.empty()) return Status::InvalidArgument("export: missing --output");
    res.output_path = opts.blob_dir + "/" + BaseName(opts.bootstrap_path) + ".disk";
  }
  ASSIGN_OR_RETURN(Bytes boot, ReadWholeFile(opts.bootstrap_path));
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrap(ByteSpan(boot.data(), boot.size())));
  if (!image.IsV6()) return Status::NotSupported("export --block needs a RAFS v6 bootstrap");
  if (boot.size() % kBlock != 0) return Status::Corruption("export: bootstrap not 4K-aligned");
  ASSIGN_OR_RETURN(uint64_t end, MapDevices(&boot, image, &res.mapped_blkaddr));
  res.size = end;

  storage::LocalfsConfig lc;
  lc.dir = opts.blob_dir;
  std::unique_ptr<storage::BlobBackend> backend;
  std::unique_ptr<storage::ChunkReader> reader;
  if (!image.blobs.empty()) {
    ASSIGN_OR_RETURN(backend, storage::NewLocalfsBackend(lc));
    storage::ChunkReaderOptions ro;
    ro.validate_digest = opts.validate_digest;
    ro.cache_bytes = 8ull << 20;
    reader = std::make_unique<storage::ChunkReader>(image, backend.get(), ro);
  }

  UniqueFd fd(::open(res.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "export: create " + res.output_path);
  RETURN_IF_ERROR(WriteFull(fd.get(), boot.data(), boot.size(), res.output_path));
  if (::ftruncate(fd.get(), static_cast<off_t>(end)) != 0) {
    return Status::FromErrno(errno, "export: truncate " + res.output_path);
  }
  std::set<std::pair<uint32_t, uint32_t>> done;  // (blob_index, chunk index)
  Status st;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string& path) {
    for (const meta::ChunkInfo& c : n.inode->chunks) {
      if (!done.emplace(c.blob_index, c.index).second) continue;
      if (c.blob_index >= res.mapped_blkaddr.size()) {
        st = Status::Corruption("export: " + path + ": chunk of unknown blob");
        return false;
      }
      const uint64_t at = res.mapped_blkaddr[c.blob_index] * kBlock + c.uncompressed_offset;
      if (at + c.uncompressed_size > end) {
        st = Status::Corruption("export: " + path + ": chunk beyond its blob's blocks");
        return false;
      }
      auto data = reader->ReadChunk(c);
      if (!data.ok()) {
        st = data.status().WithContext("export: " + path);
        return false;
      }
      st = PwriteAll(fd.get(), (*data)->data(), (*data)->size(), at, res.output_path);
      if (!st.ok()) return false;
      ++res.chunks;
    }
    return true;
  });
  RETURN_IF_ERROR(st);
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "export: fsync");
  return res;
}

}  // namespace nydus::builder
