#include "builder/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "base/logging.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_backend.h"

namespace nydus::builder {
namespace {

constexpr size_t kCopyBuffer = 1 << 20;

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

Status ArchiveError(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Status::IOError("unpack: " + what + ": " + (msg ? msg : "libarchive error"));
}

// Fills the attributes shared by every entry kind.
void SetCommon(struct archive_entry* e, const std::string& path, const meta::Inode& in) {
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_uid(e, in.uid);
  archive_entry_set_gid(e, in.gid);
  archive_entry_set_perm(e, in.mode & 07777);
  archive_entry_set_mtime(e, static_cast<time_t>(static_cast<int64_t>(in.mtime)),
                          static_cast<long>(in.mtime_nsec));
  for (const meta::Xattr& x : in.xattrs) {
    archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
  }
}

class TarWriter {
 public:
  TarWriter(struct archive* a, storage::ChunkReader* reader) : a_(a), reader_(reader) {}

  Status Write(const meta::Node& node, const std::string& abs_path) {
    if (abs_path == "/") return Status::OK();  // the root is not emitted
    const std::string path = abs_path.substr(1);
    const meta::Inode& in = *node.inode;
    if (S_ISSOCK(in.mode)) {
      ++stats_.skipped;
      LOG_DEBUG("unpack: skipping socket {}", path);
      return Status::OK();
    }
    EntryPtr e(archive_entry_new());
    if (!in.IsDir()) {
      auto [it, first] = first_name_.emplace(&in, path);
      if (!first) {  // a later name of a hardlinked inode
        SetCommon(e.get(), path, in);
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_copy_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return Header(e.get(), path);
      }
    }
    SetCommon(e.get(), path, in);
    archive_entry_set_filetype(e.get(), in.mode & S_IFMT);
    archive_entry_set_size(e.get(), in.IsReg() ? static_cast<la_int64_t>(in.size) : 0);
    if (in.IsSymlink()) archive_entry_copy_symlink(e.get(), in.symlink.c_str());
    if (in.IsChr() || in.IsBlk()) {
      archive_entry_set_rdevmajor(e.get(), major(static_cast<dev_t>(in.rdev)));
      archive_entry_set_rdevminor(e.get(), minor(static_cast<dev_t>(in.rdev)));
    }
    RETURN_IF_ERROR(Header(e.get(), path));
    if (in.IsReg() && in.size > 0) return Data(in, path);
    return Status::OK();
  }

  const UnpackStats& stats() const { return stats_; }

 private:
  Status Header(struct archive_entry* e, const std::string& path) {
    const int rc = archive_write_header(a_, e);
    if (rc < ARCHIVE_WARN) return ArchiveError(a_, "header of " + path);
    if (rc == ARCHIVE_WARN) LOG_WARN("unpack: {}: {}", path, archive_error_string(a_));
    ++stats_.entries;
    return Status::OK();
  }

  Status Data(const meta::Inode& in, const std::string& path) {
    if (reader_ == nullptr) return Status::InvalidArgument("unpack: no blob reader for " + path);
    if (buf_.empty()) buf_.resize(kCopyBuffer);
    uint64_t off = 0;
    while (off < in.size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), in.size - off));
      auto n = reader_->ReadFile(in.chunks, in.size, off, std::span<uint8_t>(buf_.data(), want));
      if (!n.ok()) return n.status().WithContext("unpack: " + path);
      if (*n != want) return Status::Corruption("unpack: " + path + ": short read");
      const la_ssize_t w = archive_write_data(a_, buf_.data(), want);
      if (w < 0 || static_cast<size_t>(w) != want) return ArchiveError(a_, "data of " + path);
      off += want;
    }
    stats_.data_bytes += in.size;
    return Status::OK();
  }

  struct archive* a_;
  storage::ChunkReader* reader_;
  std::unordered_map<const meta::Inode*, std::string> first_name_;
  std::vector<uint8_t> buf_;
  UnpackStats stats_;
};

}  // namespace

Result<UnpackStats> WriteImageTar(const meta::Image& image, storage::ChunkReader* reader,
                                  const std::string& output_path) {
  if (!image.root) return Status::InvalidArgument("unpack: image has no root");
  ArchivePtr a(archive_write_new());
  if (!a) return Status::Internal("unpack: archive_write_new failed");
  if (archive_write_set_format_pax(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "pax");
  if (archive_write_open_filename(a.get(), output_path.c_str()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "open " + output_path);
  }
  TarWriter writer(a.get(), reader);
  Status st;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string& path) {
    st = writer.Write(n, path);
    return st.ok();
  });
  RETURN_IF_ERROR(st);
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "close");
  return writer.stats();
}

Result<UnpackStats> Unpack(const UnpackOptions& opts) {
  if (opts.output_path.empty()) return Status::InvalidArgument("unpack: invalid empty --output");
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrapFile(opts.bootstrap_path));
  storage::LocalfsConfig lc;
  lc.dir = opts.blob_dir;
  lc.blob_file = opts.blob_path;
  std::unique_ptr<storage::BlobBackend> backend;
  std::unique_ptr<storage::ChunkReader> reader;
  if (!lc.dir.empty() || !lc.blob_file.empty()) {
    ASSIGN_OR_RETURN(backend, storage::NewLocalfsBackend(lc));
    storage::ChunkReaderOptions ro;
    ro.validate_digest = opts.validate_digest;
    ro.cache_bytes = 16ull << 20;
    reader = std::make_unique<storage::ChunkReader>(image, backend.get(), ro);
  }
  return WriteImageTar(image, reader.get(), opts.output_path);
}

}  // namespace nydus::builder
