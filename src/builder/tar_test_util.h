// Test-only helpers for tar sources: write small tar / tar.gz archives in-process with
// libarchive, build them, and describe image trees as text for comparisons.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "builder/builder.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder::testutil {

struct TarEntry {
  std::string path;
  uint32_t mode = S_IFREG | 0644;  // type | permissions
  std::string data;                // regular files
  std::string link;                // symlink target
  std::string hardlink;            // hardlink target (then mode/data ignored)
  int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  int64_t uid = 0, gid = 0;
  unsigned rdev_major = 0, rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  // Sparse: (offset, length) data regions; `data` is then the full logical content.
  std::vector<std::pair<int64_t, int64_t>> sparse;
};

enum class TarFormat { kPax, kGnu, kUstar };

// Writes `entries` to `path`; returns false (with a gtest failure) on libarchive errors.
inline void WriteTar(const std::string& path, const std::vector<TarEntry>& entries,
                     TarFormat format = TarFormat::kPax, bool gzip = false) {
  struct archive* a = archive_write_new();
  if (format == TarFormat::kPax) archive_write_set_format_pax(a);
  if (format == TarFormat::kGnu) archive_write_set_format_gnutar(a);
  if (format == TarFormat::kUstar) archive_write_set_format_ustar(a);
  if (gzip) archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const TarEntry& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    if (!t.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_hardlink(e, t.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.mode & S_IFMT);
      archive_entry_set_perm(e, t.mode & 07777);
      if (S_ISLNK(t.mode)) archive_entry_set_symlink(e, t.link.c_str());
      if (S_ISCHR(t.mode) || S_ISBLK(t.mode)) {
        archive_entry_set_rdevmajor(e, t.rdev_major);
        archive_entry_set_rdevminor(e, t.rdev_minor);
      }
      archive_entry_set_size(e, S_ISREG(t.mode) ? static_cast<int64_t>(t.data.size()) : 0);
      for (const auto& [off, len] : t.sparse) archive_entry_sparse_add_entry(e, off, len);
    }
    for (const auto& [k, v] : t.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << t.path << ": " << archive_error_string(a);
    if (t.hardlink.empty() && S_ISREG(t.mode) && !t.data.empty()) {
      // With a sparse map, libarchive takes the whole logical content and skips the holes.
      ASSERT_EQ(archive_write_data(a, t.data.data(), t.data.size()),
                static_cast<la_ssize_t>(t.data.size()));
    }
    archive_entry_free(e);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

// One raw ustar header block (name < 100 bytes, mode 0644, mtime 1700000000) with its
// checksum; for hand-made archives libarchive's writer cannot produce.
inline std::string RawTarHeader(const std::string& name, char type, size_t size) {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  auto octal = [&h](size_t off, size_t width, uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%0*llo", static_cast<int>(width - 1),
                  static_cast<unsigned long long>(v));
    h.replace(off, width - 1, buf);
  };
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1700000000);
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  h.replace(148, 8, "        ");
  uint32_t sum = 0;
  for (unsigned char c : h) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof(chk), "%06o", sum);
  h.replace(148, 7, std::string(chk, 7));
  return h;
}
inline std::string PadBlock(std::string s) {
  s.resize((s.size() + 511) / 512 * 512, '\0');
  return s;
}

// Build options for a v6 build of `source` into `dir` (bootstrap `dir`/<name>.boot).
inline BuildOptions TarOptions(const std::string& source, const std::string& dir,
                               const std::string& name, SourceType type = SourceType::kTar) {
  BuildOptions o;
  o.source = source;
  o.source_type = type;
  o.bootstrap_path = dir + "/" + name + ".boot";
  o.blob_dir = dir;
  o.aligned_chunk = true;
  o.threads = 2;
  return o;
}

// One line per node: path, mode, uid/gid, size, mtime, rdev, symlink, xattrs, nlink and the
// chunk digests (and hardlink group by first path).
inline std::string DescribeTree(const meta::Image& image) {
  std::ostringstream out;
  std::map<const meta::Inode*, std::string> first;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string& path) {
    const meta::Inode& i = *n.inode;
    out << path << " mode=" << std::oct << i.mode << std::dec << " " << i.uid << ":" << i.gid
        << " size=" << i.size << " mtime=" << i.mtime << "." << i.mtime_nsec << " rdev=" << i.rdev
        << " nlink=" << i.nlink;
    if (!i.symlink.empty()) out << " -> " << i.symlink;
    for (const auto& x : i.xattrs) out << " x:" << x.name << "=" << x.value;
    auto [it, fresh] = first.emplace(n.inode.get(), path);
    if (!fresh) out << " link=" << it->second;
    for (const auto& c : i.chunks) {
      out << " c" << c.file_offset << ":" << DigestHex(c.digest).substr(0, 12) << "/"
          << c.uncompressed_size << "@b" << c.blob_index;
    }
    out << "\n";
    return true;
  });
  return out.str();
}

}  // namespace nydus::builder::testutil
