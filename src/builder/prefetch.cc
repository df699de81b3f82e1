#include "builder/prefetch.h"

#include <string_view>
#include <unordered_set>
#include <utility>

namespace nydus::builder {
namespace {

constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kAsciiSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kAsciiSpace);
  return s.substr(begin, end - begin + 1);
}

// Path components of an absolute path, skipping empty and "." components.
std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") out.push_back(part);
    pos = end + 1;
  }
  return out;
}

// True when `path` equals `prefix` or lies below it (both normalised).
bool IsUnder(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

const meta::Node* Lookup(const meta::Node& root, std::string_view pattern) {
  const meta::Node* node = &root;
  for (std::string_view part : Components(pattern)) {
    node = node->FindChild(std::string(part));
    if (node == nullptr) return nullptr;
  }
  return node;
}

// Pre-order walk appending regular-file inodes not yet in `seen`; with `only_marked`, only
// those at or under a node in `marked`.
void CollectFiles(const meta::Node& node, const std::unordered_set<const meta::Node*>& marked,
                  bool only_marked, bool inside, std::unordered_set<const meta::Inode*>* seen,
                  std::vector<const meta::Inode*>* out) {
  inside = inside || marked.count(&node) != 0;
  const meta::Inode* inode = node.inode.get();
  if (inode->IsReg() && (inside || !only_marked) && seen->insert(inode).second) {
    out->push_back(inode);
  }
  for (const auto& child : node.children) {
    CollectFiles(*child, marked, only_marked, inside, seen, out);
  }
}

}  // namespace

Result<std::vector<std::string>> NormalizePrefetchPatterns(std::vector<std::string> raw) {
  std::vector<std::string> out;
  for (const std::string& line : raw) {
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) continue;
    if (trimmed.front() != '/') {
      return Status::InvalidArgument("prefetch pattern \"" + std::string(trimmed) +
                                     "\" is not an absolute path");
    }
    std::string normal;
    for (std::string_view part : Components(trimmed)) {
      normal += '/';
      normal += part;
    }
    if (normal.empty()) normal = "/";
    bool nested = false;
    for (const std::string& kept : out) nested = nested || IsUnder(normal, kept);
    if (!nested) out.push_back(std::move(normal));
  }
  return out;
}

std::vector<const meta::Node*> MatchPrefetch(const meta::Node& root,
                                             const std::vector<std::string>& patterns) {
  std::vector<const meta::Node*> out;
  for (const std::string& pattern : patterns) {
    const meta::Node* node = Lookup(root, pattern);
    if (node == nullptr) continue;
    if (node->inode->IsReg() && node->inode->size == 0) continue;
    out.push_back(node);
  }
  return out;
}

std::vector<const meta::Inode*> DataOrder(const meta::Node& root,
                                          const std::vector<std::string>& patterns) {
  std::unordered_set<const meta::Node*> marked;
  for (const std::string& pattern : patterns) {
    if (const meta::Node* node = Lookup(root, pattern)) marked.insert(node);
  }
  std::unordered_set<const meta::Inode*> seen;
  std::vector<const meta::Inode*> out;
  if (!marked.empty()) CollectFiles(root, marked, /*only_marked=*/true, false, &seen, &out);
  CollectFiles(root, marked, /*only_marked=*/false, false, &seen, &out);
  return out;
}

}  // namespace nydus::builder
