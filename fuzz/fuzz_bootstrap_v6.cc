// libFuzzer target: the RAFS v6 bootstrap decoder, the reports built on its output, and the
// on-demand V6DirectView over the same bytes. Every input is decoded as v6 (the EROFS magic
// is forced at 1024) and truncated to a multiple of 4096 bytes so mutations spend their time
// past the first checks.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "format/v6.h"
#include "fuzz/fuzz_common.h"
#include "meta/v6_direct_view.h"

namespace {

// Opens the direct view and walks the tree through it (ReadDir, Lookup, GetInode, Xattrs,
// ReadLink, Chunks) within a node budget: cycles and huge directories are legal for the view,
// crashes and non-Corruption errors on open are not.
void WalkDirectView(nydus::ByteSpan data) {
  using nydus::StatusCode;
  nydus::meta::ReadOptions opts;
  opts.max_nodes = 1u << 16;
  auto view = nydus::meta::V6DirectView::FromSpan(data, nullptr, opts);
  if (!view.ok()) {
    if (view.status().code() != StatusCode::kCorruption) std::abort();
    return;
  }
  const nydus::meta::ImageView& v = **view;
  uint64_t budget = 4096;
  auto spend = [&budget] { return budget > 0 && --budget > 0; };
  std::vector<uint64_t> dirs{v.root_id()};
  std::vector<nydus::meta::ChunkInfo> chunks;
  (void)v.PrefetchIds();
  while (!dirs.empty() && budget > 0) {
    const uint64_t dir = dirs.back();
    dirs.pop_back();
    std::vector<std::string> names;
    (void)v.ReadDir(dir, 0, [&](std::string_view name, uint64_t, uint32_t, uint64_t) {
      names.emplace_back(name);
      return spend();
    });
    (void)v.ReadDir(dir, names.size() / 2,
                    [&](std::string_view, uint64_t, uint32_t, uint64_t) { return --budget > 0; });
    for (const std::string& name : names) {
      if (!spend()) break;
      auto e = v.Lookup(dir, name);
      if (!e.ok()) continue;
      if (name == "." || name == "..") continue;
      if (e->attrs.IsDir()) dirs.push_back(e->id);
      (void)v.GetInode(e->id);
      (void)v.Xattrs(e->id);
      if (e->attrs.IsSymlink()) (void)v.ReadLink(e->id);
      if (e->attrs.IsReg()) {
        if (v.Chunks(e->id, 0, e->attrs.size, &chunks).ok()) {
          for (const auto& c : chunks) {
            if (c.blob_index >= v.header().blobs.size()) std::abort();
          }
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nydus::Bytes buf(data, data + (size & ~size_t{4095}));
  if (buf.size() >= nydus::format::kV6SuperBlockOffset + 4) {
    nydus::StoreLE32(buf.data() + nydus::format::kV6SuperBlockOffset, nydus::format::kErofsMagic);
  }
  nydus::fuzz::DecodeAndReport(buf);
  WalkDirectView(buf);
  return 0;
}
