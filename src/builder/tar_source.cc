#include "builder/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "builder/dir_walker.h"
#include "builder/tar_input.h"
#include "builder/tar_path.h"

namespace nydus::builder {
namespace {

constexpr size_t kMaxXattrKeyLen = 255;             // as dir_walker.cc
constexpr size_t kMaxXattrValueLen = 0x10000;       // 64 KiB
constexpr size_t kMaxSymlinkLen = 0xffff;           // the reference rejects longer targets
constexpr uint64_t kMaxChunksPerFile = 1ull << 24;  // RAFS_MAX_CHUNKS_PER_BLOB

constexpr std::string_view kStargzSpecial[] = {"stargz.index.json", ".prefetch.landmark",
                                               ".no.prefetch.landmark"};

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveCloser>;

std::string ArchiveError(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

std::shared_ptr<meta::Inode> NewDirInode() {
  auto inode = std::make_shared<meta::Inode>();
  inode->mode = S_IFDIR | 0755;
  inode->nlink = 2;
  return inode;
}

class TarReader {
 public:
  TarReader(const TarSourceOptions& opts, ChunkStream* chunks) : opts_(opts), chunks_(chunks) {
    tree_.root = std::make_unique<meta::Node>();
    tree_.root->name = "/";
    tree_.root->inode = NewDirInode();
  }

  Result<TarTree> Run(const std::string& path) {
    // The outer gzip layer is inflated by TarInput (ISA-L); libarchive parses the tar.
    Result<std::unique_ptr<TarInput>> opened = TarInput::Open(path);
    if (!opened.ok()) return opened.status().WithContext("tar source " + path);
    std::unique_ptr<TarInput> input = std::move(opened).value();
    input_ = input.get();
    ArchivePtr a(archive_read_new());
    if (!a) return Status::Internal("archive_read_new failed");
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_tar(a.get());
    // Concatenated archives / zero blocks in the middle, as the reference (ignore_zeros).
    archive_read_set_options(a.get(), "tar:read_concatenated_archives");
    if (input->OpenArchive(a.get()) != ARCHIVE_OK) {
      return input->Diagnose(Status::InvalidArgument(ArchiveError(a.get())))
          .WithContext("tar source " + path);
    }
    for (;;) {
      struct archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        return input->Diagnose(Status::Corruption(ArchiveError(a.get())))
            .WithContext("tar source " + path + ": after " + std::to_string(tree_.entries) +
                         " entries");
      }
      ++tree_.entries;
      const char* p = EntryPath(e);
      const std::string name = p ? p : "";
      Status st = AddEntry(a.get(), e, name);
      if (!st.ok()) return st.WithContext("tar source " + path + ": entry '" + name + "'");
    }
    RETURN_IF_ERROR(input->Finish().WithContext("tar source " + path));
    RETURN_IF_ERROR(chunks_->Flush().WithContext("tar source " + path));
    std::erase_if(tree_.implied_dirs,
                  [this](const std::string& rel) { return !implied_.count(rel); });
    NumberInodes();
    return std::move(tree_);
  }

 private:
  Status AddEntry(struct archive* a, struct archive_entry* e, const std::string& path);
  Result<std::shared_ptr<meta::Inode>> NewInode(struct archive_entry* e);
  Status StreamData(struct archive* a, meta::Inode* inode);
  Result<meta::Node*> ParentDir(const std::vector<std::string>& comps);
  meta::Node* Lookup(const std::vector<std::string>& comps) const;
  void NumberInodes();

  TarSourceOptions opts_;
  ChunkStream* chunks_;
  TarInput* input_ = nullptr;  // valid during Run()
  TarTree tree_;
  std::map<std::string, bool> implied_;  // still-implied directories (relative path)
  // Inodes with chunks in flight stay alive until the stream is flushed, even when a later
  // entry replaces their node.
  std::vector<std::shared_ptr<meta::Inode>> data_inodes_;
};

Result<std::shared_ptr<meta::Inode>> TarReader::NewInode(struct archive_entry* e) {
  auto inode = std::make_shared<meta::Inode>();
  const uint32_t type = archive_entry_filetype(e);
  switch (type) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      break;
    default:
      return Status::InvalidArgument("unsupported entry type 0" + std::to_string(type >> 12));
  }
  inode->mode = type | (archive_entry_perm(e) & 07777);
  if (opts_.explicit_uidgid) {
    const la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || gid < 0 || uid > UINT32_MAX || gid > UINT32_MAX) {
      return Status::InvalidArgument("uid/gid out of range");
    }
    inode->uid = static_cast<uint32_t>(uid);
    inode->gid = static_cast<uint32_t>(gid);
  }
  if (archive_entry_mtime_is_set(e)) {
    inode->mtime = static_cast<uint64_t>(static_cast<int64_t>(archive_entry_mtime(e)));
    inode->mtime_nsec = static_cast<uint32_t>(archive_entry_mtime_nsec(e));
  }
  inode->nlink = type == AE_IFDIR ? 2 : 1;
  if (type == AE_IFCHR || type == AE_IFBLK) {
    inode->rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  }
  if (type == AE_IFLNK) {
    const char* target = EntrySymlink(e);
    if (target == nullptr || *target == '\0')
      return Status::InvalidArgument("symlink without target");
    inode->symlink = target;
    if (inode->symlink.size() > kMaxSymlinkLen) {
      return Status::InvalidArgument("symlink target longer than 65535 bytes");
    }
    inode->size = inode->symlink.size();
  } else if (type == AE_IFREG) {
    const la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0) return Status::InvalidArgument("negative file size");
    inode->size = static_cast<uint64_t>(size);
    const uint64_t cs = chunks_->chunk_size();
    if ((inode->size + cs - 1) / cs > kMaxChunksPerFile) {
      return Status::InvalidArgument("file size " + std::to_string(size) + " is too big");
    }
  }
  std::map<std::string, std::string> xattrs;
  archive_entry_xattr_reset(e);
  const char* xname = nullptr;
  const void* xvalue = nullptr;
  size_t xsize = 0;
  while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
    if (xname == nullptr || *xname == '\0') continue;
    std::string key(xname);
    if (key.size() > kMaxXattrKeyLen)
      return Status::InvalidArgument("xattr key longer than 255 bytes");
    if (!IsAcceptedXattr(key)) continue;
    if (xsize > kMaxXattrValueLen)
      return Status::InvalidArgument("value of xattr " + key + " exceeds 64 KiB");
    xattrs[key].assign(static_cast<const char*>(xvalue), xsize);
  }
  for (auto& [k, v] : xattrs) inode->xattrs.push_back(meta::Xattr{k, std::move(v)});
  return inode;
}

