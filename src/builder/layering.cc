#include "builder/layering.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nydus::builder {
namespace {

using NodeList = std::vector<std::unique_ptr<meta::Node>>;

constexpr std::string_view kOciWhiteoutPrefix = ".wh.";
constexpr std::string_view kOciOpaqueName = ".wh..wh..opq";
constexpr char kOverlayOpaqueXattr[] = "trusted.overlay.opaque";

enum class Marker { kNone, kOciRemoval, kOciOpaque, kOverlayRemoval, kOverlayOpaque };

// Strict UTF-8 check (no overlong forms, surrogates or code points above U+10FFFF), the
// condition under which the reference (Rust OsStr::to_str) looks at whiteout names at all.
bool IsValidUtf8(std::string_view s) {
  static constexpr uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
    } else {
      return false;
    }
    uint32_t cp = c & (0x7Fu >> len);  // payload bits of the lead byte
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < kMinForLen[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool IsOverlayOpaqueDir(const meta::Inode& inode) {
  if (!inode.IsDir()) return false;
  const meta::Xattr* x = inode.FindXattr(kOverlayOpaqueXattr);
  return x != nullptr && x->value == "y";
}

Marker Classify(const meta::Node& node, WhiteoutSpec spec) {
  const meta::Inode& inode = *node.inode;
  switch (spec) {
    case WhiteoutSpec::kOci:
      if (!IsValidUtf8(node.name)) return Marker::kNone;
      if (node.name == kOciOpaqueName) return Marker::kOciOpaque;
      if (node.name.starts_with(kOciWhiteoutPrefix)) return Marker::kOciRemoval;
      return Marker::kNone;
    case WhiteoutSpec::kOverlayfs:
      if (inode.IsChr() && major(inode.rdev) == 0 && minor(inode.rdev) == 0) {
        return Marker::kOverlayRemoval;
      }
      return IsOverlayOpaqueDir(inode) ? Marker::kOverlayOpaque : Marker::kNone;
    case WhiteoutSpec::kNone:
      return Marker::kNone;
  }
  return Marker::kNone;
}

void StripOpaqueXattr(meta::Inode* inode) {
  std::erase_if(inode->xattrs, [](const meta::Xattr& x) { return x.name == kOverlayOpaqueXattr; });
}

void PrepareDir(meta::Node* dir, WhiteoutSpec spec) {
  std::erase_if(dir->children, [spec](const std::unique_ptr<meta::Node>& c) {
    Marker m = Classify(*c, spec);
    return m != Marker::kNone && m != Marker::kOverlayOpaque;
  });
  for (auto& child : dir->children) {
    if (Classify(*child, spec) == Marker::kOverlayOpaque) StripOpaqueXattr(child->inode.get());
    if (child->inode->IsDir()) PrepareDir(child.get(), spec);
  }
}

// Applies the whiteouts among `upper` to lower's children; returns the other upper nodes
// (additions and modifications), opaque-xattr already stripped.
NodeList ApplyWhiteouts(meta::Node* lower, NodeList upper, WhiteoutSpec spec) {
  NodeList changes;
  changes.reserve(upper.size());
  for (auto& u : upper) {
    switch (Classify(*u, spec)) {
      case Marker::kOciRemoval:
        lower->RemoveChild(u->name.substr(kOciWhiteoutPrefix.size()));
        break;
      case Marker::kOciOpaque:
        lower->children.clear();
        break;
      case Marker::kOverlayRemoval:
        lower->RemoveChild(u->name);
        break;
      case Marker::kOverlayOpaque:
        if (meta::Node* l = lower->FindChild(u->name)) l->children.clear();
        StripOpaqueXattr(u->inode.get());
        changes.push_back(std::move(u));
        break;
      case Marker::kNone:
        changes.push_back(std::move(u));
        break;
    }
  }
  return changes;
}

// Merges the upper children of one directory into the matching lower directory.
void MergeChildren(meta::Node* lower, NodeList upper, WhiteoutSpec spec) {
  if (!std::is_sorted(lower->children.begin(), lower->children.end(),
                      [](const auto& a, const auto& b) { return a->name < b->name; })) {
    lower->SortChildren();
  }
  for (auto& u : ApplyWhiteouts(lower, std::move(upper), spec)) {
    NodeList grandchildren = std::move(u->children);
    u->children.clear();
    const bool upper_is_dir = u->inode->IsDir();
    meta::Node* target = lower->FindChild(u->name);
    if (target != nullptr) {
      // Modification: take the upper Inode; keep lower children only dir-over-dir.
      if (!upper_is_dir || !target->inode->IsDir()) target->children.clear();
      target->inode = std::move(u->inode);
    } else {
      target = u.get();
      lower->PutChild(std::move(u));
    }
    if (upper_is_dir) MergeChildren(target, std::move(grandchildren), spec);
  }
}

void CountNames(const meta::Node& node, std::unordered_map<const meta::Inode*, uint32_t>* names) {
  if (!node.inode->IsDir()) ++(*names)[node.inode.get()];
  for (const auto& child : node.children) CountNames(*child, names);
}

void NormalizeNode(meta::Node* node, const std::unordered_map<const meta::Inode*, uint32_t>& names,
                   bool explicit_uidgid) {
  meta::Inode* inode = node->inode.get();
  if (inode->IsDir()) {
    uint32_t subdirs = 0;
    for (const auto& child : node->children) subdirs += child->inode->IsDir() ? 1 : 0;
    inode->nlink = 2 + subdirs;
  } else {
    inode->nlink = names.at(inode);
  }
  if (!explicit_uidgid) {
    inode->uid = 0;
    inode->gid = 0;
  }
  inode->projid = 0;
  for (auto& child : node->children) NormalizeNode(child.get(), names, explicit_uidgid);
}

bool IsDirRoot(const meta::Node* root) {
  return root != nullptr && root->inode != nullptr && root->inode->IsDir();
}

}  // namespace

void PrepareSingleLayer(meta::Node* root, WhiteoutSpec spec) {
  if (!IsDirRoot(root) || spec == WhiteoutSpec::kNone) return;
  PrepareDir(root, spec);
}

Status ApplyUpperLayer(meta::Node* lower, std::unique_ptr<meta::Node> upper, WhiteoutSpec spec) {
  if (!IsDirRoot(lower))
    return Status::InvalidArgument("apply layer: lower root is not a directory");
  if (!IsDirRoot(upper.get())) {
    return Status::InvalidArgument("apply layer: upper root is not a directory");
  }
  if (spec == WhiteoutSpec::kOverlayfs && IsOverlayOpaqueDir(*upper->inode)) {
    lower->children.clear();
  }
  lower->inode = std::move(upper->inode);
  MergeChildren(lower, std::move(upper->children), spec);
  return Status::OK();
}

void NormalizeTree(meta::Node* root, bool explicit_uidgid) {
  if (root == nullptr || root->inode == nullptr) return;
  std::unordered_map<const meta::Inode*, uint32_t> names;
  CountNames(*root, &names);
  NormalizeNode(root, names, explicit_uidgid);
  root->inode->mtime = 0;
  root->inode->mtime_nsec = 0;
}

}  // namespace nydus::builder
