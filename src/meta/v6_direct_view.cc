// V6DirectView: opening (mmap), inode attributes, symlinks, xattrs and chunks. Directory
// operations are in v6_direct_view_dir.cc.
#include "meta/v6_direct_view.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/file_util.h"
#include "format/rafs.h"
#include "format/v6.h"

namespace nydus::meta {

using internal::StrFormat;
using internal::V6Inode;

Result<std::shared_ptr<const V6DirectView>> V6DirectView::FromSpan(
    ByteSpan data, std::shared_ptr<const void> owner, const ReadOptions& opts) {
  std::shared_ptr<V6DirectView> view(new V6DirectView());
  view->owner_ = std::move(owner);
  RETURN_IF_ERROR(view->Init(data, opts));
  return std::shared_ptr<const V6DirectView>(std::move(view));
}

Result<std::shared_ptr<const V6DirectView>> V6DirectView::FromBytes(Bytes data,
                                                                    const ReadOptions& opts) {
  auto owned = std::make_shared<const Bytes>(std::move(data));
  ByteSpan span(*owned);
  return FromSpan(span, std::move(owned), opts);
}

Result<std::shared_ptr<const V6DirectView>> V6DirectView::Open(const std::string& path,
                                                               const ReadOptions& opts) {
  // The same open/stat/size messages as ReadWholeFile, which ReadBootstrapFile uses.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > format::kMaxMetadataSize) {
    return Status::InvalidArgument(path + ": file too large (" + std::to_string(size) + " bytes)");
  }
  std::shared_ptr<const void> owner;
  ByteSpan data;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return Status::FromErrno(errno, "mmap " + path);
    // Start reading the metadata in the background: mounting does not wait for it, and the
    // first walk then finds it in the page cache (a cold `find` otherwise faults the
    // bootstrap in page by page). Advice only; failure is harmless.
    (void)::madvise(p, size, MADV_WILLNEED);
    owner = std::shared_ptr<const void>(
        p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
    data = ByteSpan(static_cast<const uint8_t*>(p), size);
  }
  auto view = FromSpan(data, std::move(owner), opts);
  if (!view.ok()) return view.status().WithContext(path);
  return view;
}

V6DirectView::~V6DirectView() = default;

Status V6DirectView::Init(ByteSpan data, const ReadOptions& opts) {
  if (data.size() > format::kMaxMetadataSize) {
    return Status::Corruption(
        StrFormat("bootstrap size %zu exceeds the 2 GiB metadata limit", data.size()));
  }
  if (data.size() < format::kV6SuperBlockOffset + 4 ||
      LoadLE32(data.data() + format::kV6SuperBlockOffset) != format::kErofsMagic) {
    return Status::Corruption(
        StrFormat("not a RAFS v6 bootstrap (%zu bytes): no EROFS magic at 1024", data.size()));
  }
  RETURN_IF_ERROR(internal::ReadV6Header(data, opts, &h_));
  // The root must decode and be a directory, as the full reader requires.
  const uint64_t root = h_.sb.s_root_nid;
  V6Inode d;
  RETURN_IF_ERROR(internal::LoadV6Inode(h_.ctx, root, &d, nullptr));
  if (!d.attrs.IsDir()) return internal::Corrupt("v6: root nid %lu is not a directory", root);
  return Status::OK();
}

uint64_t V6DirectView::BlockCount(uint32_t bsize) const {
  uint64_t total = 0;
  for (const BlobInfo& b : h_.image.blobs) {
    total += b.uncompressed_size / bsize + (b.uncompressed_size % bsize != 0 ? 1 : 0);
  }
  return total;
}

std::vector<uint64_t> V6DirectView::PrefetchIds() const {
  std::vector<uint64_t> ids;
  for (uint64_t i = 0; i < h_.prefetch_size / 4; ++i) {
    const uint32_t nid = LoadLE32(h_.ctx.data.data() + h_.prefetch_off + i * 4);
    if (nid == 0) break;  // padding
    ids.push_back(nid);
  }
  return ids;
}

Result<V6Inode> V6DirectView::Load(uint64_t id, std::vector<Xattr>* xattrs) const {
  const uint64_t size = h_.ctx.data.size();
  if (id == 0 || id >= (size - std::min(size, h_.ctx.meta_base)) / format::kV6InodeSlotSize) {
    return Status::NotFound(StrFormat("v6: no inode with nid %lu", id));
  }
  V6Inode d;
  RETURN_IF_ERROR(internal::LoadV6Inode(h_.ctx, id, &d, xattrs));
  return d;
}

Result<V6Inode> V6DirectView::LoadDir(uint64_t id) const {
  ASSIGN_OR_RETURN(V6Inode d, Load(id));
  if (!d.attrs.IsDir()) {
    return Status::InvalidArgument(StrFormat("v6: inode nid %lu is not a directory", id));
  }
  return d;
}

Result<InodeAttrs> V6DirectView::GetInode(uint64_t id) const {
  ASSIGN_OR_RETURN(V6Inode d, Load(id));
  return d.attrs;
}

Result<std::string> V6DirectView::ReadLink(uint64_t id) const {
  ASSIGN_OR_RETURN(V6Inode d, Load(id));
  if (!d.attrs.IsSymlink()) {
    return Status::InvalidArgument(StrFormat("v6: inode nid %lu is not a symlink", id));
  }
  Result<std::string> target = internal::ReadV6Symlink(h_.ctx, d);
  if (!target.ok()) return target.status().WithContext(StrFormat("v6: inode nid %lu", id));
  return target;
}

Result<std::vector<Xattr>> V6DirectView::Xattrs(uint64_t id) const {
  std::vector<Xattr> xattrs;
  ASSIGN_OR_RETURN(V6Inode d, Load(id, &xattrs));
  (void)d;
  return xattrs;
}

Result<const internal::V6ChunkTable*> V6DirectView::ChunkTable() const {
  std::call_once(chunks_once_, [this] { chunks_status_ = BuildV6ChunkTable(h_, &chunks_); });
  if (!chunks_status_.ok()) return chunks_status_;
  return &chunks_;
}

Status V6DirectView::Chunks(uint64_t id, uint64_t offset, uint64_t len,
                            std::vector<ChunkInfo>* out) const {
  ASSIGN_OR_RETURN(V6Inode d, Load(id));
  if (!d.attrs.IsReg()) {
    return Status::InvalidArgument(StrFormat("v6: inode nid %lu is not a regular file", id));
  }
  out->clear();
  const uint64_t size = d.attrs.size;
  if (len == 0 || offset >= size || d.layout != format::kV6ChunkBased) return Status::OK();
  ASSIGN_OR_RETURN(const internal::V6ChunkTable* table, ChunkTable());
  const uint64_t cs = h_.ctx.chunk_size;
  const uint64_t end = offset + std::min(len, size - offset);
  const uint64_t first = offset / cs, last = (end - 1) / cs;
  out->resize(last - first + 1);
  for (uint64_t i = first; i <= last; ++i) {
    Status st = internal::ReadV6Chunk(h_.ctx, *table, d, i, &(*out)[i - first]);
    if (!st.ok()) {
      out->clear();
      return st.WithContext(StrFormat("v6: inode nid %lu", id));
    }
  }
  return Status::OK();
}

}  // namespace nydus::meta
