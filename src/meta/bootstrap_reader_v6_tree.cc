// RAFS v6 decoder, tree walk: the whole directory tree from the root nid, without recursion,
// each inode and directory block decoded by bootstrap_reader_v6_inode.cc. Hardlinks (the same nid
// under several names) share one meta::Inode; a directory nid reached twice is rejected, which
// rules out cycles.

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "format/rafs.h"
#include "format/v6.h"
#include "meta/bootstrap_reader_v6.h"

namespace nydus::meta::internal {
namespace {

// A decoded inode on its way into the tree.
struct TreeInode {
  V6Inode d;
  std::shared_ptr<Inode> inode;
};

struct DirWork {
  Node* node;
  std::string path;
  V6Inode dir;
  uint64_t parent_nid;
  uint32_t depth;
};

class V6TreeReader {
 public:
  V6TreeReader(const V6Context& ctx, const V6ChunkTable& chunks) : ctx_(ctx), chunks_(chunks) {
    // Every non-directory is indexed by nid; sizing the table up front (at most one inode
    // per 64 bytes of metadata) avoids rehashing it while a large tree is read.
    shared_.reserve(std::min<uint64_t>(ctx.data.size() / 64, ctx.opts.max_nodes));
  }
  Status Read(uint64_t root_nid, Image* image);

 private:
  Result<TreeInode> LoadInode(uint64_t nid);
  Status DecodeInode(uint64_t nid, TreeInode* t);
  Status CheckDots(const DirWork& w, const std::vector<V6Dirent>& entries) const;
  Status ExpandDir(DirWork& w, std::vector<DirWork>* work);
  // The inode behind dirent `e` of directory `w`: shared for hardlinks; a new directory is
  // queued on `work` (its Node pointer is filled in by the caller).
  Result<std::shared_ptr<Inode>> ChildInode(const DirWork& w, const V6Dirent& e,
                                            std::vector<DirWork>* work);

