// Bootstrap layer writing/reading and OCI layer unpacking (see the header).
#include "converter/layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "base/digest.h"
#include "base/file_util.h"
#include "builder/tar_path.h"
#include "converter/oci.h"

namespace nydus::converter {

namespace {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ReadPtr = std::unique_ptr<archive, ArchiveReadDeleter>;
using WritePtr = std::unique_ptr<archive, ArchiveWriteDeleter>;

Status ArchiveError(archive* a, const std::string& what) {
  const char* m = archive_error_string(a);
  return Status::IOError(what + ": " + (m ? m : "libarchive error"));
}

Result<ReadPtr> OpenRead(const std::string& path) {
  ReadPtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "open " + path);
  }
  return a;
}

void AddEntry(archive* a, const char* name, mode_t mode, const std::string& data,
              std::vector<uint8_t>* err) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_mode(e, mode);
  archive_entry_set_size(e, S_ISREG(mode) ? static_cast<la_int64_t>(data.size()) : 0);
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  if (archive_write_header(a, e) != ARCHIVE_OK) err->push_back(1);
  if (S_ISREG(mode) && !data.empty() &&
      archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    err->push_back(1);
  }
  archive_entry_free(e);
}

Result<std::string> Gzip(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Internal("gzip of the bootstrap layer failed");
  return out;
}

// Removes `path` recursively (no error if it does not exist).
Status RemoveAll(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::OK();
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return Status::FromErrno(errno, "opendir " + path);
    std::vector<std::string> names;
    while (dirent* de = ::readdir(d)) {
      if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, ".."))
        names.push_back(de->d_name);
    }
    ::closedir(d);
    for (const auto& n : names) RETURN_IF_ERROR(RemoveAll(path + "/" + n));
    if (::rmdir(path.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + path);
  } else if (::unlink(path.c_str()) != 0) {
    return Status::FromErrno(errno, "unlink " + path);
  }
  return Status::OK();
}

// A layer path cleaned inside the root ("./a//b/" → "a/b", "a/../b" → "b"; "" is the root),
// by the builder's rules (builder/tar_path.h): absolute paths and escapes are errors.
Result<std::string> CleanPath(const char* raw) {
  ASSIGN_OR_RETURN(std::vector<std::string> comps,
                   builder::SplitEntryPath(raw ? raw : "", "layer entry"));
  return builder::JoinComponents(comps, comps.size());
}
using builder::EntryHardlink;
using builder::EntryPath;

// Confinement check before anything touches root/<rel>: each of the first `ncomps`
// components of `rel` that exists must be a real directory, not a symlink, so that no later
// open/unlink/link/opendir can be redirected outside `root` (a symlink `a -> /etc` or
// `a -> ../..` from this or a lower layer, then an entry or a whiteout `a/passwd`). Missing
// components are fine: they are created as directories.
Status CheckDirsOnPath(const std::string& root, const std::string& rel, size_t ncomps) {
  size_t start = 0;
  for (size_t n = 0; n < ncomps && start <= rel.size(); ++n) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    start = end + 1;
    const std::string prefix = rel.substr(0, end);
    struct stat st;
    if (::lstat((root + "/" + prefix).c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::OK();
      return Status::FromErrno(errno, "lstat " + prefix);
    }
    if (S_ISLNK(st.st_mode)) {
      return Status::InvalidArgument("layer path '" + rel + "' goes through the symlink '" +
                                     prefix + "'");
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("layer path '" + rel + "': '" + prefix +
                                     "' is not a directory");
    }
  }
  return Status::OK();
}
size_t Depth(const std::string& rel) {
  return rel.empty() ? 0 : std::count(rel.begin(), rel.end(), '/') + 1;
}
// The directories holding `rel` (its last component may be anything: it gets replaced).
Status CheckParents(const std::string& root, const std::string& rel) {
  return CheckDirsOnPath(root, rel, Depth(rel) - 1);
}
// `rel` and its parents are real directories (or missing).
Status CheckDir(const std::string& root, const std::string& rel) {
  return CheckDirsOnPath(root, rel, Depth(rel));
}

}  // namespace

Result<LayerFile> WriteBootstrapLayer(
    const std::string& bootstrap_path, const std::string& out_path,
    const std::vector<std::pair<std::string, std::string>>& extra) {
  ASSIGN_OR_RETURN(Bytes boot, ReadWholeFile(bootstrap_path));
  std::string data(boot.begin(), boot.end());
  std::string tar;
  {
    WritePtr a(archive_write_new());
    archive_write_set_format_pax_restricted(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    archive_write_open(
        a.get(), &tar, nullptr,
        [](archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
          static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
          return static_cast<la_ssize_t>(n);
        },
        nullptr);
    std::vector<uint8_t> err;
    AddEntry(a.get(), "image", S_IFDIR | 0755, "", &err);
    AddEntry(a.get(), kBootstrapPathInLayer, S_IFREG | 0444, data, &err);
    for (const auto& [name, contents] : extra) {
      if (name.empty() || name.find('/') != std::string::npos || name == "image.boot") {
        return Status::InvalidArgument("bootstrap layer: invalid extra entry name '" + name + "'");
      }
      AddEntry(a.get(), ("image/" + name).c_str(), S_IFREG | 0444, contents, &err);
    }
    if (!err.empty() || archive_write_close(a.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "write bootstrap layer");
    }
  }
  ASSIGN_OR_RETURN(std::string gz, Gzip(tar));
  RETURN_IF_ERROR(WriteWholeFile(out_path, AsBytes(gz)));
  LayerFile f;
  f.path = out_path;
  f.digest = "sha256:" + DigestHex(Sha256(AsBytes(gz)));
  f.diff_id = "sha256:" + DigestHex(Sha256(AsBytes(tar)));
  f.size = gz.size();
  return f;
}

Status ExtractBootstrap(const std::string& layer_path, const std::string& out_path) {
  ASSIGN_OR_RETURN(ReadPtr a, OpenRead(layer_path));
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    auto name = CleanPath(EntryPath(e));
    if (!name.ok() || *name != kBootstrapPathInLayer) continue;
    std::string data;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof(buf))) > 0) data.append(buf, n);
    if (n < 0) return ArchiveError(a.get(), "read " + std::string(kBootstrapPathInLayer));
    return WriteWholeFile(out_path, AsBytes(data));
  }
  if (rc != ARCHIVE_EOF) return ArchiveError(a.get(), "read " + layer_path);
  return Status::NotFound(layer_path + ": no " + kBootstrapPathInLayer + " in the bootstrap layer");
}

