// Test-only helpers for tar sources (builder and converter tests): write small tar / tar.gz
// archives in-process with libarchive (entry makers File, Dir, Symlink, Hardlink, Device),
// hand-made tar bytes libarchive's writer refuses to produce (raw headers, base-256 size
// fields), gzip members, build options, trees described as text for comparisons, and for
// the hardening tests a sentinel directory outside the directory a tool may write to with a
// recursive listing to prove it stayed untouched.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
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

inline TarEntry File(const std::string& path, std::string data, uint32_t perm = 0644) {
  TarEntry e;
  e.path = path;
  e.mode = S_IFREG | perm;
  e.data = std::move(data);
  return e;
}
inline TarEntry Dir(const std::string& path, uint32_t perm = 0755,
                    int64_t mtime = TarEntry{}.mtime) {
  TarEntry e;
  e.path = path;
  e.mode = S_IFDIR | perm;
  e.mtime = mtime;
  return e;
}
inline TarEntry Symlink(const std::string& path, const std::string& target) {
  TarEntry e;
  e.path = path;
  e.mode = S_IFLNK | 0777;
  e.link = target;
  return e;
}
inline TarEntry Hardlink(const std::string& path, const std::string& target) {
  TarEntry e;
  e.path = path;
  e.hardlink = target;
  return e;
}
// `mode`: S_IFCHR or S_IFBLK | permissions.
inline TarEntry Device(const std::string& path, uint32_t mode, unsigned major, unsigned minor) {
  TarEntry e;
  e.path = path;
  e.mode = mode;
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

// `n` pseudo-random bytes, a fixed function of `seed` (incompressible file data).
inline std::string Noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

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

// Recomputes the ustar header checksum of the 512-byte block at `h`.
inline void FixTarChecksum(char* h) {
  std::memset(h + 148, ' ', 8);
  uint32_t sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(h[i]);
  char chk[8];
  std::snprintf(chk, sizeof(chk), "%06o", sum);
  std::memcpy(h + 148, chk, 7);
}

// Sets the 12-byte size field (offset 124) of a ustar header to `v` in GNU base-256 form
// (first byte 0x80 for positive, 0xff for negative values, then big-endian two's
// complement), and fixes the checksum.
inline void SetBase256Size(std::string* hdr, int64_t v) {
  char* f = hdr->data() + 124;
  uint64_t u = static_cast<uint64_t>(v);
  for (int i = 11; i >= 4; --i) {
    f[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  const char fill = v < 0 ? '\xff' : '\0';
  for (int i = 1; i < 4; ++i) f[i] = fill;
  f[0] = v < 0 ? '\xff' : '\x80';
  FixTarChecksum(hdr->data());
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
  FixTarChecksum(h.data());
  return h;
}
inline std::string PadBlock(std::string s) {
  s.resize((s.size() + 511) / 512 * 512, '\0');
  return s;
}

// gzip members of `parts` (zlib, level 6) for consecutive slices of `data`, concatenated;
// `named` adds FNAME and FHCRC.
inline Bytes GzipMembers(ByteSpan data, size_t parts = 1, bool named = false) {
  Bytes out;
  for (size_t p = 0; p < parts; ++p) {
    const size_t begin = data.size() * p / parts, end = data.size() * (p + 1) / parts;
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h{};
    std::string name = "part" + std::to_string(p);
    if (named) {
      h.name = reinterpret_cast<Bytef*>(name.data());
      h.hcrc = 1;
      EXPECT_EQ(deflateSetHeader(&z, &h), Z_OK);
    }
    Bytes buf(deflateBound(&z, end - begin) + 64);
    z.next_in = const_cast<Bytef*>(data.data() + begin);
    z.avail_in = static_cast<uInt>(end - begin);
    z.next_out = buf.data();
    z.avail_out = static_cast<uInt>(buf.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(z.total_out));
    deflateEnd(&z);
  }
  return out;
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

// The node at absolute `path` ("/a/b"; "/" is the root), or null.
inline const meta::Node* Find(const meta::Image& img, const std::string& path) {
  const meta::Node* cur = img.root.get();
  size_t pos = 1;
  while (cur && pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    cur = cur->FindChild(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return cur;
}

// Every entry below `dir` (lstat, symlinks not followed), one line each: relative path,
// type and mode, uid:gid, size, mtime in ns, nlink, and the sha256 of regular files or the
// target of symlinks (hex). Two equal listings = nothing was added, removed,
// replaced, written, chmod'ed, chown'ed or touched.
inline std::string ListTree(const std::string& dir) {
  static thread_local std::ostringstream* out = nullptr;
  static thread_local size_t prefix = 0;
  std::ostringstream s;
  out = &s;
  prefix = dir.size();
  ::nftw(
      dir.c_str(),
      [](const char* path, const struct stat* st, int, struct FTW*) -> int {
        *out << (path + prefix) << " mode=" << std::oct << st->st_mode << std::dec << " "
             << st->st_uid << ":" << st->st_gid << " size=" << st->st_size
             << " mtime=" << st->st_mtim.tv_sec << "." << st->st_mtim.tv_nsec
             << " nlink=" << st->st_nlink;
        if (S_ISREG(st->st_mode)) {
          auto data = ReadWholeFile(path, 1 << 20);
          if (data.ok()) *out << " sha256=" << DigestHex(Sha256(*data));
        } else if (S_ISLNK(st->st_mode)) {
          char buf[4096];
          ssize_t n = ::readlink(path, buf, sizeof(buf));
          if (n > 0) *out << " -> " << ToHex(AsBytes(std::string(buf, n)));
        }
        *out << "\n";
        return 0;
      },
      16, FTW_PHYS);
  out = nullptr;
  return s.str();
}

// A directory a hostile archive would like to write to: `passwd`, `sub/file`, a symlink
// and an empty directory. Build or unpack into a sibling directory, then EXPECT_EQ(
// Snapshot(), sentinel.before()).
class Sentinel {
 public:
  explicit Sentinel(const std::string& dir) : dir_(dir) {
    ::mkdir(dir.c_str(), 0755);
    ::mkdir((dir + "/sub").c_str(), 0755);
    ::mkdir((dir + "/empty").c_str(), 0700);
    EXPECT_OK(WriteWholeFile(dir + "/passwd", AsBytes(std::string("root:x:0:0::/root:/bin/sh\n"))));
    EXPECT_OK(WriteWholeFile(dir + "/sub/file", AsBytes(std::string("sentinel"))));
    EXPECT_EQ(::symlink("passwd", (dir + "/link").c_str()), 0);
    before_ = ListTree(dir_);
  }
  const std::string& dir() const { return dir_; }
  const std::string& before() const { return before_; }
  std::string Snapshot() const { return ListTree(dir_); }

 private:
  std::string dir_;
  std::string before_;
};

}  // namespace nydus::builder::testutil
