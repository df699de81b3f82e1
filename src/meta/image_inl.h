// Template implementations for image.h.
#pragma once

#include <string>

namespace nydus::meta {

namespace internal {
template <typename Fn>
bool WalkTreeImpl(const Node& node, const std::string& path, Fn& fn) {
  if (!fn(node, path)) return false;
  for (const auto& child : node.children) {
    std::string p = ChildPath(path, child->name);
    if (!WalkTreeImpl(*child, p, fn)) return false;
  }
  return true;
}
}  // namespace internal

template <typename Fn>
void WalkTree(const Node& root, Fn&& fn) {
  internal::WalkTreeImpl(root, "/", fn);
}

}  // namespace nydus::meta
