// V6DirectView: the ImageView over the raw bytes of a RAFS v6 bootstrap, decoded on demand
// (the reference nydusd's "direct" metadata mode, rafs/src/metadata/direct_v6.rs).
//
// Opening validates only what is global and cheap — the superblocks, device table, blob table,
// the prefetch and chunk table regions, and the root inode — with the checks and messages of
// the full reader (ReadBootstrap), and builds nothing per inode. Afterwards each call decodes
// exactly the inode, directory blocks, xattr area, symlink target or chunk index entries it
// needs, with the same bounds and consistency checks as the full reader (the decoder is shared:
// meta/bootstrap_reader_v6.h); a failure is a Corruption naming the nid ("v6: inode nid N: ...")
// and affects only that inode. Lookup binary-searches the directory blocks by their first name,
// then the block. The chunk table index (needed to turn chunk index entries into ChunkInfos) is
// built once, on the first Chunks() call; a corrupt chunk table then fails every Chunks() call
// with the full reader's message.
//
// Ids are nids. GetInode and the other calls answer NotFound for nid 0 and for nids whose
// inode slot would lie past the end of the file; any other nid is decoded (the kernel only asks
// for nids this view handed out). Not checked, unlike the full reader: directories reachable
// twice (cycles), tree depth, path length, "." / ".." of directories that are only looked up
// into (ReadDir does not check them either), prefetch entries (header().prefetch stays empty;
// PrefetchIds() lists the raw nids).
//
// Ownership: owns the mapping (or the bytes); ids, names and values returned are copies.
// Thread-safety: every method may be called concurrently (the lazy chunk table uses
// std::call_once).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/bytes.h"
#include "meta/bootstrap_reader.h"
#include "meta/bootstrap_reader_v6.h"
#include "meta/image_view.h"

namespace nydus::meta {

class V6DirectView final : public ImageView {
 public:
  // Maps `path` read-only (MAP_PRIVATE). Errors carry the path, like ReadBootstrapFile's.
  static Result<std::shared_ptr<const V6DirectView>> Open(const std::string& path,
                                                          const ReadOptions& opts = {});
  // Over a copy held in memory (tests, fuzzing).
  static Result<std::shared_ptr<const V6DirectView>> FromBytes(Bytes data,
                                                               const ReadOptions& opts = {});
  // Over `data`, kept valid by `owner` for the view's lifetime.
  static Result<std::shared_ptr<const V6DirectView>> FromSpan(ByteSpan data,
                                                              std::shared_ptr<const void> owner,
                                                              const ReadOptions& opts = {});
  ~V6DirectView() override;

  const Image& header() const override { return h_.image; }
  uint64_t root_id() const override { return h_.sb.s_root_nid; }
  std::vector<uint64_t> PrefetchIds() const override;
  uint64_t inode_count() const override { return h_.sb.s_inos; }
  uint64_t BlockCount(uint32_t bsize) const override;

  Result<InodeAttrs> GetInode(uint64_t id) const override;
  Result<ViewEntry> Lookup(uint64_t dir, std::string_view name) const override;
  Status ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const override;
  Result<std::string> ReadLink(uint64_t id) const override;
  Result<std::vector<Xattr>> Xattrs(uint64_t id) const override;
  Status Chunks(uint64_t id, uint64_t offset, uint64_t len,
                std::vector<ChunkInfo>* out) const override;

 private:
  V6DirectView() = default;
  Status Init(ByteSpan data, const ReadOptions& opts);
  // NotFound for ids no inode slot can have; otherwise the fully checked inode (xattrs are
  // validated and dropped unless `xattrs` is set).
  Result<internal::V6Inode> Load(uint64_t id, std::vector<Xattr>* xattrs = nullptr) const;
  Result<internal::V6Inode> LoadDir(uint64_t id) const;
  Result<const internal::V6ChunkTable*> ChunkTable() const;

  std::shared_ptr<const void> owner_;  // keeps the bytes alive
  internal::V6Header h_;               // h_.ctx.data spans the bytes
  mutable std::once_flag chunks_once_;
  mutable Status chunks_status_;
  mutable internal::V6ChunkTable chunks_;
};

}  // namespace nydus::meta
