// Tree comparison for `nydusify check` (see the header).
#include "converter/tree_diff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/digest.h"
#include "base/file_util.h"

namespace nydus::converter {

namespace {

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return Status::FromErrno(errno, "opendir " + path);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err) return Status::FromErrno(err, "readdir " + path);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::map<std::string, std::string>> Xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return Status::FromErrno(errno, "listxattr " + path);
  }
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return Status::FromErrno(errno, "listxattr " + path);
  names.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.empty()) continue;
    ssize_t vn = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) return Status::FromErrno(errno, "getxattr " + path + " " + name);
    std::string v(static_cast<size_t>(vn), '\0');
    vn = ::lgetxattr(path.c_str(), name.c_str(), v.data(), v.size());
    if (vn < 0) return Status::FromErrno(errno, "getxattr " + path + " " + name);
    v.resize(static_cast<size_t>(vn));
    out[name] = v;
  }
  return out;
}

Result<std::string> HashFile(const std::string& path, uint64_t* bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  auto h = NewHasher(DigestAlgo::kSha256);
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read " + path);
    if (n == 0) break;
    h->Update(ByteSpan(buf.data(), static_cast<size_t>(n)));
    *bytes += static_cast<uint64_t>(n);
  }
  return DigestHex(h->Finish());
}

std::string TypeName(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    case S_IFCHR:
      return "char device";
    case S_IFBLK:
      return "block device";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    default:
      return "unknown";
  }
}

std::string Oct(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof(b), "%04o", v);
  return b;
}

class Differ {
 public:
  Differ(const std::string& a, const std::string& b, const TreeDiffOptions& o)
      : ra_(a), rb_(b), o_(o) {}

  void Add(const std::string& rel, const std::string& what) {
    if (res_.differences.size() < o_.max_differences) res_.differences.push_back(rel + ": " + what);
  }

  void CompareDir(const std::string& rel) {
    auto la = ListDir(ra_ + rel), lb = ListDir(rb_ + rel);
    if (!la.ok() || !lb.ok()) {
      Add(rel.empty() ? "/" : rel, "cannot list: " + (la.ok() ? lb : la).status().message());
      return;
    }
    std::set<std::string> names(la->begin(), la->end());
    names.insert(lb->begin(), lb->end());
    std::set<std::string> sa(la->begin(), la->end()), sb(lb->begin(), lb->end());
    for (const auto& n : names) {
      std::string child = rel + "/" + n;
      if (!sb.count(n)) {
        Add(child, "missing in the nydus image");
        continue;
      }
      if (!sa.count(n)) {
        Add(child, "not in the source image");
        continue;
      }
      CompareEntry(child);
    }
  }

  void CompareEntry(const std::string& rel) {
    ++res_.entries;
    std::string pa = ra_ + rel, pb = rb_ + rel;
    struct stat a, b;
    if (::lstat(pa.c_str(), &a) != 0 || ::lstat(pb.c_str(), &b) != 0) {
      Add(rel, std::string("lstat failed: ") + std::strerror(errno));
      return;
    }
    if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
      Add(rel, "type " + TypeName(a.st_mode) + " != " + TypeName(b.st_mode));
      return;
    }
    if ((a.st_mode & 07777) != (b.st_mode & 07777)) {
      Add(rel, "mode " + Oct(a.st_mode & 07777) + " != " + Oct(b.st_mode & 07777));
    }
    if (a.st_uid != b.st_uid || a.st_gid != b.st_gid) {
      Add(rel, "owner " + std::to_string(a.st_uid) + ":" + std::to_string(a.st_gid) +
                   " != " + std::to_string(b.st_uid) + ":" + std::to_string(b.st_gid));
    }
    if ((S_ISREG(a.st_mode) || S_ISLNK(a.st_mode)) && a.st_size != b.st_size) {
      Add(rel, "size " + std::to_string(a.st_size) + " != " + std::to_string(b.st_size));
    }
    if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev) {
      Add(rel, "rdev differs");
    }
    if (S_ISLNK(a.st_mode)) {
      char ta[4096], tb[4096];
      ssize_t na = ::readlink(pa.c_str(), ta, sizeof(ta));
      ssize_t nb = ::readlink(pb.c_str(), tb, sizeof(tb));
      if (na < 0 || nb < 0 || std::string(ta, na) != std::string(tb, nb)) {
        Add(rel, "symlink target differs");
      }
    }
    auto xa = Xattrs(pa), xb = Xattrs(pb);
    if (!xa.ok() || !xb.ok()) {
      Add(rel, "xattrs unreadable: " + (xa.ok() ? xb : xa).status().message());
    } else if (*xa != *xb) {
      Add(rel, "xattrs differ");
    }
    if (S_ISREG(a.st_mode) && o_.compare_content && a.st_size == b.st_size) {
      auto ha = HashFile(pa, &res_.bytes_hashed);
      auto hb = HashFile(pb, &res_.bytes_hashed);
      if (!ha.ok() || !hb.ok()) {
        Add(rel, "content unreadable: " + (ha.ok() ? hb : ha).status().message());
      } else if (*ha != *hb) {
        Add(rel, "content sha256 " + *ha + " != " + *hb);
      }
    }
    if (S_ISDIR(a.st_mode)) CompareDir(rel);
  }

  TreeDiffResult Take() { return std::move(res_); }

 private:
  std::string ra_, rb_;
  TreeDiffOptions o_;
  TreeDiffResult res_;
};

}  // namespace

Result<TreeDiffResult> DiffTrees(const std::string& expected, const std::string& actual,
                                 const TreeDiffOptions& options) {
  RETURN_IF_ERROR(ListDir(expected).status());
  RETURN_IF_ERROR(ListDir(actual).status());
  Differ d(expected, actual, options);
  d.CompareDir("");
  return d.Take();
}

}  // namespace nydus::converter