  const V6Context& ctx_;
  const V6ChunkTable& chunks_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> shared_;  // non-directories by nid
  std::unordered_set<uint64_t> dirs_;
  uint64_t nodes_ = 0;
};

Result<TreeInode> V6TreeReader::LoadInode(uint64_t nid) {
  TreeInode t;
  Status st = DecodeInode(nid, &t);
  if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", nid));
  return t;
}

Status V6TreeReader::DecodeInode(uint64_t nid, TreeInode* t) {
  V6Inode& d = t->d;
  RETURN_IF_ERROR(DecodeV6InodeCore(ctx_, nid, &d));
  auto inode = std::make_shared<Inode>();
  t->inode = inode;
  RETURN_IF_ERROR(ReadV6Xattrs(ctx_, d, &inode->xattrs));
  RETURN_IF_ERROR(CheckV6InodeData(ctx_, &d));
  const InodeAttrs& a = d.attrs;
  inode->nid = nid;
  inode->ino = d.ino;
  inode->mode = a.mode;
  inode->uid = a.uid;
  inode->gid = a.gid;
  inode->size = a.size;
  inode->mtime = a.mtime;
  inode->mtime_nsec = a.mtime_nsec;
  inode->nlink = a.nlink;
  inode->rdev = a.rdev;
  if (inode->IsSymlink()) {
    ASSIGN_OR_RETURN(inode->symlink, ReadV6Symlink(ctx_, d));
  } else if (inode->IsReg() && d.layout == format::kV6ChunkBased) {
    uint64_t count = ChunkCount(a.size, ctx_.chunk_size);
    inode->chunks.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      RETURN_IF_ERROR(ReadV6Chunk(ctx_, chunks_, d, i, &inode->chunks[i]));
    }
  }
  return Status::OK();
}

Status V6TreeReader::CheckDots(const DirWork& w, const std::vector<V6Dirent>& entries) const {
  bool dot = false, dotdot = false;
  for (const V6Dirent& e : entries) {
    if (e.name != "." && e.name != "..") continue;
    bool is_dot = e.name == ".";
    uint64_t want = is_dot ? w.dir.nid : w.parent_nid;
    if (e.nid != want || e.type != format::kV6FtDir) {
      return Corrupt("\"%s\" entry points to nid %lu type %u, expected directory nid %lu",
                     is_dot ? "." : "..", e.nid, e.type, want);
    }
    (is_dot ? dot : dotdot) = true;
  }
  if (!dot || !dotdot) return Corrupt("directory lacks \"%s\"", dot ? ".." : ".");
  return Status::OK();
}

Status V6TreeReader::ExpandDir(DirWork& w, std::vector<DirWork>* work) {
  std::vector<V6Dirent> entries;
  uint64_t nblocks = V6DirBlocks(w.dir);
  for (uint64_t b = 0; b < nblocks; ++b) {
    Status st = ParseV6DirBlock(ctx_, w.dir, b, &entries);
    if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", w.dir.nid));
  }
  Status st = CheckDots(w, entries);
  if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", w.dir.nid));
  w.node->children.reserve(entries.size() - 2);
  for (size_t i = 0; i < entries.size(); ++i) {
    const V6Dirent& e = entries[i];
    if (e.name == "." || e.name == "..") continue;
    if (++nodes_ > ctx_.opts.max_nodes) {
      return Corrupt("v6: more than %lu nodes", ctx_.opts.max_nodes);
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, ChildInode(w, e, work));
    if (e.type != format::V6FileTypeOfMode(inode->mode)) {
      return Corrupt(
          "v6: inode nid %lu: dirent %zu \"%s\" type %u disagrees with mode 0%o of nid %lu",
          w.dir.nid, i, std::string(e.name).c_str(), e.type, inode->mode, e.nid);
    }
    auto node = std::make_unique<Node>();
    node->name = std::string(e.name);
    node->inode = std::move(inode);
    if (node->inode->IsDir()) work->back().node = node.get();
    w.node->children.push_back(std::move(node));
  }
  return Status::OK();
}

Result<std::shared_ptr<Inode>> V6TreeReader::ChildInode(const DirWork& w, const V6Dirent& e,
                                                        std::vector<DirWork>* work) {
  if ((w.path == "/" ? 0 : w.path.size()) + 1 + e.name.size() > kMaxPathLen) {
    return Corrupt("v6: inode nid %lu: path of \"%s\" longer than %lu bytes", w.dir.nid,
                   std::string(e.name).c_str(), kMaxPathLen);
  }
  if (auto it = shared_.find(e.nid); it != shared_.end()) return it->second;
  ASSIGN_OR_RETURN(TreeInode child, LoadInode(e.nid));
  std::shared_ptr<Inode> inode = child.inode;
  if (!inode->IsDir()) {
    shared_.emplace(e.nid, inode);  // later names of the same nid are hardlinks
    return inode;
  }
  if (!dirs_.insert(e.nid).second) {
    return Corrupt("v6: inode nid %lu: directory nid %lu reachable twice", w.dir.nid, e.nid);
  }
  if (w.depth + 1 > kMaxTreeDepth) return Corrupt("v6: tree deeper than %u", kMaxTreeDepth);
  work->push_back(
      {nullptr, ChildPath(w.path, std::string(e.name)), child.d, w.dir.nid, w.depth + 1});
  return inode;
}

Status V6TreeReader::Read(uint64_t root_nid, Image* image) {
  ASSIGN_OR_RETURN(TreeInode root, LoadInode(root_nid));
  if (!root.inode->IsDir()) return Corrupt("v6: root nid %lu is not a directory", root_nid);
  image->root = std::make_unique<Node>();
  image->root->name.assign(1, '/');  // (= "/" trips a GCC 12 -Wrestrict false positive)
  image->root->inode = root.inode;
  dirs_.insert(root_nid);
  nodes_ = 1;
  std::vector<DirWork> work;
  work.push_back({image->root.get(), "/", root.d, root_nid, 0});
  while (!work.empty()) {
    DirWork w = std::move(work.back());
    work.pop_back();
    RETURN_IF_ERROR(ExpandDir(w, &work));
  }
  return Status::OK();
}

}  // namespace

Status ReadV6Tree(const V6Context& ctx, const V6ChunkTable& chunks, uint64_t root_nid,
                  Image* image) {
  return V6TreeReader(ctx, chunks).Read(root_nid, image);
}

}  // namespace nydus::meta::internal
