// nydusify: convert OCI images in a registry to Nydus images, check a conversion, mount a
// Nydus image from a registry, optimize one with a prefetch blob. Flags → converter options →
// library call; one error line and exit 1 on failure.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/logging.h"
#include "converter/check.h"
#include "converter/convert.h"
#include "converter/mount.h"
#include "converter/optimize.h"

namespace {

using namespace nydus;

int Fail(const Status& st) {
  std::fprintf(stderr, "error: %s\n", st.message().c_str());
  return 1;
}

Result<uint32_t> ParseHex(const std::string& s) {
  std::string hex = s;
  if (hex.rfind("0x", 0) == 0 || hex.rfind("0X", 0) == 0) hex = hex.substr(2);
  if (hex.empty() || hex.size() > 8 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Status::InvalidArgument("invalid --chunk-size '" + s + "': expected hex like 0x100000");
  }
  return static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
}

int RunMount(const std::string& target, bool insecure, const std::string& platform,
             const std::string& work_dir, const std::string& mount_path,
             const std::string& nydusd_flag) {
  auto ref = converter::ParseImageRef(target);
  if (!ref.ok()) return Fail(ref.status());
  auto plat = converter::ParsePlatform(platform);
  if (!plat.ok()) return Fail(plat.status());
  auto prep = converter::PrepareNydusMount(*ref, insecure, *plat, work_dir + "/mount",
                                           /*digest_validate=*/false);
  if (!prep.ok()) return Fail(prep.status());
  std::string nydusd = converter::FindNydusd(nydusd_flag);
  std::vector<std::string> args = {nydusd,     "--config",    prep->config_path, "--mountpoint",
                                   mount_path, "--bootstrap", prep->bootstrap};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  LOG_INFO("Mounting {} at {} with {}", ref->ToString(), mount_path, nydusd);
  // The credentials reach nydusd through its environment, never a file or the command line.
  if (!prep->auth.empty()) ::setenv("IMAGE_PULL_AUTH", prep->auth.c_str(), 1);
  ::execvp(nydusd.c_str(), argv.data());
  return Fail(Status::FromErrno(errno, "exec " + nydusd));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert, check, mount and optimize Nydus images in registries", "nydusify"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  converter::ConvertOptions co;
  std::string chunk_size, backend_type = "registry", fs_version = "6";
  bool prefetch = false;
  CLI::App* conv = app.add_subcommand("convert", "Convert an OCI image to a Nydus image");
  conv->add_option("--source", co.source, "Source image reference")->required();
  conv->add_option("--target", co.target, "Target image reference")->required();
  conv->add_flag("--source-insecure", co.source_insecure, "Plain http for the source registry");
  conv->add_flag("--target-insecure", co.target_insecure, "Plain http for the target registry");
  conv->add_option("--work-dir", co.work_dir, "Work directory")->default_str("./tmp");
  conv->add_option("--nydus-image", co.nydus_image, "External nydus-image binary");
  conv->add_option("--fs-version", fs_version, "RAFS version")->check(CLI::IsMember({"5", "6"}));
  conv->add_option("--compressor", co.compressor, "Chunk compressor")
      ->check(CLI::IsMember({"none", "lz4_block", "zstd"}));
  conv->add_option("--chunk-size,--fs-chunk-size", chunk_size, "Chunk size (hex)");
  conv->add_option("--platform", co.platform, "Platform of the source image")
      ->default_str("linux/amd64");
  conv->add_flag("--prefetch-patterns", prefetch, "Read prefetch patterns from stdin");
  conv->add_option("--chunk-dict", co.chunk_dict,
                   "Chunk dict: bootstrap:registry:<ref>, bootstrap:local:<path> or a path");
  conv->add_flag("--chunk-dict-insecure", co.chunk_dict_insecure,
                 "Plain http for the chunk dict's registry");
  conv->add_option("--backend-type", backend_type, "Blob backend")
      ->check(CLI::IsMember({"registry"}));

  converter::CheckOptions ko;
  CLI::App* chk = app.add_subcommand("check", "Check a Nydus image against its source");
  chk->add_option("--source", ko.source, "Source (OCI) image reference");
  chk->add_option("--target", ko.target, "Target (Nydus) image reference")->required();
  chk->add_flag("--source-insecure", ko.source_insecure, "Plain http for the source registry");
  chk->add_flag("--target-insecure", ko.target_insecure, "Plain http for the target registry");
  chk->add_option("--work-dir", ko.work_dir, "Work directory")->default_str("./tmp");
  chk->add_option("--nydusd", ko.nydusd, "nydusd binary");
  chk->add_option("--platform", ko.platform, "Platform")->default_str("linux/amd64");

  std::string m_target, m_path, m_work = "./tmp", m_nydusd, m_platform = "linux/amd64";
  bool m_insecure = false;
  CLI::App* mnt = app.add_subcommand("mount", "Mount a Nydus image from a registry");
  mnt->add_option("--target", m_target, "Nydus image reference")->required();
  mnt->add_option("--mount-path", m_path, "Mountpoint")->required();
  mnt->add_flag("--target-insecure", m_insecure, "Plain http for the registry");
  mnt->add_option("--work-dir", m_work, "Work directory")->default_str("./tmp");
  mnt->add_option("--nydusd", m_nydusd, "nydusd binary");
  mnt->add_option("--platform", m_platform, "Platform")->default_str("linux/amd64");

  converter::OptimizeImageOptions oo;
  CLI::App* opt =
      app.add_subcommand("optimize", "Optimize a source nydus image and push to the target");
  opt->add_option("--source", oo.source, "Source (Nydus) image reference")->required();
  opt->add_option("--target", oo.target, "Target (Nydus) image reference")->required();
  opt->add_flag("--source-insecure", oo.source_insecure, "Plain http for the source registry");
  opt->add_flag("--target-insecure", oo.target_insecure, "Plain http for the target registry");
  opt->add_option("--policy", oo.policy, "Specify the optimizing way")
      ->default_str(converter::kOptimizePolicySeparated);
  opt->add_option("--prefetch-files", oo.prefetch_files,
                  "File listing the files to prefetch (JSON v1 from `nydusctl access-pattern "
                  "--format json`, or one absolute path per line)")
      ->required();
  opt->add_option("--work-dir", oo.work_dir, "Working directory for image optimization")
      ->default_str("./tmp");
  opt->add_option("--nydus-image", oo.nydus_image, "External nydus-image binary");
  opt->add_option("--platform", oo.platform, "Platform of the source image")
      ->default_str("linux/amd64");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (Status st = InitLogging(log_level, ""); !st.ok()) return Fail(st);

  if (conv->parsed()) {
    co.fs_version = fs_version == "5" ? 5 : 6;
    if (!chunk_size.empty()) {
      auto cs = ParseHex(chunk_size);
      if (!cs.ok()) return Fail(cs.status());
      co.chunk_size = *cs;
    }
    if (co.chunk_dict.rfind("bootstrap:local:", 0) == 0) co.chunk_dict = co.chunk_dict.substr(16);
    if (co.chunk_dict.rfind("bootstrap:registry:", 0) == 0) {
      co.chunk_dict_ref = co.chunk_dict.substr(19);
      co.chunk_dict.clear();
    } else if (co.chunk_dict.rfind("bootstrap:", 0) == 0) {
      return Fail(Status::InvalidArgument("invalid --chunk-dict '" + co.chunk_dict +
                                          "': expected bootstrap:registry:<ref> or "
                                          "bootstrap:local:<path>"));
    }
    if (prefetch) {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (!line.empty()) co.prefetch_patterns.push_back(line);
      }
    }
    auto r = converter::Convert(co);
    if (!r.ok()) return Fail(r.status());
    return 0;
  }
  if (chk->parsed()) {
    auto r = converter::Check(ko);
    if (!r.ok()) return Fail(r.status());
    for (const auto& p : r->problems) std::fprintf(stderr, "%s\n", p.c_str());
    if (!r->ok()) {
      std::fprintf(stderr, "error: check failed: %zu problem(s)\n", r->problems.size());
      return 1;
    }
    LOG_INFO("Check passed ({} entries compared)", r->entries_compared);
    return 0;
  }
  if (opt->parsed()) {
    auto r = converter::OptimizeImage(oo);
    if (!r.ok()) return Fail(r.status());
    return 0;
  }
  return RunMount(m_target, m_insecure, m_platform, m_work, m_path, m_nydusd);
}
