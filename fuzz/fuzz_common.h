// Shared body of the bootstrap fuzz targets.
#pragma once

#include <cstdlib>
#include <string>

#include "base/bytes.h"
#include "meta/bootstrap_reader.h"
#include "meta/image_stat.h"
#include "meta/inspect.h"

namespace nydus::fuzz {

// Decodes `data`. Errors must be Corruption; an accepted image must be consistent and the
// inspect reports must run on it. Any violation aborts, which libFuzzer reports as a crash.
inline void DecodeAndReport(ByteSpan data) {
  meta::ReadOptions opts;
  opts.max_nodes = 1u << 16;  // keep single runs fast; the bound itself is under test
  auto image = meta::ReadBootstrap(data, opts);
  if (!image.ok()) {
    if (image.status().code() != StatusCode::kCorruption) std::abort();
    return;
  }
  if (!image->root || !image->root->inode->IsDir()) std::abort();
  std::string first_child;
  meta::WalkTree(*image->root, [&](const meta::Node& n, const std::string& path) {
    for (const auto& c : n.inode->chunks) {
      if (c.blob_index >= image->blobs.size()) std::abort();
    }
    if (first_child.empty() && path != "/") first_child = path;
    return true;
  });
  for (const auto& p : image->prefetch) {
    if (!meta::InspectStat(*image, p).ok()) std::abort();  // prefetch paths must exist
  }
  (void)meta::InspectStats(*image);
  (void)meta::InspectBlobs(*image);
  (void)meta::InspectPrefetch(*image);
  (void)meta::FormatBlobTable(*image);
  (void)meta::TreeListing(*image);
  {
    meta::ImageStat stat(/*dedup_enabled=*/true);
    stat.AddBase(*image);
    stat.AddBase(*image);
    stat.SetTarget(*image);
    stat.Finalize();
    (void)stat.ToJson();
    (void)stat.Report();
  }
  (void)meta::InspectLs(*image, "/");
  if (!first_child.empty()) (void)meta::InspectStat(*image, first_child);
}

}  // namespace nydus::fuzz
