// One nydusd per Nydus image (see the header).
#include "snapshotter/nydusd_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include "base/file_util.h"
#include "base/logging.h"
#include "converter/mount.h"
#include "http/http_client.h"
#include "registry/registry_config.h"
#include "snapshotter/labels.h"
#include "snapshotter/metadata_store.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/nydusd_config.h"

extern char** environ;

namespace nydus::snapshotter {

namespace {

std::string LogTail(const std::string& path) {
  auto data = ReadWholeFile(path, 64 << 20);
  if (!data.ok()) return "";
  std::string s(data->begin(), data->end());
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s;
}

// Reaps `pid` if it is our child and has exited; true when it is gone.
bool Gone(pid_t pid) {
  int ws;
  pid_t r = ::waitpid(pid, &ws, WNOHANG);
  if (r == pid) return true;
  return ProcessStartTime(pid) == 0;
}

}  // namespace

unsigned long long ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // "pid (comm) state ..." where comm may hold spaces and parentheses: split after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream ss(line.substr(close + 2));
  std::string field;
  std::vector<std::string> f;
  while (ss >> field) f.push_back(field);
  // f[0] is field 3 (state); field 22 is f[19].
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return 0;
  return std::stoull(f[19]);
}

NydusdManager::NydusdManager(NydusdOptions opts) : opts_(std::move(opts)) {}

bool NydusdManager::Alive(const Instance& in) const {
  if (in.pid <= 0 || ProcessStartTime(in.pid) != in.start_time) return false;
  if (!IsFuseMounted(in.mountpoint)) return false;
  http::ClientOptions co;
  co.unix_socket = in.api_socket;
  co.timeout_sec = 5;
  co.connect_timeout_sec = 2;
  http::HttpClient client(co);
  http::Request req;
  req.url = "http://localhost/api/v1/daemon";
  auto r = client.Do(req);
  if (!r.ok() || r->status != 200) return false;
  Json j = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("state", "") == "RUNNING";
}

Status NydusdManager::SaveState(const std::string& id, const Instance& in) const {
  Json j{{"pid", in.pid},
         {"start_time", in.start_time},
         {"mountpoint", in.mountpoint},
         {"api_socket", in.api_socket},
         {"image", in.image}};
  return WriteFileAtomic(DaemonDir(id) + "/state.json", j.dump(2) + "\n", 0600);
}

std::vector<std::string> NydusdManager::Recover() {
  std::vector<std::string> attached;
  const std::string dir = opts_.root + "/daemons";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return attached;
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") ids.push_back(n);
  }
  ::closedir(d);
  for (const auto& id : ids) {
    auto data = ReadWholeFile(DaemonDir(id) + "/state.json", 1 << 20);
    if (!data.ok()) continue;
    Json j = Json::parse(std::string(data->begin(), data->end()), nullptr, false);
    if (!j.is_object()) continue;
    Instance in;
    in.pid = j.value("pid", -1);
    in.start_time = j.value("start_time", 0ull);
    in.mountpoint = j.value("mountpoint", "");
    in.api_socket = j.value("api_socket", "");
    in.image = j.value("image", "");
    if (Alive(in)) {
      LOG_INFO("re-attached to nydusd pid {} serving {} at {}", in.pid, in.image, in.mountpoint);
      instances_[id] = in;
      attached.push_back(id);
    } else {
      LOG_WARN("nydusd of snapshot {} (pid {}, {}) is gone; it is restarted when needed", id,
               in.pid, in.image);
      if (!in.mountpoint.empty()) (void)LazyUnmount(in.mountpoint);
      ::unlink((DaemonDir(id) + "/state.json").c_str());
    }
  }
  return attached;
}

std::vector<std::string> NydusdManager::Known() const {
  std::vector<std::string> out;
  for (const auto& [id, _] : instances_) out.push_back(id);
  return out;
}

pid_t NydusdManager::PidOf(const std::string& id) const {
  auto it = instances_.find(id);
  return it == instances_.end() ? -1 : it->second.pid;
}

Status NydusdManager::Ensure(const SnapshotInfo& meta, const std::string& bootstrap,
                             const std::string& mountpoint) {
  auto it = instances_.find(meta.id);
  if (it != instances_.end()) {
    if (Alive(it->second)) return Status::OK();
    LOG_WARN("nydusd pid {} of snapshot {} is not serving any more; starting a new one",
             it->second.pid, meta.id);
    Stop(it->second);
    instances_.erase(it);
  }
  ASSIGN_OR_RETURN(Instance in, Start(meta, bootstrap, mountpoint));
  instances_[meta.id] = in;
  return Status::OK();
}

