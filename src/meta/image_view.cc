// OpenImageView: chooses between V6DirectView and a full decode + TreeImageView.
#include "meta/image_view.h"

#include <fcntl.h>
#include <unistd.h>

#include <unordered_set>
#include <vector>

#include "base/file_util.h"
#include "format/rafs.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "meta/tree_image_view.h"
#include "meta/v6_direct_view.h"

namespace nydus::meta {
namespace {

// True when `path` starts like a v6 bootstrap: no v5 magic at 0, the EROFS magic at 1024
// (the order ReadBootstrap tries them in). False on any read error: the full reader then
// reports it.
bool LooksLikeV6(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  uint8_t head[format::kV6SuperBlockOffset + 4];
  if (!PreadFull(fd.get(), head, sizeof(head), 0, path).ok()) return false;
  return LoadLE32(head) != format::kRafsV5Magic &&
         LoadLE32(head + format::kV6SuperBlockOffset) == format::kErofsMagic;
}

}  // namespace

Result<std::shared_ptr<const ImageView>> OpenImageView(const std::string& path, bool direct) {
  if (direct && LooksLikeV6(path)) {
    ASSIGN_OR_RETURN(std::shared_ptr<const V6DirectView> view, V6DirectView::Open(path));
    return std::shared_ptr<const ImageView>(std::move(view));
  }
  ASSIGN_OR_RETURN(Image image, ReadBootstrapFile(path));
  ASSIGN_OR_RETURN(std::shared_ptr<const TreeImageView> view,
                   TreeImageView::Create(std::make_shared<const Image>(std::move(image))));
  return std::shared_ptr<const ImageView>(std::move(view));
}

Status VisitChunks(const ImageView& view, const std::function<bool(const ChunkInfo&)>& fn) {
  std::unordered_set<uint64_t> seen;
  std::vector<uint64_t> stack{view.root_id()};
  std::vector<ChunkInfo> chunks;
  while (!stack.empty()) {
    const uint64_t id = stack.back();
    stack.pop_back();
    if (!seen.insert(id).second) continue;
    ASSIGN_OR_RETURN(InodeAttrs attrs, view.GetInode(id));
    if (attrs.IsDir()) {
      RETURN_IF_ERROR(
          view.ReadDir(id, 0, [&](std::string_view name, uint64_t child, uint32_t, uint64_t) {
            if (name != "." && name != "..") stack.push_back(child);
            return true;
          }));
      continue;
    }
    if (!attrs.IsReg() || attrs.size == 0) continue;
    chunks.clear();
    RETURN_IF_ERROR(view.Chunks(id, 0, attrs.size, &chunks));
    for (const ChunkInfo& c : chunks) {
      if (!fn(c)) return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace nydus::meta
