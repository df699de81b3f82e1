// Option validation for `nydus-image create`, with the reference CLI's rules and messages
// that say what to do.
#include <sys/stat.h>

#include "base/bytes.h"
#include "builder/builder.h"

namespace nydus::builder {

Status ValidateOptions(const BuildOptions& o) {
  if (o.source.empty()) return Status::InvalidArgument("missing SOURCE directory");
  struct stat st;
  if (o.source_type == SourceType::kDirectory) {
    if (::stat(o.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("source '" + o.source + "' is not a directory");
    }
  } else if (::stat(o.source.c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
    return Status::InvalidArgument("source '" + o.source +
                                   "' is not a tar file or FIFO (--type tar-rafs/targz-rafs)");
  }
  if (o.fs_version != 5 && o.fs_version != 6) {
    return Status::InvalidArgument("--fs-version must be 5 or 6");
  }
  if (!IsPowerOfTwo(o.chunk_size) || o.chunk_size < format::kMinChunkSize ||
      o.chunk_size > format::kMaxChunkSize) {
    return Status::InvalidArgument(
        "--chunk-size must be a power of two between 0x1000 and 0x1000000");
  }
  if (o.blob_toc && o.fs_version != 6) {
    return Status::InvalidArgument("--features blob-toc is only supported by RAFS v6 (-v 6)");
  }
  if (o.blob_inline_meta && !o.bootstrap_path.empty()) {
    return Status::InvalidArgument("--bootstrap conflicts with --blob-inline-meta");
  }
  if (o.blob_inline_meta && !o.blob_id.empty()) {
    return Status::InvalidArgument("--blob-id conflicts with --blob-inline-meta");
  }
  if (o.bootstrap_path.empty() && o.blob_dir.empty() && !o.blob_inline_meta) {
    return Status::InvalidArgument(
        "both --bootstrap and --blob-dir are missing, please specify one to store the "
        "generated metadata blob file");
  }
  if (o.blob_path.empty() && o.blob_dir.empty()) {
    return Status::InvalidArgument(
        "missing output for the data blob: give --blob FILE or --blob-dir DIR");
  }
  if (!o.blob_dir.empty() && (::stat(o.blob_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return Status::InvalidArgument("--blob-dir '" + o.blob_dir +
                                   "' does not exist or is not a directory; create it first");
  }
  if (o.blob_id.size() > 255) return Status::InvalidArgument("--blob-id is longer than 255");
  if (o.fs_version == 6 && !o.blob_id.empty() && o.blob_id.size() != 64) {
    return Status::InvalidArgument("RAFS v6 needs a 64-character hex --blob-id");
  }
  return Status::OK();
}

}  // namespace nydus::builder