// Streams the entry's data into the chunk stream, chunk by chunk. archive_read_data returns
// holes of sparse entries as zeros.
Status TarReader::StreamData(struct archive* a, meta::Inode* inode) {
  inode->chunks.clear();
  const uint64_t cs = chunks_->chunk_size();
  for (uint64_t off = 0; off < inode->size;) {
    const auto n = static_cast<uint32_t>(std::min<uint64_t>(cs, inode->size - off));
    ASSIGN_OR_RETURN(uint8_t * buf, chunks_->NextBuffer(inode, off, n));
    for (uint32_t got = 0; got < n;) {
      la_ssize_t r = archive_read_data(a, buf + got, n - got);
      if (r < 0) {
        return input_->Diagnose(Status::Corruption(ArchiveError(a))).WithContext("reading data");
      }
      if (r == 0) {
        return Status::Corruption("truncated data: " + std::to_string(off + got) + " of " +
                                  std::to_string(inode->size) + " bytes");
      }
      got += static_cast<uint32_t>(r);
    }
    off += n;
  }
  return Status::OK();
}

meta::Node* TarReader::Lookup(const std::vector<std::string>& comps) const {
  meta::Node* cur = tree_.root.get();
  for (const auto& c : comps) {
    if (cur == nullptr || !cur->inode->IsDir()) return nullptr;
    cur = cur->FindChild(c);
  }
  return cur;
}

// The directory that holds comps.back(), creating missing (implied) directories.
Result<meta::Node*> TarReader::ParentDir(const std::vector<std::string>& comps) {
  meta::Node* cur = tree_.root.get();
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    meta::Node* next = cur->FindChild(comps[i]);
    if (next == nullptr) {
      auto dir = std::make_unique<meta::Node>();
      dir->name = comps[i];
      dir->inode = NewDirInode();
      next = dir.get();
      cur->PutChild(std::move(dir));
      std::string rel = JoinComponents(comps, i + 1);
      implied_[rel] = true;
      tree_.implied_dirs.push_back(std::move(rel));
    } else if (!next->inode->IsDir()) {
      return Status::InvalidArgument("parent '" + JoinComponents(comps, i + 1) +
                                     "' is not a directory");
    }
    cur = next;
  }
  return cur;
}

