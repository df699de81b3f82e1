// `nydusify check` (reference spec §5.4): is the Nydus image at --target a faithful conversion
// of the OCI image at --source?
//  1. manifest: every layer but the last is a nydus blob layer (media type + nydus-blob=true),
//     the last has nydus-bootstrap=true; the target config's `.config` equals the source's
//     (ignoring ArgsEscaped);
//  2. bootstrap: the bootstrap layer's image.boot is read back (validated) and every blob it
//     references is a manifest layer;
//  3. filesystem: the target is mounted with nydusd (registry backend, digest validation on),
//     the source layers are downloaded and unpacked (OCI whiteouts applied) under the work
//     dir, and the two trees are compared (tree_diff.h) — content included.
// Every finding is one line in CheckResult::problems; the check passes when there are none.
// Thread-safety: none needed.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::converter {

struct CheckOptions {
  std::string source;  // "" = skip the filesystem and config comparisons
  std::string target;
  bool source_insecure = false;
  bool target_insecure = false;
  std::string work_dir = "./tmp";
  std::string nydusd;  // "" = FindNydusd
  std::string platform = "linux/amd64";
};

struct CheckResult {
  std::vector<std::string> problems;
  uint64_t entries_compared = 0;
  bool ok() const { return problems.empty(); }
};

// Errors are for checks that could not run (registry unreachable, nydusd failed to mount);
// differences are problems.
Result<CheckResult> Check(const CheckOptions& options);

}  // namespace nydus::converter
