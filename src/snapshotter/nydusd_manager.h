// Runs one nydusd per Nydus image (per meta-layer snapshot), the way the reference's
// "dedicated" daemon mode does, as a process of its own session: it is not stopped when the
// snapshotter stops, so running containers keep their rootfs across a snapshotter restart, and
// a restarted snapshotter re-attaches to it from the state it wrote.
//
// Layout under the snapshotter root:
//   daemons/<id>/state.json   {"pid","start_time","mountpoint","api_socket","image",
//                              "erofs_when_cached"}
//   daemons/<id>/config.json  the nydusd config (0600; never holds credentials)
//   daemons/<id>/api.sock     nydusd's API socket
//   daemons/<id>/nydusd.log   its stdout and stderr
//   cache/<id>/               its blob cache
// A daemon counts as alive when its pid still runs the same process (start time from
// /proc/<pid>/stat), a FUSE filesystem is mounted at its mountpoint (or the kernel's EROFS,
// for a daemon started with --erofs-when-cached: its state says so, whatever the option is
// now) and its API answers GET /api/v1/daemon with state RUNNING. Either mount goes when the
// daemon stops (nydusd takes down its kernel mount on SIGTERM; Stop unmounts what is left).
// Thread-safety: every method is thread-safe. Ensure/Release of one snapshot id wait for each
// other; those of different ids run concurrently (a start may take start_timeout_ms).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "snapshotter/snapshot_info.h"

namespace nydus::snapshotter {

// What the snapshotter needs from whoever runs nydusd (a fake in the unit tests). The
// Snapshotter calls Ensure without holding its own lock: implementations are thread-safe.
class DaemonControl {
 public:
  virtual ~DaemonControl() = default;
  // When OK, a nydusd serves the image of meta-layer snapshot `meta` (bootstrap file
  // `bootstrap`) at `mountpoint`: the running one, or one started now.
  virtual Status Ensure(const SnapshotInfo& meta, const std::string& bootstrap,
                        const std::string& mountpoint) = 0;
  // Stops the daemon of snapshot id `id` if there is one, unmounts it and deletes its cache
  // and state. OK when there is none.
  virtual Status Release(const std::string& id) = 0;
  // Ids that have daemon state (running or not).
  virtual std::vector<std::string> Known() const = 0;
};

struct NydusdOptions {
  std::string nydusd = "nydusd";
  std::string root;           // the snapshotter root: daemons/ and cache/ go there
  Json config_template;       // nydusd v1 JSON (nydusd_config.h)
  std::string docker_config;  // docker config.json for credentials; "" = none
  std::string log_level = "info";
  int fuse_threads = 0;  // 0 = nydusd's default
  // Start nydusd with --erofs-when-cached (converter::NydusdLaunch): the kernel's EROFS
  // serves an image the blob cache holds completely.
  bool erofs_when_cached = false;
  int start_timeout_ms = 30000;
};

class NydusdManager : public DaemonControl {
 public:
  explicit NydusdManager(NydusdOptions opts);

  // Reads the state of every daemon recorded under <root>/daemons and keeps the live ones;
  // the state of a dead one is dropped and its mountpoint lazily unmounted (Ensure starts a
  // new one when a container needs it). Returns the ids re-attached.
  std::vector<std::string> Recover();

  Status Ensure(const SnapshotInfo& meta, const std::string& bootstrap,
                const std::string& mountpoint) override;
  Status Release(const std::string& id) override;
  std::vector<std::string> Known() const override;

  // The pid serving snapshot `id`, or -1.
  pid_t PidOf(const std::string& id) const;

 private:
  struct Instance {
    pid_t pid = -1;
    unsigned long long start_time = 0;
    std::string mountpoint;
    std::string api_socket;
    std::string image;
    bool erofs_when_cached = false;  // started with it: an "erofs" mount is its own
  };
  std::string DaemonDir(const std::string& id) const { return opts_.root + "/daemons/" + id; }
  std::string CacheDir(const std::string& id) const { return opts_.root + "/cache/" + id; }
  bool Alive(const Instance& in) const;
  Result<Instance> Start(const SnapshotInfo& meta, const std::string& bootstrap,
                         const std::string& mountpoint);
  Status SaveState(const std::string& id, const Instance& in) const;
  void Stop(const Instance& in) const;
  // The lock that serialises Ensure/Release of snapshot `id`.
  std::shared_ptr<std::mutex> Slot(const std::string& id);
  // Removes and returns the instance of `id`, if any.
  std::optional<Instance> Take(const std::string& id);

  const NydusdOptions opts_;
  mutable std::mutex mu_;                       // guards instances_ and slots_ (held briefly)
  std::map<std::string, Instance> instances_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<std::mutex>> slots_;  // guarded by mu_
};

// Field 22 of /proc/<pid>/stat (clock ticks after boot), 0 if the process is gone or a zombie.
unsigned long long ProcessStartTime(pid_t pid);

}  // namespace nydus::snapshotter
