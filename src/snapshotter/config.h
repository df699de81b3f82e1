// containerd-nydus-grpc's configuration: defaults, then the TOML file (--config; keys named as
// in the reference's config.toml), then the command line flags.
//
//   root = "/var/lib/containerd/io.containerd.snapshotter.v1.nydus"
//   address = "/run/containerd-nydus/containerd-nydus-grpc.sock"
//   [daemon]
//   nydusd_path = "/usr/local/bin/nydusd"       # default: next to this binary, else $PATH
//   nydusd_config = "/etc/nydus/nydusd-config.json"   # nydusd v1 JSON template
//   threads_number = 4                          # nydusd FUSE threads, 0 = nydusd's default
//   erofs_when_cached = false                   # ours, not in the reference's config.toml
//   [log]
//   level = "info"
// erofs_when_cached starts every nydusd with --erofs-when-cached: an image whose blob cache
// holds every chunk its files reference (a daemon restarted after a crash or a reboot, with the
// cache of the one before) is then served by the kernel's EROFS instead of FUSE; an image not
// yet complete in the cache is served through FUSE as without it. nydusd cannot switch a
// running mount: a daemon that filled the cache keeps serving through FUSE until it is
// restarted. It takes effect only for RAFS v6 images with digest_validate off in the nydusd
// config, on Linux 6.12+ (file-backed EROFS); otherwise nydusd serves through FUSE and logs why.
// `version` is accepted. Other keys of the reference's file are reported as unsupported
// (warnings) and have no effect.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::snapshotter {

inline constexpr char kDefaultRoot[] = "/var/lib/containerd/io.containerd.snapshotter.v1.nydus";
inline constexpr char kDefaultAddress[] = "/run/containerd-nydus/containerd-nydus-grpc.sock";
inline constexpr char kDefaultNydusdConfig[] = "/etc/nydus/nydusd-config.json";

struct SnapshotterConfig {
  std::string root = kDefaultRoot;
  std::string address = kDefaultAddress;
  std::string nydusd_path;    // "" = converter::FindNydusd("")
  std::string nydusd_config;  // "" = kDefaultNydusdConfig if it exists, else the built-in one
  int threads_number = 0;
  bool erofs_when_cached = false;
  std::string log_level = "info";
  std::vector<std::string> warnings;  // unsupported keys found in the file
};

// Applies the TOML text onto `cfg`. InvalidArgument with line/column for bad TOML, and for a
// known key of the wrong type.
Status ApplyConfigToml(const std::string& text, SnapshotterConfig* cfg);

}  // namespace nydus::snapshotter
