// Paths of tar entries, shared by the builder's tar source and nydusify's layer unpacking
// (converter/layer_tar.cc), so that both read the same names and apply the same rules.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct archive_entry;

namespace nydus::builder {

// Splits a tar path into components, normalised lexically inside the root as OCI appliers do
// (Go's filepath.Clean): empty and "." components are dropped, ".." drops the component
// before it ("./a/../b" is "b"). InvalidArgument for an absolute path ("... is an absolute
// path"), a ".." that would climb above the root ("../x", "a/../../x": "... escapes the root
// with '..'") and a name over 255 bytes. An empty result names the root. `what` names the
// field in errors ("path", "hardlink target").
Result<std::vector<std::string>> SplitEntryPath(std::string_view path, const char* what);
// The first `n` components joined with '/'.
std::string JoinComponents(const std::vector<std::string>& comps, size_t n);

// An entry's path, hardlink and symlink targets as raw bytes when libarchive has them, else
// its UTF-8 form (PAX names that the current locale cannot represent); null when absent.
const char* EntryPath(archive_entry* e);
const char* EntryHardlink(archive_entry* e);
const char* EntrySymlink(archive_entry* e);

}  // namespace nydus::builder
