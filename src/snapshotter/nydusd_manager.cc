// One nydusd per Nydus image (see the header).
#include "snapshotter/nydusd_manager.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <sstream>
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

namespace nydus::snapshotter {

namespace {

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
  if (!converter::IsNydusdMount(in.mountpoint, in.erofs_when_cached)) return false;
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
         {"image", in.image},
         {"erofs_when_cached", in.erofs_when_cached}};
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
    // Json::value throws on a field of another type: read them checked (a damaged file then
    // describes a daemon that is not alive).
    auto num = [&](const char* key) -> int64_t {
      auto it = j.find(key);
      return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
    };
    auto str = [&](const char* key) -> std::string {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : "";
    };
    Instance in;
    const int64_t pid = num("pid");
    in.pid = pid > 0 && pid <= INT32_MAX ? static_cast<pid_t>(pid) : -1;
    in.start_time = static_cast<unsigned long long>(num("start_time"));
    in.mountpoint = str("mountpoint");
    in.api_socket = str("api_socket");
    in.image = str("image");
    auto flag = j.find("erofs_when_cached");  // absent in the state of older versions
    in.erofs_when_cached = flag != j.end() && flag->is_boolean() && flag->get<bool>();
    if (Alive(in)) {
      LOG_INFO("re-attached to nydusd pid {} serving {} at {} ({})", in.pid, in.image,
               in.mountpoint, converter::MountedFsType(in.mountpoint));
      std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, _] : instances_) out.push_back(id);
  return out;
}

pid_t NydusdManager::PidOf(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(id);
  return it == instances_.end() ? -1 : it->second.pid;
}

std::shared_ptr<std::mutex> NydusdManager::Slot(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = slots_[id];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

std::optional<NydusdManager::Instance> NydusdManager::Take(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return std::nullopt;
  Instance in = std::move(it->second);
  instances_.erase(it);
  return in;
}

Status NydusdManager::Ensure(const SnapshotInfo& meta, const std::string& bootstrap,
                             const std::string& mountpoint) {
  // Only calls for the same image wait for this one (a start may take start_timeout_ms).
  auto slot = Slot(meta.id);
  std::lock_guard<std::mutex> one_at_a_time(*slot);
  std::optional<Instance> cur;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = instances_.find(meta.id); it != instances_.end()) cur = it->second;
  }
  if (cur) {
    if (Alive(*cur)) return Status::OK();
    LOG_WARN("nydusd pid {} of snapshot {} is not serving any more; starting a new one", cur->pid,
             meta.id);
    Take(meta.id);
    Stop(*cur);
  }
  ASSIGN_OR_RETURN(Instance in, Start(meta, bootstrap, mountpoint));
  std::lock_guard<std::mutex> lock(mu_);
  instances_[meta.id] = std::move(in);
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
  in.erofs_when_cached = opts_.erofs_when_cached;
  ::unlink(in.api_socket.c_str());
  converter::NydusdLaunch launch;
  launch.nydusd = opts_.nydusd;
  launch.config_path = cfg_path;
  launch.bootstrap = bootstrap;
  launch.mountpoint = mountpoint;
  launch.log_file = ddir + "/nydusd.log";
  launch.append_log = true;  // a restarted daemon keeps the log of the one before
  launch.api_socket = in.api_socket;
  launch.log_level = opts_.log_level;
  launch.fuse_threads = opts_.fuse_threads;
  if (!creds.empty()) launch.auth = registry::Base64Encode(creds.username + ":" + creds.password);
  launch.inherit_pull_auth = false;  // only this image's credentials
  launch.own_session = true;         // survives the snapshotter (see the header)
  launch.erofs_when_cached = in.erofs_when_cached;
  launch.timeout_ms = opts_.start_timeout_ms;
  auto pid = converter::LaunchNydusd(launch);
  if (!pid.ok()) return pid.status().WithContext("nydusd for " + in.image);
  in.pid = *pid;
  in.start_time = ProcessStartTime(in.pid);
  LOG_INFO("started nydusd pid {} for {} (snapshot {}) at {} ({})", in.pid, in.image, meta.id,
           mountpoint, converter::MountedFsType(mountpoint));
  if (Status st = SaveState(meta.id, in); !st.ok()) {
    Stop(in);  // untracked, it would outlive every Release
    return st;
  }
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
  auto slot = Slot(id);
  {
    std::lock_guard<std::mutex> one_at_a_time(*slot);
    if (std::optional<Instance> in = Take(id)) {
      LOG_INFO("stopping nydusd pid {} of snapshot {} ({})", in->pid, id, in->image);
      Stop(*in);
    }
    RETURN_IF_ERROR(RemoveTree(CacheDir(id)));
    RETURN_IF_ERROR(RemoveTree(DaemonDir(id)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = slots_.find(id); it != slots_.end() && it->second.use_count() == 2) {
    slots_.erase(it);  // nobody else waits on it (the map and `slot` hold the only references)
  }
  return Status::OK();
}

}  // namespace nydus::snapshotter
