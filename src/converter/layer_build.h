// The per-layer build steps of `nydusify convert` (convert.h), in-process or through an
// external `nydus-image` binary (--nydus-image):
//  - PackLayer: one layer tarball (tar.gz) → a standalone per-layer bootstrap plus its data
//    blob in blob_dir (targz-rafs, OCI whiteouts kept as marker files, no parent), the
//    reference nydusify's "pack" step. Packs of different layers are independent, so they
//    run concurrently.
//  - MergeOnto: parent image bootstrap (or none for the lowest layer) + one pack → the image
//    bootstrap up to that layer (merge semantics of builder/merge.h: OCI whiteouts applied,
//    the pack's blob keeps its own id). Chained layer after layer this yields
//    <work>/bootstraps/<N>-sha256:<hex>, each a mountable image of layers 1..N.
// Both write a `-J`-style JSON next to the bootstrap (json_out) listing the blobs.
// Thread-safety: independent calls may run concurrently (they share no state).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "converter/convert.h"

namespace nydus::converter {

struct LayerBuild {
  std::string bootstrap;
  std::string new_blob_id;            // "" if the layer has no file data
  std::vector<std::string> blob_ids;  // every blob the bootstrap references, table order
};

// `blob_tee` (in-process builds only, i.e. o.nydus_image empty) sees every byte of the new
// data blob as it is written (builder::BuildOptions::blob_tee).
Result<LayerBuild> PackLayer(const ConvertOptions& o, const std::string& layer_targz,
                             const std::string& boot, const std::string& blob_dir,
                             const std::string& json_out,
                             std::function<void(ByteSpan)> blob_tee = {});

// `parent` "" = the pack becomes the lowest layer. `pack` is PackLayer's result.
Result<LayerBuild> MergeOnto(const ConvertOptions& o, const std::string& parent,
                             const LayerBuild& pack, const std::string& boot,
                             const std::string& blob_dir, const std::string& json_out);

}  // namespace nydus::converter
