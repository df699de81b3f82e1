// nydusd mounts of a registry image for nydusify (see the header).
#include "converter/mount.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "base/json.h"
#include "converter/layer_tar.h"
#include "registry/registry_config.h"

extern char** environ;

namespace nydus::converter {

namespace {

bool IsFuseMount(const std::string& mountpoint) {
  char real[PATH_MAX];
  if (!::realpath(mountpoint.c_str(), real)) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string f[5];
    for (auto& x : f) ss >> x;
    if (f[4] != real) continue;
    auto dash = line.find(" - ");
    if (dash != std::string::npos && line.compare(dash + 3, 4, "fuse") == 0) return true;
  }
  return false;
}

std::string Tail(const std::string& path) {
  auto data = ReadWholeFile(path, 64 << 20);
  if (!data.ok()) return "";
  std::string s(data->begin(), data->end());
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s;
}

}  // namespace

Status MakeDirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if ((i == path.size() || path[i] == '/') && !cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 &&
        errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + cur);
    }
    if (i < path.size()) cur += path[i];
  }
  return Status::OK();
}

Result<ResolvedImage> FetchNydusBootstrap(registry::RepoClient& repo, const ImageRef& ref,
                                          const Platform& platform, const std::string& work_dir) {
  RETURN_IF_ERROR(MakeDirs(work_dir));
  ASSIGN_OR_RETURN(ResolvedImage image, ResolveImage(repo, ref, platform, /*prefer_nydus=*/true));
  const auto& layers = image.manifest.layers;
  if (layers.empty() || layers.back().Annotation(kAnnoNydusBootstrap) != "true") {
    return Status::InvalidArgument("image " + ref.ToString() +
                                   " is not a nydus image (no bootstrap layer)");
  }
  const std::string layer_path = work_dir + "/bootstrap-layer.tar.gz";
  RETURN_IF_ERROR(repo.DownloadBlob(layers.back().digest, layer_path).status());
  RETURN_IF_ERROR(ExtractBootstrap(layer_path, work_dir + "/image.boot"));
  return image;
}

Result<MountPrep> PrepareNydusMount(const ImageRef& target, bool insecure, const Platform& platform,
                                    const std::string& work_dir, bool digest_validate) {
  RETURN_IF_ERROR(MakeDirs(work_dir + "/cache"));
  ASSIGN_OR_RETURN(Credentials creds, LoadDockerAuth(DockerConfigPath(), target.host));
  ASSIGN_OR_RETURN(auto repo, OpenRepo(target, insecure, creds));
  MountPrep prep;
  ASSIGN_OR_RETURN(prep.image, FetchNydusBootstrap(*repo, target, platform, work_dir));
  prep.bootstrap = work_dir + "/image.boot";
  Json backend{{"scheme", insecure ? "http" : "https"},
               {"host", target.ApiHost()},
               {"repo", target.repo},
               {"skip_verify", insecure},
               {"timeout", 30},
               {"connect_timeout", 10},
               {"retry_limit", 2}};
  if (!creds.empty()) prep.auth = registry::Base64Encode(creds.username + ":" + creds.password);
  Json cfg{{"device",
            {{"backend", {{"type", "registry"}, {"config", backend}}},
             {"cache", {{"type", "blobcache"}, {"config", {{"work_dir", work_dir + "/cache"}}}}}}},
           {"mode", "direct"},
           {"digest_validate", digest_validate},
           {"iostats_files", false},
           {"enable_xattr", true},
           {"fs_prefetch", {{"enable", false}, {"threads_count", 4}}}};
  prep.config_path = work_dir + "/registry.json";
  std::string text = cfg.dump(2);
  RETURN_IF_ERROR(WriteWholeFile(prep.config_path, AsBytes(text)));
  return prep;
}

std::string FindNydusd(const std::string& flag) {
  if (!flag.empty()) return flag;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, n);
    dir = dir.substr(0, dir.rfind('/'));
    if (::access((dir + "/nydusd").c_str(), X_OK) == 0) return dir + "/nydusd";
  }
  return "nydusd";
}

Result<pid_t> StartNydusd(const std::string& nydusd, const MountPrep& prep,
                          const std::string& mountpoint, const std::string& log_file,
                          int timeout_ms) {
  ::mkdir(mountpoint.c_str(), 0755);
  std::vector<std::string> args = {nydusd,         "--config",    prep.config_path,
                                   "--mountpoint", mountpoint,    "--bootstrap",
                                   prep.bootstrap, "--log-level", "info"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  // The environment, with IMAGE_PULL_AUTH carrying the credentials when there are any.
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (prep.auth.empty() || !std::string_view(*e).starts_with("IMAGE_PULL_AUTH=")) {
      env_store.emplace_back(*e);
    }
  }
  if (!prep.auth.empty()) env_store.push_back("IMAGE_PULL_AUTH=" + prep.auth);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, nydusd.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Status::FromErrno(rc, "start " + nydusd);
  auto t0 = std::chrono::steady_clock::now();
  while (!IsFuseMount(mountpoint)) {
    int ws;
    if (::waitpid(pid, &ws, WNOHANG) == pid) {
      return Status::Unavailable("nydusd exited before mounting " + mountpoint + "; log:\n" +
                                 Tail(log_file));
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(timeout_ms)) {
      StopNydusd(pid, mountpoint);
      return Status::Unavailable("nydusd did not mount " + mountpoint + " in time; log:\n" +
                                 Tail(log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pid;
}

void StopNydusd(pid_t pid, const std::string& mountpoint) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int ws;
    if (::waitpid(pid, &ws, WNOHANG) == pid) {
      if (IsFuseMount(mountpoint)) ::umount2(mountpoint.c_str(), MNT_DETACH);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::umount2(mountpoint.c_str(), MNT_DETACH);
}

}  // namespace nydus::converter
