// Output files of the builder commands (create, merge, compact) that appear whole or not at
// all: written under a temporary name in the same directory, then renamed.
//
// The temporary names are unique among concurrent writers in this process and in others
// ("<pid>.<n>"): nydusify packs and merges several layers into one directory at once.
// (Builder-local for now; storage/blob_meta_file.cc and snapshotter/metadata_store.cc have
// their own copies — base/file_util.h is the place for one shared helper.)
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace nydus::builder {

// `path` + ".tmp.<pid>.<n>", distinct on every call. Thread-safe.
std::string TempPathFor(const std::string& path);

// Writes `data` to TempPathFor(path) and renames it over `path`; on failure the temporary
// file is removed and `path` is left as it was.
Status WriteFileAtomically(const std::string& path, ByteSpan data);

}  // namespace nydus::builder
