// What `nydusify mount` and `nydusify check` need to serve a Nydus image from a registry with
// nydusd: the target's manifest (index → platform, nydus manifest preferred), its bootstrap
// layer unpacked to <work>/image.boot, and a nydusd v1 config <work>/registry.json (registry
// backend for the target repository, blobcache in <work>/cache, xattrs on; the docker-config
// credentials go to nydusd through IMAGE_PULL_AUTH, not the file); plus spawning / waiting
// for / stopping a nydusd process.
// Thread-safety: free functions; the spawned process is the caller's to stop.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "converter/image_ref.h"
#include "converter/remote_image.h"

namespace nydus::converter {

struct MountPrep {
  ResolvedImage image;
  std::string bootstrap;    // <work>/image.boot
  std::string config_path;  // <work>/registry.json (never holds the credentials)
  // base64("user:password") from the docker config, "" = anonymous. Handed to nydusd as
  // IMAGE_PULL_AUTH in its environment (StartNydusd, `nydusify mount`), so the credentials
  // are never written to the work dir nor visible in the process list.
  std::string auth;
};

// Resolves the nydus image `ref` (index → platform, nydus manifest preferred), downloads its
// bootstrap layer and extracts image/image.boot to <work_dir>/image.boot. InvalidArgument
// when the image has no nydus bootstrap layer.
Result<ResolvedImage> FetchNydusBootstrap(registry::RepoClient& repo, const ImageRef& ref,
                                          const Platform& platform, const std::string& work_dir);

Result<MountPrep> PrepareNydusMount(const ImageRef& target, bool insecure, const Platform& platform,
                                    const std::string& work_dir, bool digest_validate);

// mkdir -p.
Status MakeDirs(const std::string& path);

// The nydusd to run: `flag` if set, else the one next to this executable, else "nydusd".
std::string FindNydusd(const std::string& flag);

// Starts nydusd in the background (output to `log_file`) and waits up to `timeout_ms` for
// `mountpoint` to become a FUSE mount. On failure the process is stopped and the tail of the
// log is part of the error.
Result<pid_t> StartNydusd(const std::string& nydusd, const MountPrep& prep,
                          const std::string& mountpoint, const std::string& log_file,
                          int timeout_ms = 30000);
// SIGTERM, wait up to 10 s, then SIGKILL and a lazy unmount.
void StopNydusd(pid_t pid, const std::string& mountpoint);

}  // namespace nydus::converter
