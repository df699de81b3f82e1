// Test-only helpers for the tar hardening tests (builder/tar_hardening_test.cc,
// converter/layer_tar_test.cc): a sentinel directory outside the directory a tool may write
// to, a recursive listing to prove it stayed untouched, and hand-made tar bytes (base-256
// size fields, checksums) that libarchive's writer refuses to produce.
#pragma once

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
#include "testing/test_util.h"

namespace nydus::builder::testutil {

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

}  // namespace nydus::builder::testutil
