// `nydus-image unpack`: writes the tree of a RAFS image (v5 or v6) as an OCI-style tar.
//
// Format: POSIX pax (libarchive), so long names and link targets, big uids/gids/sizes,
// nanosecond and negative mtimes and xattrs (SCHILY.xattr.* records) survive. Entries are
// emitted in the image's pre-order (parents before children, children sorted by name); the
// root directory itself is not emitted (as the reference does), paths are relative
// ("etc/passwd"). The second and later names of a hardlinked inode become hardlink entries
// pointing at the first name. Sockets are skipped (tar cannot hold them; the reference
// skips them too). File data is streamed through a storage::ChunkReader in bounded pieces,
// so memory stays at the reader's LRU budget plus one buffer, whatever the file sizes.
//
// Thread-safety: none; one call writes one archive.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "meta/image.h"
#include "storage/chunk_reader.h"

namespace nydus::builder {

struct UnpackOptions {
  std::string bootstrap_path;   // the image to unpack
  std::string blob_dir;         // localfs backend directory (blob = blob_dir/<blob id>)
  std::string blob_path;        // or: one blob file serving every blob (-b)
  std::string output_path;      // the tar to write (truncated)
  bool validate_digest = true;  // check every chunk's digest while reading
};

struct UnpackStats {
  uint64_t entries = 0;     // tar entries written (hardlinks included)
  uint64_t data_bytes = 0;  // file bytes written
  uint64_t skipped = 0;     // sockets left out
};

// Reads the bootstrap, opens the localfs backend and writes the tar.
Result<UnpackStats> Unpack(const UnpackOptions& opts);

// The core: writes `image` to `output_path`, reading file data through `reader` (which must
// be built over `image`). Only images whose files have no chunks need no reader (nullptr).
Result<UnpackStats> WriteImageTar(const meta::Image& image, storage::ChunkReader* reader,
                                  const std::string& output_path);

}  // namespace nydus::builder
