// Reports for `nydus-image check / inspect / stat` (see inspect.h for the shapes).

#include "meta/inspect.h"

#include <string.h>  // strverscmp (GNU)

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nydus::meta {

namespace {

uint64_t InodeNumber(const Image& image, const Inode& inode) {
  return image.IsV6() && inode.nid != 0 ? inode.nid : inode.ino;
}

// Splits "/a/b" into components; "" and "." components are skipped.
std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string part = path.substr(pos, next - pos);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    pos = next + 1;
  }
  return parts;
}

// Finds the node at `path` and its parent (the root is its own parent).
Status Lookup(const Image& image, const std::string& path, const Node** node, const Node** parent) {
  if (!image.root) return Status::NotFound("image has no root");
  const Node* cur = image.root.get();
  const Node* par = cur;
  for (const auto& part : SplitPath(path)) {
    if (!cur->inode->IsDir()) return Status::InvalidArgument(path + ": not a directory");
    const Node* child = cur->FindChild(part);
    if (child == nullptr) return Status::NotFound(path + ": no such file or directory");
    par = cur;
    cur = child;
  }
  *node = cur;
  *parent = par;
  return Status::OK();
}

const char* LsSign(const Inode& inode) {
  if (inode.IsReg()) return "-";
  if (inode.IsDir()) return "d";
  if (inode.IsSymlink()) return "l";
  return " ";
}

std::string Octal(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%o", v);
  return buf;
}

Json ChunkJson(const Image& image, const ChunkInfo& c, uint64_t i) {
  std::string blob_id =
      c.blob_index < image.blobs.size() ? image.blobs[c.blob_index].blob_id : std::string();
  return Json{{"file_offset", i * image.chunk_size},
              {"chunk_index", c.index},
              {"compressed_size", c.compressed_size},
              {"decompressed_size", c.uncompressed_size},
              {"compressed_offset", c.compressed_offset},
              {"decompressed_offset", c.uncompressed_offset},
              {"blob_id", blob_id},
              {"chunk_id", DigestHex(c.digest)}};
}

// The reference's format_blob_features().
std::string FeatureNames(uint32_t f) {
  static const struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {
      {format::kBlobAligned, "aligned"},
      {format::kBlobCapTarToc, "cap_toc"},
      {format::kBlobInlinedChunkDigest, "chunk-digest"},
      {format::kBlobChunkInfoV2, "chunk-v2"},
      {format::kBlobInlinedFsMeta, "fs-meta"},
      {format::kBlobSeparate, "separate"},
      {format::kBlobSeparatedPrefetch, "separated-prefetch"},  // ours; the reference omits it
      {format::kBlobHasTarHeader, "tar-header"},
      {format::kBlobHasToc, "toc"},
      {format::kBlobZran, "zran"},
  };
  std::string out;
  for (const auto& n : kNames) {
    if (!(f & n.bit)) continue;
    if (!out.empty()) out += ' ';
    out += n.name;
  }
  return out;
}

const char* TreeType(const Inode& inode) {
  switch (inode.mode & S_IFMT) {
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "link";
    case S_IFCHR:
      return "char";
    case S_IFBLK:
      return "block";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    default:
      return "file";
  }
}

constexpr int kMaxSymlinkHops = 40;  // Linux MAXSYMLINKS
// Path components walked per resolution; bounds the cost of hostile link chains (real
// targets take a handful).
constexpr int kMaxResolveSteps = 256;

// Walks `target` from the directory stack `stack` (root first), following symlinks inside
// the image (absolute targets start at the image root). Returns the stack ending at the node
// reached, or nullopt when a component is missing or not a directory, on a link loop, or
// when the step budget runs out.
std::optional<std::vector<const Node*>> Resolve(std::vector<const Node*> stack,
                                                const std::string& target, int* hops, int* steps) {
  if (!target.empty() && target[0] == '/') stack.resize(1);
  for (const auto& comp : SplitPath(target)) {
    if (--*steps < 0) return std::nullopt;
    const Node* cur = stack.back();
    if (!cur->inode->IsDir()) return std::nullopt;
    if (comp == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    const Node* child = cur->FindChild(comp);
    if (child == nullptr) return std::nullopt;
    if (!child->inode->IsSymlink()) {
      stack.push_back(child);
      continue;
    }
    if (++*hops > kMaxSymlinkHops) return std::nullopt;
    auto next = Resolve(stack, child->inode->symlink, hops, steps);
    if (!next) return std::nullopt;
    stack = std::move(*next);
  }
  return stack;
}

// `tree` counts a symlink whose target (followed) is a directory as a directory.
bool CountsAsDir(const Node& node, const std::vector<const Node*>& stack) {
  if (node.inode->IsDir()) return true;
  if (!node.inode->IsSymlink()) return false;
  int hops = 0, steps = kMaxResolveSteps;
  auto r = Resolve(stack, node.inode->symlink, &hops, &steps);
  return r && r->back()->inode->IsDir();
}

// `stack` holds the directories from the root down to `node` (inclusive).
Json TreeEntry(const Node& node, const std::string& name, std::vector<const Node*>* stack,
               uint64_t* dirs, uint64_t* files) {
  Json j{{"type", TreeType(*node.inode)}, {"name", name}};
  if (node.inode->IsSymlink()) {
    j["target"] = node.inode->symlink;
    j["contents"] = Json::array();
  }
  if (!node.inode->IsDir()) return j;
  std::vector<const Node*> kids;
  for (const auto& c : node.children) kids.push_back(c.get());
  std::stable_sort(kids.begin(), kids.end(), [](const Node* a, const Node* b) {
    return strverscmp(a->name.c_str(), b->name.c_str()) < 0;
  });
  Json contents = Json::array();
  for (const Node* k : kids) {
    ++*(CountsAsDir(*k, *stack) ? dirs : files);
    if (k->inode->IsDir()) stack->push_back(k);
    contents.push_back(TreeEntry(*k, k->name, stack, dirs, files));
    if (k->inode->IsDir()) stack->pop_back();
  }
  j["contents"] = std::move(contents);
  return j;
}

}  // namespace

