// containerd-nydus-grpc: the Nydus remote snapshotter for containerd (a proxy plugin serving
// containerd's snapshots API on a unix socket). Flags named as in the reference
// nydus-snapshotter; see src/snapshotter/snapshotter.h for what it does.
//
//   containerd-nydus-grpc [--config config.toml] [--root DIR] [--address SOCK]
//                         [--nydusd PATH] [--nydusd-config nydusd.json] [--log-level LEVEL]
//                         [--erofs-when-cached]
//
// SIGINT/SIGTERM stop serving; the nydusd daemons keep running (containers keep their rootfs)
// and the next start re-attaches to them.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <thread>

#include "base/file_util.h"
#include "base/logging.h"
#include "converter/image_ref.h"
#include "converter/mount.h"
#include "snapshotter/config.h"
#include "snapshotter/grpc_service.h"
#include "snapshotter/nydusd_config.h"
#include "snapshotter/nydusd_manager.h"
#include "snapshotter/snapshotter.h"

namespace {

using namespace nydus;
using namespace nydus::snapshotter;

int Fail(const Status& st) {
  std::fprintf(stderr, "error: %s\n", st.message().c_str());
  return 1;
}

Result<std::string> ReadText(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path, 1 << 20));
  return std::string(data.begin(), data.end());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"containerd-nydus-grpc: Nydus remote snapshotter for containerd"};
  std::string config_path, root, address, nydusd, nydusd_config, log_level;
  app.add_option("--config", config_path, "Path to the snapshotter configuration (config.toml)");
  app.add_option(
      "--root", root,
      std::string("Directory for snapshots and daemon state (default ") + kDefaultRoot + ")");
  app.add_option(
      "--address", address,
      std::string("gRPC unix socket containerd connects to (default ") + kDefaultAddress + ")");
  app.add_option("--nydusd", nydusd, "Path to nydusd (default: next to this binary, else $PATH)");
  app.add_option("--nydusd-config,--config-path", nydusd_config,
                 "nydusd v1 JSON configuration template (host, repo and cache dir are filled in)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (default info)");
  bool erofs_when_cached = false;
  app.add_flag("--erofs-when-cached", erofs_when_cached,
               "Start nydusd with --erofs-when-cached: an image completely in the blob cache is "
               "served by the kernel's EROFS instead of FUSE ([daemon] erofs_when_cached)");
  CLI11_PARSE(app, argc, argv);

  SnapshotterConfig cfg;
  if (!config_path.empty()) {
    auto text = ReadText(config_path);
    if (!text.ok()) return Fail(text.status());
    Status st = ApplyConfigToml(*text, &cfg);
    if (!st.ok()) return Fail(st.WithContext(config_path));
  }
  if (!root.empty()) cfg.root = root;
  if (!address.empty()) cfg.address = address;
  if (!nydusd.empty()) cfg.nydusd_path = nydusd;
  if (!nydusd_config.empty()) cfg.nydusd_config = nydusd_config;
  if (!log_level.empty()) cfg.log_level = log_level;
  if (erofs_when_cached) cfg.erofs_when_cached = true;
  if (Status st = InitLogging(cfg.log_level, ""); !st.ok()) return Fail(st);
  for (const auto& w : cfg.warnings) {
    LOG_WARN("{}: key '{}' is not supported and has no effect", config_path, w);
  }

  NydusdOptions nopts;
  nopts.root = cfg.root;
  nopts.nydusd = converter::FindNydusd(cfg.nydusd_path);
  nopts.log_level = cfg.log_level;
  nopts.fuse_threads = cfg.threads_number;
  nopts.erofs_when_cached = cfg.erofs_when_cached;
  nopts.docker_config = converter::DockerConfigPath();
  std::string tmpl_path = cfg.nydusd_config;
  if (tmpl_path.empty() && ::access(kDefaultNydusdConfig, R_OK) == 0)
    tmpl_path = kDefaultNydusdConfig;
  if (tmpl_path.empty()) {
    nopts.config_template = DefaultNydusdConfig();
  } else {
    auto text = ReadText(tmpl_path);
    if (!text.ok()) return Fail(text.status());
    auto tmpl = ParseNydusdTemplate(*text);
    if (!tmpl.ok()) return Fail(tmpl.status().WithContext(tmpl_path));
    nopts.config_template = *tmpl;
  }
  if (Status st = converter::MakeDirs(cfg.root); !st.ok()) return Fail(st);

  // SIGINT/SIGTERM are taken by sigwait below: block them before gRPC starts its threads.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto manager = std::make_unique<NydusdManager>(nopts);
  auto attached = manager->Recover();
  auto sn = Snapshotter::Open(cfg.root, std::move(manager));
  if (!sn.ok()) return Fail(sn.status());
  auto server = GrpcServer::Start(cfg.address, sn->get());
  if (!server.ok()) return Fail(server.status());
  LOG_INFO("containerd-nydus-grpc serving on {} (root {}, nydusd {}{}, {} daemon(s) re-attached)",
           cfg.address, cfg.root, nopts.nydusd,
           nopts.erofs_when_cached ? " --erofs-when-cached" : "", attached.size());

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    LOG_INFO("signal {}: stopping (nydusd daemons keep running)", sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  waiter.join();
  return 0;
}
