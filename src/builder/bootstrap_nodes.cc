#include "builder/bootstrap_nodes.h"

#include <sys/stat.h>

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/bytes.h"
#include "format/rafs.h"

namespace nydus::builder::internal {
namespace {

constexpr uint64_t kMaxNodes = 1ull << 31;

Status CheckName(const std::string& parent_path, const std::string& name) {
  auto where = [&] { return "bootstrap writer: entry in " + parent_path; };
  if (name.empty()) return Status::InvalidArgument(where() + ": empty name");
  if (name.size() > format::kMaxNameLen) {
    return Status::InvalidArgument(where() + ": name longer than 255 bytes");
  }
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return Status::InvalidArgument(where() + ": name contains '/' or NUL");
  }
  if (name == "." || name == "..") return Status::InvalidArgument(where() + ": name " + name);
  return Status::OK();
}

// Collapses repeated slashes and drops a trailing one; "" for a relative pattern.
std::string NormalizePattern(std::string_view pattern) {
  if (pattern.empty() || pattern[0] != '/') return "";
  std::string out;
  size_t pos = 0;
  while (pos < pattern.size()) {
    while (pos < pattern.size() && pattern[pos] == '/') ++pos;
    size_t end = pattern.find('/', pos);
    if (end == std::string_view::npos) end = pattern.size();
    if (end > pos) out += "/" + std::string(pattern.substr(pos, end - pos));
    pos = end;
  }
  return out.empty() ? "/" : out;
}

// Appends the children of directory `dir_index` and returns the indexes of those that are
// directories, in name order.
Result<std::vector<uint32_t>> AppendChildren(
    uint32_t dir_index, std::vector<FlatNode>* nodes,
    std::unordered_map<const meta::Inode*, uint32_t>* first_links) {
  const meta::Node& dir = *(*nodes)[dir_index - 1].node;
  const std::string dir_path = (*nodes)[dir_index - 1].path;
  if (nodes->size() + dir.children.size() >= kMaxNodes) {
    return Status::InvalidArgument("bootstrap writer: too many nodes");
  }
  (*nodes)[dir_index - 1].child_index = static_cast<uint32_t>(nodes->size() + 1);
  (*nodes)[dir_index - 1].child_count = static_cast<uint32_t>(dir.children.size());
  std::vector<uint32_t> subdirs;
  for (size_t i = 0; i < dir.children.size(); ++i) {
    const meta::Node* child = dir.children[i].get();
    if (child == nullptr || child->inode == nullptr) {
      return Status::InvalidArgument("bootstrap writer: node without inode in " + dir_path);
    }
    RETURN_IF_ERROR(CheckName(dir_path, child->name));
    if (i > 0 && !(dir.children[i - 1]->name < child->name)) {
      return Status::InvalidArgument("bootstrap writer: children of " + dir_path +
                                     " not strictly sorted at '" + child->name + "'");
    }
    if (!meta::IsKnownFileType(child->inode->mode)) {
      return Status::InvalidArgument("bootstrap writer: unknown file type of " +
                                     meta::ChildPath(dir_path, child->name));
    }
    FlatNode flat;
    flat.node = child;
    flat.inode = child->inode.get();
    flat.path = meta::ChildPath(dir_path, child->name);
    flat.index = static_cast<uint32_t>(nodes->size() + 1);
    flat.parent = dir_index;
    auto [it, inserted] = first_links->emplace(flat.inode, flat.index);
    flat.first_link = it->second;
    if (flat.inode->IsDir()) {
      if (!inserted) {
        return Status::InvalidArgument("bootstrap writer: hardlinked directory " + flat.path);
      }
      subdirs.push_back(flat.index);
    } else if (!child->children.empty()) {
      return Status::InvalidArgument("bootstrap writer: non-directory with children: " + flat.path);
    }
    nodes->push_back(std::move(flat));
  }
  return subdirs;
}

}  // namespace

