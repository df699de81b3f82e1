// nydusd: serves a RAFS image through FUSE. Flags follow the reference nydusd 2.2
// (src/bin/nydusd/main.rs): names, short forms, the --thread-num alias, defaults, and the
// `fuse` subcommand taking the same FUSE/FS options as the top level.
//
//   nydusd [fuse] --config F | -D DIR  --mountpoint M  [--bootstrap B] [--apisock S]
//          [-l LEVEL] [-L FILE] [--fuse-threads N] [--rlimit-nofile N] [-m /sub]
//          [--prefetch-files LIST] [--id ID --supervisor SOCK]
//
// Reference flags whose functionality is not implemented are recognised but refused with
// "not supported yet: <flag>" (never silently ignored): --upgrade, --shared-dir,
// --failover-policy, --writable, a non-zero --log-rotation-size, and the virtiofs and
// singleton subcommands. --supervisor is recorded and reported by the API; like nydus 2.2.5
// (whose upgrade manager is a stub) no state is sent to it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "base/logging.h"
#include "daemon/daemon.h"
#include "daemon/daemon_api.h"
#include "daemon/options.h"
#include "daemon/signal_watcher.h"

namespace {

// The FUSE and FS options, registered on the top level and on `fuse`.
struct FsArgs {
  std::string mountpoint, bootstrap, localfs_dir, fuse_threads = "4", virtual_mountpoint = "/";
  std::string prefetch_files;
  bool erofs_when_cached = false;
  std::vector<CLI::Option*> given;  // every option of this set, to detect use
  std::vector<std::pair<CLI::Option*, std::string>> unsupported;
};

// "-A,--apisock" -> "--apisock"
std::string LongName(const std::string& spec) { return spec.substr(spec.rfind(',') + 1); }

void AddFsOptions(CLI::App* app, FsArgs* a) {
  auto add = [&](CLI::Option* o) {
    a->given.push_back(o);
    return o;
  };
  add(app->add_option("-M,--mountpoint", a->mountpoint,
                      "Mountpoint for the FUSE filesystem, target for `mount.fuse`"));
  add(app->add_option("--fuse-threads,--thread-num", a->fuse_threads,
                      "Number of worker threads to serve FUSE I/O requests")
          ->default_str("4"));
  add(app->add_option("-B,--bootstrap", a->bootstrap, "Path to the RAFS filesystem metadata file"));
  add(app->add_option("-D,--localfs-dir", a->localfs_dir,
                      "Path to the `localfs` working directory, which also enables the `localfs` "
                      "storage backend"));
  add(app->add_option("-m,--virtual-mountpoint", a->virtual_mountpoint,
                      "Mountpoint within the FUSE/virtiofs device to mount the RAFS filesystem")
          ->default_str("/"));
  add(app->add_option("--prefetch-files", a->prefetch_files,
                      "File with a list of files to be prefetched (one absolute path per line)"));
  add(app->add_flag("--erofs-when-cached", a->erofs_when_cached,
                    "When the blob cache already holds every chunk of the RAFS v6 image (and "
                    "digests are not validated), mount it with the kernel's EROFS driver, the "
                    "cache files as its devices, instead of serving it through FUSE"));
  // Not implemented: parsed only to be refused.
  for (const char* spec : {"-s,--shared-dir", "--failover-policy"}) {
    CLI::Option* o = app->add_option(spec, "not supported yet")->group("");
    a->unsupported.emplace_back(add(o), LongName(spec));
  }
  CLI::Option* w = app->add_flag("--writable")->group("");
  a->unsupported.emplace_back(add(w), "--writable");
}

bool AnyGiven(const FsArgs& a) {
  for (const CLI::Option* o : a.given) {
    if (o->count() > 0) return true;
  }
  return false;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "error: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nydus::daemon;
  CLI::App app{"Nydus daemon to provide FUSE and container image services", "nydusd"};
  app.set_version_flag("-V,--version", std::string(kNydusdVersion));
  std::string config, log_level = "info", log_file;
  uint64_t rlimit_nofile = kDefaultRlimitNofile, log_rotation_size = 0;
  app.add_option("-C,--config", config, "Path to the Nydus daemon configuration file");
  app.add_option("-l,--log-level", log_level, "Log level:")
      ->default_str("info")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("-L,--log-file", log_file,
                 "Log messages to the file. Default extension \".log\" will be used if no "
                 "extension specified.");
  app.add_option("--rlimit-nofile", rlimit_nofile,
                 "Set rlimit for maximum file descriptor number (0 leaves it unchanged)")
      ->default_str("1000000");
  app.add_option("--log-rotation-size", log_rotation_size,
                 "Specify log rotation size(MB), 0 to disable (only 0 is supported yet)")
      ->default_str("0");
  std::string apisock, id, supervisor;
  app.add_option("-A,--apisock", apisock, "Path to the Nydus daemon administration API socket");
  app.add_option("--id", id, "Service instance identifier (requires --supervisor)");
  app.add_option("--supervisor", supervisor,
                 "Supervisor API socket (requires --id); recorded, no state is sent");
  std::vector<std::pair<CLI::Option*, std::string>> unsupported;
  unsupported.emplace_back(app.add_flag("--upgrade")->group(""), "--upgrade");

  FsArgs top, sub;
  AddFsOptions(&app, &top);
  CLI::App* fuse = app.add_subcommand("fuse", "Run the Nydus daemon as a dedicated FUSE server");
  fuse->fallthrough();  // global options may follow the subcommand
  AddFsOptions(fuse, &sub);
  CLI::App* virtiofs = app.add_subcommand("virtiofs", "not supported yet")->group("");
  CLI::App* singleton = app.add_subcommand("singleton", "not supported yet")->group("");
  for (CLI::App* s : {virtiofs, singleton}) s->allow_extras()->prefix_command();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (virtiofs->parsed()) return Fail("not supported yet: the virtiofs subcommand");
  if (singleton->parsed()) return Fail("not supported yet: the singleton subcommand");
  for (const auto& [opt, name] : unsupported) {
    if (opt->count() > 0) return Fail("not supported yet: " + name);
  }
  if (fuse->parsed() && AnyGiven(top)) {
    return Fail("FUSE/FS options must follow the `fuse` subcommand when it is used");
  }
  const FsArgs& fs = fuse->parsed() ? sub : top;
  for (const auto& [opt, name] : fs.unsupported) {
    if (opt->count() > 0) return Fail("not supported yet: " + name);
  }
  if (log_rotation_size != 0) return Fail("not supported yet: --log-rotation-size (non-zero)");
  if (!id.empty() && supervisor.empty()) return Fail("--id requires --supervisor");
  if (id.empty() && !supervisor.empty()) return Fail("--supervisor requires --id");
  if (!fs.prefetch_files.empty() && fs.bootstrap.empty()) {
    return Fail("--prefetch-files requires --bootstrap");
  }
  if (!fs.localfs_dir.empty() && !config.empty()) {
    return Fail("--localfs-dir conflicts with --config: give only one of them");
  }
  if (fs.mountpoint.empty()) return Fail("--mountpoint is required");
  nydus::Result<uint32_t> threads = ParseThreadCount(fs.fuse_threads);
  if (!threads.ok()) return Fail(threads.status().message());

  nydus::Status st = nydus::InitLogging(log_level, log_file.empty() ? "" : LogFilePath(log_file));
  if (!st.ok()) return Fail(st.message());
  LOG_INFO("nydusd {} starting (pid {})", kNydusdVersion, static_cast<int>(::getpid()));
  nydus::Result<uint64_t> limit = RaiseNofileLimit(rlimit_nofile);
  if (!limit.ok()) return Fail(limit.status().ToString());
  if (*limit != 0) LOG_INFO("rlimit-nofile set to {}", *limit);

  DaemonOptions options;
  options.bootstrap = fs.bootstrap;
  options.config_path = config;
  options.localfs_dir = fs.localfs_dir;
  options.mountpoint = fs.mountpoint;
  options.fuse_threads = *threads;
  options.apisock = apisock;
  options.id = id;
  options.supervisor = supervisor;
  options.prefetch_files = fs.prefetch_files;
  options.virtual_mountpoint = fs.virtual_mountpoint;
  options.erofs_when_cached = fs.erofs_when_cached;
  Daemon daemon(options);
  // Before any other thread exists, so that every later thread inherits the blocked mask.
  auto watcher = SignalWatcher::Start({SIGINT, SIGTERM}, [&daemon](int signo) {
    LOG_INFO("received signal {}, unmounting", signo);
    daemon.RequestExit();
  });
  if (!watcher.ok()) return Fail(watcher.status().ToString());
  st = daemon.Start();
  if (st.ok()) st = daemon.Run();
  watcher->reset();
  if (!st.ok()) {
    LOG_ERROR("{}", st.ToString());
    if (!log_file.empty())
      std::fprintf(stderr, "error: %s\n", st.ToString().c_str());
    else
      spdlog::default_logger()->flush();
    return 1;
  }
  LOG_INFO("nydusd quits");
  return 0;
}
