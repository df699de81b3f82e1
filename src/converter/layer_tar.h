// Layer archives for nydusify, over libarchive and zlib:
//  - the bootstrap layer (reference spec §3.7): a gzip-compressed tar holding the directory
//    `image` (0755) and the file `image/image.boot` (0444), then any extra files of the layer
//    (`nydusify optimize` adds `image/prefetch.files`, 0444), mtimes 0, uid/gid 0, so the same
//    inputs always give the same bytes;
//  - extracting `image/image.boot` from such a layer;
//  - unpacking an OCI layer (tar or tar.gz) onto a directory that holds the layers below it,
//    applying OCI whiteouts: `.wh.<name>` removes <name>, `.wh..wh..opq` empties its directory
//    of everything the lower layers put there. Entries are confined to the directory (absolute
//    paths and ".." are rejected); ownership, modes, mtimes and xattrs are restored.
// Thread-safety: no shared state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nydus::converter {

struct LayerFile {
  std::string path;
  std::string digest;   // sha256 of the compressed file, "sha256:…"
  std::string diff_id;  // sha256 of the uncompressed tar
  uint64_t size = 0;    // of the compressed file
};

// Writes the bootstrap layer for `bootstrap_path` to `out_path`. `extra`: more files of the
// layer, {name below `image/`, contents}, written after image.boot in this order.
Result<LayerFile> WriteBootstrapLayer(
    const std::string& bootstrap_path, const std::string& out_path,
    const std::vector<std::pair<std::string, std::string>>& extra = {});
// Writes `image/image.boot` of the layer at `layer_path` to `out_path`; NotFound if absent.
Status ExtractBootstrap(const std::string& layer_path, const std::string& out_path);
// Applies the layer at `layer_path` (tar, gzip detected) on top of directory `root`.
Status UnpackLayer(const std::string& layer_path, const std::string& root);

}  // namespace nydus::converter