Result<std::vector<FlatNode>> FlattenTree(const meta::Node& root) {
  if (root.inode == nullptr || !root.inode->IsDir()) {
    return Status::InvalidArgument("bootstrap writer: root is not a directory");
  }
  std::vector<FlatNode> nodes;
  FlatNode top;
  top.node = &root;
  top.inode = root.inode.get();
  top.path = "/";
  top.index = 1;
  top.first_link = 1;
  nodes.push_back(std::move(top));
  std::unordered_map<const meta::Inode*, uint32_t> first_links{{root.inode.get(), 1}};
  // Directories still to visit; the top of the stack is visited next.
  std::vector<uint32_t> pending{1};
  while (!pending.empty()) {
    uint32_t dir = pending.back();
    pending.pop_back();
    ASSIGN_OR_RETURN(std::vector<uint32_t> subdirs, AppendChildren(dir, &nodes, &first_links));
    pending.insert(pending.end(), subdirs.rbegin(), subdirs.rend());
  }
  return nodes;
}

std::vector<uint32_t> MatchPrefetch(const std::vector<FlatNode>& nodes,
                                    const std::vector<std::string>& patterns) {
  std::vector<uint32_t> out;
  if (patterns.empty()) return out;
  std::unordered_map<std::string_view, uint32_t> by_path;
  for (const FlatNode& n : nodes) by_path.emplace(n.path, n.index);
  std::unordered_set<std::string> seen;
  for (const std::string& raw : patterns) {
    std::string pattern = NormalizePattern(raw);
    if (pattern.empty() || !seen.insert(pattern).second) continue;
    auto it = by_path.find(pattern);
    if (it == by_path.end()) continue;
    const meta::Inode& inode = *nodes[it->second - 1].inode;
    if (inode.IsReg() && inode.size == 0) continue;
    out.push_back(it->second);
  }
  return out;
}

uint64_t CountDistinctInodes(const std::vector<FlatNode>& nodes) {
  uint64_t count = 0;
  for (const FlatNode& n : nodes) count += n.IsFirstLink() ? 1 : 0;
  return count > 0 ? count - 1 : 0;
}

Status ValidateImageForWrite(const meta::Image& image) {
  if (image.root == nullptr) return Status::InvalidArgument("bootstrap writer: image has no root");
  if (!IsPowerOfTwo(image.chunk_size) || image.chunk_size < format::kMinChunkSize ||
      image.chunk_size > format::kMaxChunkSize) {
    return Status::InvalidArgument("bootstrap writer: invalid chunk size " +
                                   std::to_string(image.chunk_size));
  }
  return Status::OK();
}

Status ValidateFileChunks(const FlatNode& node, uint32_t chunk_size, size_t blob_count,
                          bool exact_count) {
  const meta::Inode& inode = *node.inode;
  for (size_t i = 0; i < inode.chunks.size(); ++i) {
    if (inode.chunks[i].blob_index >= blob_count) {
      return Status::InvalidArgument(
          "bootstrap writer: " + node.path + ": chunk " + std::to_string(i) + " refers to blob " +
          std::to_string(inode.chunks[i].blob_index) + " of " + std::to_string(blob_count));
    }
  }
  uint64_t expected = (inode.size + chunk_size - 1) / chunk_size;
  if (exact_count && inode.chunks.size() != expected) {
    return Status::InvalidArgument("bootstrap writer: " + node.path + ": " +
                                   std::to_string(inode.chunks.size()) + " chunks for size " +
                                   std::to_string(inode.size) + " (expected " +
                                   std::to_string(expected) + ")");
  }
  return Status::OK();
}

uint64_t BaseSuperFlags(const meta::Image& image, bool has_xattr) {
  uint64_t flags = format::CompressorFlag(image.compressor) | format::DigesterFlag(image.digester);
  if (image.explicit_uidgid) flags |= format::kFlagExplicitUidGid;
  if (has_xattr) flags |= format::kFlagHasXattr;
  return flags;
}

format::RafsV5ChunkInfo MakeChunkRecord(const meta::ChunkInfo& chunk) {
  format::RafsV5ChunkInfo rec{};
  std::copy(chunk.digest.begin(), chunk.digest.end(), rec.block_id);
  rec.blob_index = chunk.blob_index;
  rec.flags = chunk.flags;
  rec.compressed_size = chunk.compressed_size;
  rec.uncompressed_size = chunk.uncompressed_size;
  rec.compressed_offset = chunk.compressed_offset;
  rec.uncompressed_offset = chunk.uncompressed_offset;
  rec.file_offset = chunk.file_offset;
  rec.index = chunk.index;
  return rec;
}

}  // namespace nydus::builder::internal
