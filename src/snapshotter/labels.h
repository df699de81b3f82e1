// Snapshot labels a containerd remote snapshotter reads, with the names the reference
// nydus-snapshotter uses (pkg/label), and the decisions taken from them.
//
// containerd passes a Prepare only the "inherited" labels: containerd.io/snapshot.ref (the
// chain id the caller will commit the layer as) and those prefixed "containerd.io/snapshot/".
// When an image is pulled with unpacking by a client that wraps its handlers with
// snapshotters.AppendInfoHandlerWrapper (the CRI plugin with disable_snapshot_annotations =
// false, nerdctl, ctr-remote rpull), every layer's manifest annotations with that prefix
// (nydus-blob, nydus-bootstrap, ...) plus the cri.* labels below arrive on its Prepare. `ctr
// image pull` of containerd 1.6 does not: it fetches every blob and unpacks with no labels.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "converter/image_ref.h"

namespace nydus::snapshotter {

using Labels = std::map<std::string, std::string>;

// Set by containerd on the Prepare of a layer being unpacked: the chain id it commits to.
inline constexpr char kLabelSnapshotRef[] = "containerd.io/snapshot.ref";
// Nydus layer annotations (set by the converter, see nydus-reference.md §5.3).
inline constexpr char kLabelNydusDataLayer[] = "containerd.io/snapshot/nydus-blob";
inline constexpr char kLabelNydusMetaLayer[] = "containerd.io/snapshot/nydus-bootstrap";
// snapshotters.AppendInfoHandlerWrapper labels.
inline constexpr char kLabelCriImageRef[] = "containerd.io/snapshot/cri.image-ref";
inline constexpr char kLabelCriManifestDigest[] = "containerd.io/snapshot/cri.manifest-digest";
inline constexpr char kLabelCriLayerDigest[] = "containerd.io/snapshot/cri.layer-digest";
inline constexpr char kLabelCriImageLayers[] = "containerd.io/snapshot/cri.image-layers";
// Registry credentials handed to the snapshotter as labels (reference pkg/auth/labels.go).
inline constexpr char kLabelPullUsername[] = "containerd.io/snapshot/pullusername";
inline constexpr char kLabelPullSecret[] = "containerd.io/snapshot/pullsecret";

// Like the reference: the presence of the label decides, whatever its value.
inline bool IsNydusDataLayer(const Labels& l) { return l.count(kLabelNydusDataLayer) != 0; }
inline bool IsNydusMetaLayer(const Labels& l) { return l.count(kLabelNydusMetaLayer) != 0; }

// The chain id containerd wants the layer committed as, "" when the Prepare is not an unpack.
std::string TargetSnapshotRef(const Labels& l);

// What a Prepare should do.
enum class PrepareAction {
  kNormal,      // an ordinary writable snapshot (OCI layer to unpack, container rootfs)
  kSkipRemote,  // a Nydus data blob layer: commit it empty at once, containerd skips it
};
PrepareAction ChoosePrepareAction(const Labels& labels);

// The image a Nydus meta-layer snapshot belongs to (cri.image-ref). InvalidArgument naming
// the missing label (the image was pulled without snapshot annotations).
Result<converter::ImageRef> ImageRefFromLabels(const Labels& labels);

// Credentials to hand to nydusd: the pull labels when both are set, else the docker config
// at `docker_config_path` (auths entry for the image's host), else none.
Result<converter::Credentials> ImageCredentials(const Labels& labels,
                                                const converter::ImageRef& ref,
                                                const std::string& docker_config_path);

}  // namespace nydus::snapshotter