Result<NydusdManager::Instance> NydusdManager::Start(const SnapshotInfo& meta,
                                                     const std::string& bootstrap,
                                                     const std::string& mountpoint) {
  ASSIGN_OR_RETURN(converter::ImageRef ref, ImageRefFromLabels(meta.labels));
  ASSIGN_OR_RETURN(converter::Credentials creds,
                   ImageCredentials(meta.labels, ref, opts_.docker_config));
  const std::string ddir = DaemonDir(meta.id);
  const std::string cache = CacheDir(meta.id);
  RETURN_IF_ERROR(converter::MakeDirs(ddir));
  RETURN_IF_ERROR(converter::MakeDirs(cache));
  RETURN_IF_ERROR(converter::MakeDirs(mountpoint));
  RETURN_IF_ERROR(LazyUnmount(mountpoint));
  if (::access(bootstrap.c_str(), R_OK) != 0) {
    return Status::NotFound("bootstrap " + bootstrap + " of snapshot " + meta.name +
                            " is missing (was the meta layer unpacked?)");
  }
  ASSIGN_OR_RETURN(Json cfg, BuildNydusdConfig(opts_.config_template, ref, cache));
  const std::string cfg_path = ddir + "/config.json";
  RETURN_IF_ERROR(WriteFileAtomic(cfg_path, cfg.dump(2) + "\n", 0600));
  Instance in;
  in.mountpoint = mountpoint;
  in.api_socket = ddir + "/api.sock";
  in.image = ref.ToString();
  ::unlink(in.api_socket.c_str());
  const std::string log_file = ddir + "/nydusd.log";

  std::vector<std::string> args = {opts_.nydusd,  "--config",    cfg_path,       "--mountpoint",
                                   mountpoint,    "--bootstrap", bootstrap,      "--apisock",
                                   in.api_socket, "--log-level", opts_.log_level};
  if (opts_.fuse_threads > 0) {
    args.push_back("--fuse-threads");
    args.push_back(std::to_string(opts_.fuse_threads));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("IMAGE_PULL_AUTH=")) env.emplace_back(*e);
  }
  if (!creds.empty()) {
    env.push_back("IMAGE_PULL_AUTH=" +
                  registry::Base64Encode(creds.username + ":" + creds.password));
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A session of its own: signals to the snapshotter's process group do not reach it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid;
  int rc = posix_spawnp(&pid, opts_.nydusd.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "start " + opts_.nydusd);
  in.pid = pid;
  LOG_INFO("started nydusd pid {} for {} (snapshot {}) at {}", pid, in.image, meta.id, mountpoint);

  auto t0 = std::chrono::steady_clock::now();
  while (!IsFuseMounted(mountpoint)) {
    int ws;
    if (::waitpid(pid, &ws, WNOHANG) == pid) {
      return Status::Unavailable("nydusd for " + in.image + " exited before mounting " +
                                 mountpoint + "; log:\n" + LogTail(log_file));
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(opts_.start_timeout_ms)) {
      Stop(in);
      return Status::Unavailable("nydusd for " + in.image + " did not mount " + mountpoint +
                                 " in time; log:\n" + LogTail(log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  in.start_time = ProcessStartTime(pid);
  RETURN_IF_ERROR(SaveState(meta.id, in));
  return in;
}

void NydusdManager::Stop(const Instance& in) const {
  if (in.pid > 0 && ProcessStartTime(in.pid) != 0 &&
      (in.start_time == 0 || ProcessStartTime(in.pid) == in.start_time)) {
    ::kill(in.pid, SIGTERM);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      gone = Gone(in.pid);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      LOG_WARN("nydusd pid {} ignored SIGTERM; killing it", in.pid);
      ::kill(in.pid, SIGKILL);
      for (int i = 0; i < 100 && !Gone(in.pid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  } else if (in.pid > 0) {
    Gone(in.pid);  // reap a zombie child
  }
  if (!in.mountpoint.empty()) (void)LazyUnmount(in.mountpoint);
}

Status NydusdManager::Release(const std::string& id) {
  auto it = instances_.find(id);
  if (it != instances_.end()) {
    LOG_INFO("stopping nydusd pid {} of snapshot {} ({})", it->second.pid, id, it->second.image);
    Stop(it->second);
    instances_.erase(it);
  }
  RETURN_IF_ERROR(RemoveTree(CacheDir(id)));
  return RemoveTree(DaemonDir(id));
}

}  // namespace nydus::snapshotter
