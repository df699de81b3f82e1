// nydus-image: the RAFS image builder and toolbox. Flags follow the reference nydus-image
// 2.2 (names, short forms, aliases, defaults); each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "base/logging.h"
#include "tools/nydus_image_cmds.h"

int main(int argc, char** argv) {
  using namespace nydus::tools;
  CLI::App app{"Build, analyze, inspect or validate RAFS filesystems/Nydus accelerated container images",
               "nydus-image"};
  app.set_version_flag("-V,--version", std::string(kNydusImageVersion));
  app.require_subcommand(1);
  std::string log_file, log_level = "info";
  app.add_option("-L,--log-file", log_file, "Log file path");
  app.add_option("-l,--log-level", log_level, "Log level:")
      ->default_str("info")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CreateArgs create;
  AddCreateCommand(app, &create);
  MergeArgs merge;
  AddMergeCommand(app, &merge);
  CheckArgs check;
  AddCheckCommand(app, &check);
  InspectArgs inspect;
  AddInspectCommand(app, &inspect);
  StatArgs stat;
  AddStatCommand(app, &stat);
  UnpackArgs unpack;
  AddUnpackCommand(app, &unpack);
  ExportArgs export_args;
  AddExportCommand(app, &export_args);
  CompactArgs compact;
  AddCompactCommand(app, &compact);
  OptimizeArgs optimize;
  AddOptimizeCommand(app, &optimize);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  nydus::Status st = nydus::InitLogging(log_level, log_file);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return 1;
  }
  if (app.got_subcommand("create")) st = RunCreate(create);
  else if (app.got_subcommand("merge")) st = RunMerge(merge);
  else if (app.got_subcommand("check")) st = RunCheck(check);
  else if (app.got_subcommand("inspect")) st = RunInspect(inspect);
  else if (app.got_subcommand("stat")) st = RunStat(stat);
  else if (app.got_subcommand("unpack")) st = RunUnpack(unpack);
  else if (app.got_subcommand("export")) st = RunExport(export_args);
  else if (app.got_subcommand("compact")) st = RunCompact(compact);
  else if (app.got_subcommand("optimize")) st = RunOptimize(optimize);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
