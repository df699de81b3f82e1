// Options of one `nydus-image create` build, already validated by the CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "format/rafs.h"

namespace nydus::builder {

enum class WhiteoutSpec { kOci, kOverlayfs, kNone };
enum class PrefetchPolicy { kNone, kFs, kBlob };
// --type: dir-rafs (directory), tar-rafs / targz-rafs (a layer tar, plain or gzip; both
// detect the compression from the content, as the reference does).
enum class SourceType { kDirectory, kTar, kTarGz };

struct BuildOptions {
  std::string source;  // directory (or tar file / FIFO) to build from
  SourceType source_type = SourceType::kDirectory;
  std::string bootstrap_path;    // -B; empty: <blob_dir>/<sha256 of bootstrap>
  std::string blob_dir;          // -D; the blob is written as <blob_dir>/<blob id>
  std::string blob_path;         // -b; explicit blob file (may be a FIFO)
  std::string parent_bootstrap;  // --parent-bootstrap
  std::string chunk_dict;        // --chunk-dict bootstrap path
  uint32_t fs_version = 6;
  format::Compressor compressor = format::Compressor::kZstd;
  format::Digester digester = format::Digester::kBlake3;
  uint32_t chunk_size = format::kDefaultChunkSize;
  WhiteoutSpec whiteout_spec = WhiteoutSpec::kOci;
  PrefetchPolicy prefetch_policy = PrefetchPolicy::kNone;
  std::vector<std::string> prefetch_patterns;  // absolute paths
  bool repeatable = false;                     // explicit_uidgid = !repeatable
  bool aligned_chunk = false;                  // always on for v6
  bool blob_inline_meta = false;
  bool blob_toc = false;  // --features blob-toc (v6 only)
  std::string blob_id;    // --blob-id (forced id)
  // Not a flag: sees every byte of the data blob as it is written (BlobWriterOptions::tee).
  std::function<void(ByteSpan)> blob_tee;
  size_t threads = 0;              // 0: all cores
  bool verify_after_build = true;  // read the bootstrap back and validate it (--disable-check)
};

}  // namespace nydus::builder
