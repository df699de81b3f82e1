// Label decisions of the snapshotter (see the header).
#include "snapshotter/labels.h"

namespace nydus::snapshotter {

std::string TargetSnapshotRef(const Labels& l) {
  auto it = l.find(kLabelSnapshotRef);
  return it == l.end() ? "" : it->second;
}

PrepareAction ChoosePrepareAction(const Labels& labels) {
  // Only an unpack (snapshot.ref set) may be answered with "already exists"; a data layer
  // holds no files of the rootfs (nydusd serves them from the bootstrap), so it is skipped.
  // The meta layer is unpacked by containerd like any layer: that puts image/image.boot in it.
  if (!TargetSnapshotRef(labels).empty() && IsNydusDataLayer(labels) && !IsNydusMetaLayer(labels)) {
    return PrepareAction::kSkipRemote;
  }
  return PrepareAction::kNormal;
}

Result<converter::ImageRef> ImageRefFromLabels(const Labels& labels) {
  auto it = labels.find(kLabelCriImageRef);
  if (it == labels.end() || it->second.empty()) {
    return Status::InvalidArgument(
        std::string("nydus image snapshot has no ") + kLabelCriImageRef +
        " label: pull the image with snapshot annotations (CRI with "
        "disable_snapshot_annotations = false, nerdctl), not `ctr image pull`");
  }
  auto ref = converter::ParseImageRef(it->second);
  if (!ref.ok()) return ref.status().WithContext(kLabelCriImageRef);
  return ref;
}

Result<converter::Credentials> ImageCredentials(const Labels& labels,
                                                const converter::ImageRef& ref,
                                                const std::string& docker_config_path) {
  auto u = labels.find(kLabelPullUsername);
  auto p = labels.find(kLabelPullSecret);
  if (u != labels.end() && p != labels.end() && !u->second.empty() && !p->second.empty()) {
    return converter::Credentials{u->second, p->second};
  }
  if (docker_config_path.empty()) return converter::Credentials{};
  return converter::LoadDockerAuth(docker_config_path, ref.host);
}

}  // namespace nydus::snapshotter
