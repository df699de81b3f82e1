// What `nydusify mount` and `nydusify check` need to serve a Nydus image from a registry with
// nydusd: the target's manifest (index → platform, nydus manifest preferred), its bootstrap
// layer unpacked to <work>/image.boot, and a nydusd v1 config <work>/registry.json (registry
// backend for the target repository, blobcache in <work>/cache, xattrs on; the docker-config
// credentials go to nydusd through IMAGE_PULL_AUTH, not the file); plus spawning / waiting
// for / stopping a nydusd process (shared with the snapshotter, which runs one per image), and
// the mount table helpers that takes.
// Thread-safety: free functions; the spawned process is the caller's to stop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

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

// One nydusd process to start (LaunchNydusd): a single-image FUSE mount, or with
// erofs_when_cached the kernel's EROFS when the blob cache holds the whole image.
struct NydusdLaunch {
  std::string nydusd;  // binary (PATH lookup when it has no '/')
  std::string config_path;
  std::string bootstrap;
  std::string mountpoint;  // created if missing
  std::string log_file;    // nydusd's stdout and stderr (mode 0600)
  bool append_log = false;  // else truncated
  std::string api_socket;   // --apisock; "" = none
  std::string log_level = "info";
  int fuse_threads = 0;  // --fuse-threads; 0 = nydusd's default
  // base64("user:password") for IMAGE_PULL_AUTH. "" = none: an IMAGE_PULL_AUTH of our own
  // environment is passed on only when inherit_pull_auth.
  std::string auth;
  bool inherit_pull_auth = true;
  // A session of its own (setsid): signals to the caller's process group do not reach it.
  bool own_session = false;
  // --erofs-when-cached: nydusd mounts the (RAFS v6) bootstrap with the kernel's EROFS, the
  // blob cache files as its devices, when every chunk the image's files reference is cached,
  // and serves through FUSE otherwise. Either mount counts as started.
  bool erofs_when_cached = false;
  int timeout_ms = 30000;
};

// Starts nydusd in the background and waits up to `timeout_ms` for a new mount at its
// mountpoint that IsNydusdFsType accepts (one that was already there before the start does not
// count: nydusd refuses a busy mountpoint and exits). The child gets an empty signal mask and
// default SIGINT/SIGTERM/SIGPIPE actions whatever the caller blocked or ignored. On failure the
// process is stopped (and reaped) and the tail of the log is part of the Unavailable error.
Result<pid_t> LaunchNydusd(const NydusdLaunch& launch);

// LaunchNydusd for a MountPrep (nydusify check / tests): its config, bootstrap and auth.
Result<pid_t> StartNydusd(const std::string& nydusd, const MountPrep& prep,
                          const std::string& mountpoint, const std::string& log_file,
                          int timeout_ms = 30000);
// For a child of this process: SIGTERM, wait up to 10 s, then SIGKILL; reaps it and lazily
// unmounts `mountpoint` if a FUSE filesystem is still there (a dead FUSE mount fails every
// access; a kernel EROFS mount is taken down by nydusd itself on SIGTERM). After a SIGKILL,
// whatever is mounted there is unmounted.
void StopNydusd(pid_t pid, const std::string& mountpoint);

// The last (up to) 2000 bytes of a log file, "" if unreadable.
std::string LogTail(const std::string& path);

// The mount table of this process (/proc/self/mountinfo), in mount order, with the octal
// escapes of mount points decoded.
struct MountEntry {
  int id = 0;  // the mount ID (unique among the current mounts; a freed one is reused)
  std::string mountpoint;
  std::string fs_type;  // "fuse.nydusd", "overlay", ...
};
std::vector<MountEntry> ListMounts();
// The mount on top exactly at `path` (resolved with realpath), nullopt if none.
std::optional<MountEntry> TopMount(const std::string& path);
// The fs type mounted on top exactly at `path`, "" if none.
std::string MountedFsType(const std::string& path);
inline bool IsFuseMount(const std::string& path) {
  return MountedFsType(path).rfind("fuse", 0) == 0;
}
// Whether a mount of fs type `fs_type` is how a nydusd serves its image: FUSE ("fuse",
// "fuse.nydusd", ...), or for one started with --erofs-when-cached also the kernel's "erofs".
bool IsNydusdFsType(const std::string& fs_type, bool erofs_when_cached);
inline bool IsNydusdMount(const std::string& path, bool erofs_when_cached) {
  return IsNydusdFsType(MountedFsType(path), erofs_when_cached);
}

}  // namespace nydus::converter
