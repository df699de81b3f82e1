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
#include <climits>
#include <cstdlib>
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

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string UnescapeMountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string LogTail(const std::string& path) {
  auto data = ReadWholeFile(path, 64 << 20);
  if (!data.ok()) return "";
  std::string s(data->begin(), data->end());
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s;
}

std::vector<MountEntry> ListMounts() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string f[5];
    for (auto& x : f) ss >> x;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    MountEntry e;
    e.id = std::atoi(f[0].c_str());
    rest >> e.fs_type;
    e.mountpoint = UnescapeMountinfo(f[4]);
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<MountEntry> TopMount(const std::string& path) {
  char real[PATH_MAX];
  const std::string p = ::realpath(path.c_str(), real) ? std::string(real) : path;
  std::optional<MountEntry> top;
  for (auto& m : ListMounts()) {
    if (m.mountpoint == p) top = std::move(m);  // the last one is on top
  }
  return top;
}

std::string MountedFsType(const std::string& path) {
  std::optional<MountEntry> top = TopMount(path);
  return top ? top->fs_type : "";
}

bool IsNydusdFsType(const std::string& fs_type, bool erofs_when_cached) {
  return fs_type.rfind("fuse", 0) == 0 || (erofs_when_cached && fs_type == "erofs");
}

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

Result<pid_t> LaunchNydusd(const NydusdLaunch& l) {
  ::mkdir(l.mountpoint.c_str(), 0755);
  std::vector<std::string> args = {l.nydusd,      "--config",    l.config_path,
                                   "--mountpoint", l.mountpoint, "--bootstrap",
                                   l.bootstrap,    "--log-level", l.log_level};
  if (!l.api_socket.empty()) args.insert(args.end(), {"--apisock", l.api_socket});
  if (l.fuse_threads > 0) args.insert(args.end(), {"--fuse-threads", std::to_string(l.fuse_threads)});
  if (l.erofs_when_cached) args.push_back("--erofs-when-cached");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment, with IMAGE_PULL_AUTH carrying the credentials when there are any.
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    const bool pull_auth = std::string_view(*e).starts_with("IMAGE_PULL_AUTH=");
    if (!pull_auth || (l.auth.empty() && l.inherit_pull_auth)) env_store.emplace_back(*e);
  }
  if (!l.auth.empty()) env_store.push_back("IMAGE_PULL_AUTH=" + l.auth);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, l.log_file.c_str(),
                                   O_WRONLY | O_CREAT | (l.append_log ? O_APPEND : O_TRUNC), 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  // The caller may block SIGINT/SIGTERM (to sigwait on them) and ignore SIGPIPE; both are
  // inherited through exec, and a nydusd with SIGTERM blocked would never see StopNydusd's.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (l.own_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  // What is mounted there already is not nydusd's mount (nydusd refuses a busy mountpoint).
  const std::optional<MountEntry> before = TopMount(l.mountpoint);
  auto mounted = [&] {
    std::optional<MountEntry> top = TopMount(l.mountpoint);
    return top && (!before || top->id != before->id) &&
           IsNydusdFsType(top->fs_type, l.erofs_when_cached);
  };
  pid_t pid;
  int rc = posix_spawnp(&pid, l.nydusd.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "start " + l.nydusd);
  auto t0 = std::chrono::steady_clock::now();
  while (!mounted()) {
    int ws;
    if (::waitpid(pid, &ws, WNOHANG) == pid) {
      return Status::Unavailable("nydusd exited before mounting " + l.mountpoint + "; log:\n" +
                                 LogTail(l.log_file));
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(l.timeout_ms)) {
      StopNydusd(pid, l.mountpoint);
      return Status::Unavailable("nydusd did not mount " + l.mountpoint + " in time; log:\n" +
                                 LogTail(l.log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pid;
}

Result<pid_t> StartNydusd(const std::string& nydusd, const MountPrep& prep,
                          const std::string& mountpoint, const std::string& log_file,
                          int timeout_ms) {
  NydusdLaunch l;
  l.nydusd = nydusd;
  l.config_path = prep.config_path;
  l.bootstrap = prep.bootstrap;
  l.mountpoint = mountpoint;
  l.log_file = log_file;
  l.auth = prep.auth;
  l.timeout_ms = timeout_ms;
  return LaunchNydusd(l);
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