Status UnpackLayer(const std::string& layer_path, const std::string& root_arg) {
  // A canonical root: libarchive's symlink and ".." checks look at every component of the
  // absolute paths we hand it, so the root itself must have neither.
  char* real = ::realpath(root_arg.c_str(), nullptr);
  if (real == nullptr) return Status::FromErrno(errno, "unpack: root " + root_arg);
  const std::string root = real;
  ::free(real);
  ASSIGN_OR_RETURN(ReadPtr a, OpenRead(layer_path));
  WritePtr disk(archive_write_disk_new());
  archive_write_disk_set_options(
      disk.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                      ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                      ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK);
  std::set<std::string> created;  // paths this layer wrote (opaque markers keep them)
  std::vector<std::string> opaque;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    ASSIGN_OR_RETURN(std::string rel, CleanPath(EntryPath(e)));
    if (rel.empty()) continue;  // the root itself
    std::string dir = rel.find('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/'));
    std::string base = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
    if (base == ".wh..wh..opq") {
      RETURN_IF_ERROR(CheckDir(root, dir));
      opaque.push_back(dir);
      continue;
    }
    if (base.starts_with(".wh..wh.")) continue;  // other AUFS metadata: nothing to apply
    if (base.starts_with(".wh.")) {
      const std::string victim = base.substr(4);
      if (victim.empty() || victim == "." || victim == "..") {
        return Status::InvalidArgument("layer entry '" + rel + "': invalid whiteout name");
      }
      RETURN_IF_ERROR(CheckDir(root, dir));
      RETURN_IF_ERROR(RemoveAll(root + "/" + (dir.empty() ? "" : dir + "/") + victim));
      continue;
    }
    RETURN_IF_ERROR(CheckParents(root, rel));
    std::string full = root + "/" + rel;
    struct stat st;
    bool is_dir = archive_entry_filetype(e) == AE_IFDIR;
    if (::lstat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode) != is_dir) {
      RETURN_IF_ERROR(RemoveAll(full));
    }
    archive_entry_copy_pathname(e, full.c_str());
    if (const char* hl = EntryHardlink(e)) {
      ASSIGN_OR_RETURN(std::string target, CleanPath(hl));
      if (target.empty())
        return Status::InvalidArgument("layer entry '" + rel + "': hardlink to the root");
      RETURN_IF_ERROR(CheckParents(root, target));
      archive_entry_copy_hardlink(e, (root + "/" + target).c_str());
    }
    if (archive_write_header(disk.get(), e) != ARCHIVE_OK) {
      return ArchiveError(disk.get(), "unpack " + rel);
    }
    if (archive_entry_size(e) > 0) {
      const void* buf;
      size_t size;
      la_int64_t off;
      int r;
      while ((r = archive_read_data_block(a.get(), &buf, &size, &off)) == ARCHIVE_OK) {
        if (archive_write_data_block(disk.get(), buf, size, off) != ARCHIVE_OK) {
          return ArchiveError(disk.get(), "unpack " + rel);
        }
      }
      if (r != ARCHIVE_EOF) return ArchiveError(a.get(), "read " + rel);
    }
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK) {
      return ArchiveError(disk.get(), "unpack " + rel);
    }
    created.insert(rel);
  }
  if (rc != ARCHIVE_EOF) return ArchiveError(a.get(), "read " + layer_path);
  for (const auto& dir : opaque) {
    RETURN_IF_ERROR(CheckDir(root, dir));  // still a real directory after the entries
    std::string full = dir.empty() ? root : root + "/" + dir;
    DIR* d = ::opendir(full.c_str());
    if (!d) continue;
    std::vector<std::string> names;
    while (dirent* de = ::readdir(d)) {
      if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, ".."))
        names.push_back(de->d_name);
    }
    ::closedir(d);
    for (const auto& n : names) {
      std::string rel = dir.empty() ? n : dir + "/" + n;
      if (!created.count(rel)) RETURN_IF_ERROR(RemoveAll(root + "/" + rel));
    }
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    return ArchiveError(disk.get(), "finish unpacking " + layer_path);
  }
  return Status::OK();
}

}  // namespace nydus::converter
