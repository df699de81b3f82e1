// The push steps of `nydusify convert` (convert.cc) and `optimize` (optimize.cc), and the
// two small helpers their log lines use. Internal to the converter.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "converter/image_ref.h"
#include "registry/registry_push.h"

namespace nydus::converter::internal {

using Clock = std::chrono::steady_clock;

// Seconds since `t0` as the reference's log lines print them ("1.234s").
std::string Elapsed(Clock::time_point t0);
// The size of the file at `path`, 0 when it cannot be stat'ed.
uint64_t FileSize(const std::string& path);

// Pushes the file at `path` as blob `digest` unless `dst` has it already (HEAD), or mounts it
// from `mount_from`'s repository (same registry) when that works; else uploads it, up to 3
// attempts for transient failures. Logs "<tag> <what> digest= size= elapsed=".
Status PushFile(registry::RepoClient& dst, registry::RepoClient* mount_from,
                const std::string& path, const std::string& digest, const char* tag,
                const char* what);

// A blob the result references but did not build: present in the target, or mounted from
// `from`'s repository (`from_ref`, same registry), or copied from it through `scratch_dir`
// (downloaded, pushed, removed). `origin` names where it comes from in the log lines
// ("mounted from <origin> <repo>", "Push blob (from the <origin>)"). `from` null: it must be
// in the target already. Returns its size.
Result<uint64_t> EnsureBlob(registry::RepoClient& dst, registry::RepoClient* from,
                            const ImageRef& from_ref, const std::string& digest,
                            const std::string& scratch_dir, const std::string& origin);

// EnsureBlob for a blob of the chunk dict (origin "chunk dict").
Result<uint64_t> EnsureDictBlob(registry::RepoClient& dst, registry::RepoClient* dict_repo,
                                const ImageRef& dict_ref, const std::string& digest,
                                const std::string& scratch_dir);

}  // namespace nydus::converter::internal
