#include "builder/dir_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace nydus::builder {
namespace {

constexpr size_t kMaxNameLen = 255;            // RAFS_MAX_NAME
constexpr size_t kMaxXattrKeyLen = 255;        // reference RafsXAttrs::add limit
constexpr size_t kMaxXattrValueLen = 0x10000;  // 64 KiB, same source
constexpr size_t kMaxSymlinkLen = 1 << 20;     // sanity bound for readlink growth

constexpr std::string_view kXattrPrefixes[] = {
    "user.", "security.", "trusted.", "system.posix_acl_access", "system.posix_acl_default"};

std::string JoinPath(const std::string& dir, const std::string& name) {
  return (dir.empty() || dir.back() == '/') ? dir + name : dir + "/" + name;
}

// Opens `path` like openat(AT_FDCWD, path, flags) but in steps shorter than PATH_MAX, so
// that arbitrarily long paths work. Intermediate steps follow symlinks as open(2) would.
Result<UniqueFd> OpenLongPath(const std::string& path, int flags) {
  if (path.size() < PATH_MAX) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
    return fd;
  }
  UniqueFd base;
  size_t pos = 0;
  while (path.size() - pos >= PATH_MAX) {
    size_t cut = path.rfind('/', pos + PATH_MAX - 2);
    if (cut == std::string::npos || cut <= pos) {
      return Status::InvalidArgument("open " + path + ": path component too long");
    }
    std::string step = path.substr(pos, cut - pos);
    int dirfd = base.valid() ? base.get() : AT_FDCWD;
    UniqueFd next(::openat(dirfd, step.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!next.valid()) return Status::FromErrno(errno, "open " + path.substr(0, cut));
    base = std::move(next);
    pos = cut + 1;
    while (pos < path.size() && path[pos] == '/') ++pos;
  }
  std::string last = pos < path.size() ? path.substr(pos) : ".";
  UniqueFd fd(::openat(base.get(), last.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  return fd;
}

// Reads one xattr value through `get` (an lgetxattr/fgetxattr binding). nullopt when the
// attribute vanished between listing and reading.
template <typename GetFn>
Result<std::optional<std::string>> ReadXattrValue(GetFn get, const std::string& key,
                                                  const std::string& path) {
  for (;;) {
    ssize_t n = get(key.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) return std::optional<std::string>();
      return Status::FromErrno(errno, "get xattr " + key + " of " + path);
    }
    if (static_cast<size_t>(n) > kMaxXattrValueLen) {
      return Status::InvalidArgument(path + ": value of xattr " + key + " exceeds 64 KiB");
    }
    std::string value(static_cast<size_t>(n), '\0');
    ssize_t m = get(key.c_str(), value.data(), value.size());
    if (m >= 0) {
      value.resize(static_cast<size_t>(m));
      return std::optional<std::string>(std::move(value));
    }
    if (errno == ENODATA) return std::optional<std::string>();
    if (errno != ERANGE) return Status::FromErrno(errno, "get xattr " + key + " of " + path);
  }
}

// Reads the accepted xattrs of one file through `list`/`get` (bound to l*xattr on a path or
// f*xattr on a descriptor), sorted by name. A filesystem without xattrs yields none.
template <typename ListFn, typename GetFn>
Result<std::vector<meta::Xattr>> ReadXattrs(ListFn list, GetFn get, const std::string& path) {
  std::string names;
  for (;;) {
    ssize_t n = list(nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return std::vector<meta::Xattr>();
      return Status::FromErrno(errno, "list xattrs of " + path);
    }
    names.assign(static_cast<size_t>(n), '\0');
    if (n == 0) break;
    ssize_t m = list(names.data(), names.size());
    if (m >= 0) {
      names.resize(static_cast<size_t>(m));
      break;
    }
    if (errno != ERANGE) return Status::FromErrno(errno, "list xattrs of " + path);
  }
  std::vector<meta::Xattr> out;
  for (size_t pos = 0; pos < names.size();) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string key = names.substr(pos, end - pos);
    pos = end + 1;
    if (key.empty()) continue;
    if (key.size() > kMaxXattrKeyLen) {
      return Status::InvalidArgument(path + ": xattr key longer than 255 bytes");
    }
    if (!IsAcceptedXattr(key)) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> value, ReadXattrValue(get, key, path));
    if (value) out.push_back(meta::Xattr{std::move(key), std::move(*value)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<meta::Xattr>> XattrsOfFd(int fd, const std::string& path) {
  return ReadXattrs([fd](char* buf, size_t n) { return ::flistxattr(fd, buf, n); },
                    [fd](const char* k, void* buf, size_t n) { return ::fgetxattr(fd, k, buf, n); },
                    path);
}

// Xattrs of `name` inside the directory `dirfd`, without following a final symlink and
// without opening the file (devices and fifos must not be opened). The /proc/self/fd path
// stays short however deep the directory is.
Result<std::vector<meta::Xattr>> XattrsAt(int dirfd, const std::string& name,
                                          const std::string& path) {
  const std::string p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  const char* c = p.c_str();
  return ReadXattrs([c](char* buf, size_t n) { return ::llistxattr(c, buf, n); },
                    [c](const char* k, void* buf, size_t n) { return ::lgetxattr(c, k, buf, n); },
                    path);
}

Result<std::string> ReadSymlinkAt(int dirfd, const std::string& name, const std::string& path,
                                  size_t hint) {
  std::string buf(std::max<size_t>(hint + 1, 256), '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return Status::FromErrno(errno, "readlink " + path);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= kMaxSymlinkLen) {
      return Status::InvalidArgument(path + ": symlink target too long");
    }
    buf.resize(buf.size() * 2);
  }
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// Names in the directory `dirfd`, without "." and "..", sorted by raw bytes.
Result<std::vector<std::string>> ListNames(int dirfd, const std::string& path) {
  int dup_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Status::FromErrno(errno, "dup " + path);
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dup_fd));
  if (!dir) {
    int err = errno;
    ::close(dup_fd);
    return Status::FromErrno(err, "opendir " + path);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "readdir " + path);
      break;
    }
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Walker {
 public:
  explicit Walker(const WalkOptions& opts) : opts_(opts) {}

  Result<SourceTree> Run(const std::string& root) {
    ASSIGN_OR_RETURN(UniqueFd fd, OpenLongPath(root, O_RDONLY | O_DIRECTORY));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + root);
    tree_.root = std::make_unique<meta::Node>();
    tree_.root->name = "/";
    tree_.root->inode = NewInode(st);
    ASSIGN_OR_RETURN(tree_.root->inode->xattrs, XattrsOfFd(fd.get(), root));
    RETURN_IF_ERROR(WalkDir(fd.get(), root, tree_.root.get()));
    return std::move(tree_);
  }

 private:
  using InodeKey = std::pair<dev_t, ino_t>;

  std::shared_ptr<meta::Inode> NewInode(const struct stat& st) {
    auto inode = std::make_shared<meta::Inode>();
    inode->mode = st.st_mode;
    if (opts_.explicit_uidgid) {
      inode->uid = st.st_uid;
      inode->gid = st.st_gid;
    }
    inode->size = S_ISDIR(st.st_mode) ? 0 : static_cast<uint64_t>(st.st_size);
    inode->mtime = static_cast<uint64_t>(static_cast<int64_t>(st.st_mtim.tv_sec));
    inode->mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    inode->rdev = st.st_rdev;
    inode->nlink = 1;
    inode->projid = 0;
    inode->ino = next_ino_++;
    return inode;
  }

  // Fills dir->children from the open directory `dirfd` (whose path is `path`).
  Status WalkDir(int dirfd, const std::string& path, meta::Node* dir) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(dirfd, path));
    dir->children.reserve(names.size());
    uint32_t subdirs = 0;
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(std::unique_ptr<meta::Node> child, VisitEntry(dirfd, path, name));
      if (child->inode->IsDir()) ++subdirs;
      dir->children.push_back(std::move(child));
    }
    dir->inode->nlink = 2 + subdirs;
    return Status::OK();
  }

  Result<std::unique_ptr<meta::Node>> VisitEntry(int dirfd, const std::string& dir_path,
                                                 const std::string& name) {
    const std::string path = JoinPath(dir_path, name);
    if (name.size() > kMaxNameLen) {
      return Status::InvalidArgument(path + ": name longer than 255 bytes");
    }
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::FromErrno(errno, "lstat " + path);
    }
    auto node = std::make_unique<meta::Node>();
    node->name = name;
    if (S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(VisitDir(dirfd, path, st, node.get()));
      return node;
    }
    const bool linked = st.st_nlink > 1;
    if (linked) {
      auto it = hardlinks_.find(InodeKey(st.st_dev, st.st_ino));
      if (it != hardlinks_.end()) {
        node->inode = it->second;
        ++node->inode->nlink;
        return node;
      }
    }
    node->inode = NewInode(st);
    if (S_ISLNK(st.st_mode)) {
      ASSIGN_OR_RETURN(node->inode->symlink,
                       ReadSymlinkAt(dirfd, name, path, static_cast<size_t>(st.st_size)));
    }
    ASSIGN_OR_RETURN(node->inode->xattrs, XattrsAt(dirfd, name, path));
    if (S_ISREG(st.st_mode)) tree_.data_paths[node->inode.get()] = path;
    if (linked) hardlinks_.emplace(InodeKey(st.st_dev, st.st_ino), node->inode);
    return node;
  }

  // Opens the subdirectory without following symlinks, checks it is the entry that was
  // lstat'ed (so a concurrent rename cannot lead the walk outside the tree), recurses.
  Status VisitDir(int dirfd, const std::string& path, const struct stat& st, meta::Node* node) {
    UniqueFd fd(
        ::openat(dirfd, node->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return Status::FromErrno(errno, "open directory " + path);
    struct stat opened;
    if (::fstat(fd.get(), &opened) != 0) return Status::FromErrno(errno, "stat " + path);
    if (opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
      return Status::IOError(path + ": directory changed during the walk");
    }
    node->inode = NewInode(opened);
    ASSIGN_OR_RETURN(node->inode->xattrs, XattrsOfFd(fd.get(), path));
    return WalkDir(fd.get(), path, node);
  }

  WalkOptions opts_;
  uint64_t next_ino_ = 1;
  std::map<InodeKey, std::shared_ptr<meta::Inode>> hardlinks_;
  SourceTree tree_;
};

}  // namespace

bool IsAcceptedXattr(const std::string& name) {
  for (std::string_view prefix : kXattrPrefixes) {
    if (std::string_view(name).starts_with(prefix)) return true;
  }
  return false;
}

Result<SourceTree> WalkDirectory(const std::string& root, const WalkOptions& opts) {
  if (root.empty()) return Status::InvalidArgument("walk: empty source path");
  Walker walker(opts);
  return walker.Run(root);
}

Result<UniqueFd> OpenSourceFile(const std::string& path) {
  return OpenLongPath(path, O_RDONLY | O_NOFOLLOW);
}

void PruneDataPaths(SourceTree* tree) {
  std::unordered_set<const meta::Inode*> live;
  if (tree->root) {
    meta::WalkTree(*tree->root, [&live](const meta::Node& n, const std::string&) {
      live.insert(n.inode.get());
      return true;
    });
  }
  std::erase_if(tree->data_paths, [&live](const auto& kv) { return !live.count(kv.first); });
}

}  // namespace nydus::builder