Json InspectStats(const Image& image) {
  uint64_t count = 0;
  if (image.root) {
    std::unordered_set<const Inode*> inodes;
    WalkTree(*image.root, [&](const Node& node, const std::string&) {
      ++count;
      if (&node != image.root.get()) inodes.insert(node.inode.get());
      return true;
    });
    if (!image.IsV6()) count = inodes.size();
  }
  return Json{{"inodes_count", count}};
}

Result<Json> InspectLs(const Image& image, const std::string& path) {
  const Node *node, *parent;
  RETURN_IF_ERROR(Lookup(image, path, &node, &parent));
  if (!node->inode->IsDir()) return Status::InvalidArgument(path + ": not a directory");
  Json out = Json::array();
  for (const auto& c : node->children) {
    out.push_back(Json{
        {"type", LsSign(*c->inode)}, {"inode", InodeNumber(image, *c->inode)}, {"name", c->name}});
  }
  return out;
}

Result<Json> InspectStat(const Image& image, const std::string& path) {
  const Node *node, *parent;
  RETURN_IF_ERROR(Lookup(image, path, &node, &parent));
  const Inode& in = *node->inode;
  std::string name = node->name;
  if (node == image.root.get()) name = image.IsV6() ? "" : "/";
  Json chunks = Json::array();
  for (size_t i = 0; i < in.chunks.size(); ++i) chunks.push_back(ChunkJson(image, in.chunks[i], i));
  return Json{{"inode_number", InodeNumber(image, in)},
              {"name", name},
              {"size", in.size},
              {"parent", InodeNumber(image, *parent->inode)},
              {"mode", in.mode},
              {"permissions", Octal(in.mode)},
              {"nlink", in.nlink},
              {"uid", in.uid},
              {"gid", in.gid},
              {"mtime", in.mtime},
              {"mtime_nsec", in.mtime_nsec},
              {"blocks", in.size / 512 + (in.size % 512 != 0)},
              {"chunks", std::move(chunks)}};
}

Json InspectBlobs(const Image& image) {
  Json out = Json::array();
  for (const auto& b : image.blobs) {
    out.push_back(Json{{"blob_id", b.blob_id},
                       {"readahead_offset", b.readahead_offset},
                       {"readahead_size", b.readahead_size},
                       {"decompressed_size", b.uncompressed_size},
                       {"compressed_size", b.compressed_size},
                       {"uncompressed_size", b.uncompressed_size}});
  }
  return out;
}

Json InspectPrefetch(const Image& image) {
  Json out = Json::array();
  if (!image.root) return out;
  std::unordered_map<const Inode*, std::vector<std::string>> paths;
  WalkTree(*image.root, [&](const Node& node, const std::string& p) {
    paths[node.inode.get()].push_back(p);
    return true;
  });
  for (const auto& p : image.prefetch) {
    const Node *node, *parent;
    if (!Lookup(image, p, &node, &parent).ok()) continue;
    Json list = Json::array();
    if (node == image.root.get()) {
      list.push_back(image.IsV6() ? "" : "/");
    } else if (image.IsV6() && !node->inode->IsDir()) {
      for (const auto& q : paths[node->inode.get()]) list.push_back(q);
    } else {
      list.push_back(p);
    }
    out.push_back(Json{{"inode", InodeNumber(image, *node->inode)}, {"path", std::move(list)}});
  }
  return out;
}

std::string FormatBlobTable(const Image& image) {
  std::string out;
  for (size_t i = 0; i < image.blobs.size(); ++i) {
    const BlobInfo& b = image.blobs[i];
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  ", compressed data size 0x%" PRIx64 ", compressed file size 0x%" PRIx64
                  ", uncompressed file size 0x%" PRIx64 ", chunks: 0x%x, features: ",
                  b.CompressedDataSize(), b.compressed_size, b.uncompressed_size, b.chunk_count);
    out += "\t " + std::to_string(i) + ": " + b.blob_id + buf + FeatureNames(b.features) + "\n";
  }
  return out;
}

Json TreeListing(const Image& image) {
  uint64_t dirs = 0, files = 0;
  Json out = Json::array();
  if (image.root) {
    std::vector<const Node*> stack{image.root.get()};
    out.push_back(TreeEntry(*image.root, "", &stack, &dirs, &files));
  }
  out.push_back(Json{{"type", "report"}, {"directories", dirs}, {"files", files}});
  return out;
}

}  // namespace nydus::meta