Status TarReader::AddEntry(struct archive* a, struct archive_entry* e, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("entry without a path");
  ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitEntryPath(path, "path"));
  if (comps.size() == 1) {
    for (std::string_view s : kStargzSpecial) {
      if (comps[0] == s) return Status::OK();
    }
  }
  const char* link = EntryHardlink(e);
  if (link != nullptr && *link != '\0') {
    ASSIGN_OR_RETURN(std::vector<std::string> target_comps,
                     SplitEntryPath(link, "hardlink target"));
    if (target_comps == comps) return Status::OK();  // a link to itself changes nothing
    meta::Node* target = Lookup(target_comps);
    if (target == nullptr) {
      return Status::InvalidArgument(std::string("hardlink target '") + link +
                                     "' is not an earlier entry");
    }
    if (target->inode->IsDir() || comps.empty()) {
      return Status::InvalidArgument(std::string("hardlink to or over a directory ('") + link +
                                     "')");
    }
    ASSIGN_OR_RETURN(meta::Node * parent, ParentDir(comps));
    auto node = std::make_unique<meta::Node>();
    node->name = comps.back();
    node->inode = target->inode;
    implied_.erase(JoinComponents(comps, comps.size()));
    parent->PutChild(std::move(node));
    return Status::OK();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<meta::Inode> inode, NewInode(e));
  if (comps.empty()) {  // "." or "./": the root's attributes
    if (!inode->IsDir()) return Status::InvalidArgument("root entry is not a directory");
    tree_.root->inode = std::move(inode);
    return Status::OK();
  }
  ASSIGN_OR_RETURN(meta::Node * parent, ParentDir(comps));
  const std::string rel = JoinComponents(comps, comps.size());
  implied_.erase(rel);
  meta::Node* existing = parent->FindChild(comps.back());
  if (inode->IsReg()) {
    RETURN_IF_ERROR(StreamData(a, inode.get()));
    if (!inode->chunks.empty() || inode->size > 0) data_inodes_.push_back(inode);
  }
  if (existing != nullptr && existing->inode->IsDir() && inode->IsDir()) {
    existing->inode = std::move(inode);  // keeps the children
    return Status::OK();
  }
  auto node = std::make_unique<meta::Node>();
  node->name = comps.back();
  node->inode = std::move(inode);
  parent->PutChild(std::move(node));
  return Status::OK();
}

// Root 1, then pre-order; hardlinks keep the number of their first name (as dir_walker).
void TarReader::NumberInodes() {
  std::unordered_map<const meta::Inode*, uint64_t> seen;
  uint64_t next = 1;
  meta::WalkTree(*tree_.root, [&](const meta::Node& n, const std::string&) {
    auto [it, fresh] = seen.emplace(n.inode.get(), next);
    if (fresh) n.inode->ino = next++;
    return true;
  });
}

}  // namespace

Result<TarTree> ReadTarSource(const std::string& path, const TarSourceOptions& options,
                              ChunkStream* chunks) {
  if (chunks == nullptr) return Status::InvalidArgument("tar source: chunk stream required");
  TarReader reader(options, chunks);
  return reader.Run(path);
}

void InheritImpliedDirs(const meta::Node& lower, meta::Node* upper,
                        const std::vector<std::string>& implied) {
  for (const std::string& rel : implied) {
    const meta::Node* l = &lower;
    meta::Node* u = upper;
    size_t pos = 0;
    while (l != nullptr && u != nullptr && pos <= rel.size()) {
      size_t end = rel.find('/', pos);
      if (end == std::string::npos) end = rel.size();
      const std::string comp = rel.substr(pos, end - pos);
      pos = end + 1;
      // An opaque upper directory or a whiteout of this name hides the lower one.
      if (u->inode->IsDir() &&
          (u->FindChild(".wh..wh..opq") != nullptr || u->FindChild(".wh." + comp) != nullptr)) {
        l = nullptr;
        break;
      }
      l = l->inode->IsDir() ? l->FindChild(comp) : nullptr;
      u = u->inode->IsDir() ? u->FindChild(comp) : nullptr;
    }
    if (l == nullptr || u == nullptr || !l->inode->IsDir() || !u->inode->IsDir()) continue;
    meta::Inode* ui = u->inode.get();
    const meta::Inode& li = *l->inode;
    ui->mode = li.mode;
    ui->uid = li.uid;
    ui->gid = li.gid;
    ui->mtime = li.mtime;
    ui->mtime_nsec = li.mtime_nsec;
    ui->xattrs = li.xattrs;
  }
}

}  // namespace nydus::builder
