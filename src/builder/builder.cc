// Composition of the build stages; see builder.h.
#include "builder/builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "base/digest.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "base/thread_pool.h"
#include "builder/blob_writer.h"
#include "builder/bootstrap_writer.h"
#include "builder/chunk_dict.h"
#include "builder/chunk_pipeline.h"
#include "builder/chunk_stream.h"
#include "builder/dir_walker.h"
#include "builder/layering.h"
#include "builder/prefetch.h"
#include "builder/tar_source.h"
#include "meta/bootstrap_reader.h"

namespace nydus::builder {
namespace {

// --prefetch-policy blob: the new blob's readahead window covers the chunks of the prefetched
// files, which the pipeline wrote first.
void SetBlobReadahead(const meta::Node& root, const std::vector<std::string>& patterns,
                      uint32_t blob_index, std::vector<meta::BlobInfo>* blobs) {
  uint64_t end = 0;
  for (const meta::Node* matched : MatchPrefetch(root, patterns)) {
    meta::WalkTree(*matched, [&](const meta::Node& n, const std::string&) {
      for (const auto& c : n.inode->chunks) {
        if (c.blob_index == blob_index)
          end = std::max(end, c.compressed_offset + c.compressed_size);
      }
      return true;
    });
  }
  (*blobs)[blob_index].readahead_offset = 0;
  (*blobs)[blob_index].readahead_size = static_cast<uint32_t>(std::min<uint64_t>(end, UINT32_MAX));
}

// Loads the parent bootstrap and checks that its settings are compatible with this build.
Result<meta::Image> LoadParent(const BuildOptions& o) {
  ASSIGN_OR_RETURN(meta::Image parent, meta::ReadBootstrapFile(o.parent_bootstrap));
  const std::string what = "parent bootstrap " + o.parent_bootstrap;
  if (parent.version != (o.fs_version == 6 ? format::kRafsVersionV6 : format::kRafsVersionV5)) {
    return Status::InvalidArgument(what + ": RAFS version differs from --fs-version");
  }
  if (parent.chunk_size != o.chunk_size) {
    return Status::InvalidArgument(what + ": chunk size differs from --chunk-size");
  }
  if (parent.explicit_uidgid != !o.repeatable) {
    return Status::InvalidArgument(what + ": explicit uid/gid setting differs (--repeatable)");
  }
  if (o.fs_version == 5 && parent.digester != o.digester) {
    return Status::InvalidArgument(what + ": digester differs from --digester");
  }
  return parent;
}

// Directory source: walk → layering → normalize → data in DataOrder through ChunkPipeline.
Status BuildFromDirectory(const BuildOptions& o, const std::vector<std::string>& patterns,
                          meta::Image* parent, ChunkDict* dict, BlobWriter* writer,
                          ThreadPool* pool, meta::Image* image) {
  const bool explicit_uidgid = !o.repeatable;
  ASSIGN_OR_RETURN(SourceTree src, WalkDirectory(o.source, WalkOptions{explicit_uidgid}));
  LOG_DEBUG("walked {}: {} regular files with data", o.source, src.data_paths.size());
  if (!o.parent_bootstrap.empty()) {
    image->root = std::move(parent->root);
    RETURN_IF_ERROR(ApplyUpperLayer(image->root.get(), std::move(src.root), o.whiteout_spec));
  } else {
    PrepareSingleLayer(src.root.get(), o.whiteout_spec);
    image->root = std::move(src.root);
  }
  NormalizeTree(image->root.get(), explicit_uidgid);
  // Files whose data this build writes, prefetched ones first.
  std::vector<std::pair<meta::Inode*, std::string>> files;
  for (const meta::Inode* ino : DataOrder(*image->root, patterns)) {
    auto it = src.data_paths.find(ino);
    if (it != src.data_paths.end()) files.emplace_back(const_cast<meta::Inode*>(ino), it->second);
  }
  return WriteFileData(files, dict, writer, pool);
}

// Tar source: one pass over the archive; file data goes to the blob in archive order (as
// the reference tarball builder writes it), then layering and normalization. Whiteout
// files are kept in a build without parent (reference §3.8), applied with one.
Status BuildFromTar(const BuildOptions& o, meta::Image* parent, ChunkDict* dict, BlobWriter* writer,
                    ThreadPool* pool, meta::Image* image) {
  const bool explicit_uidgid = !o.repeatable;
  ChunkStream stream(dict, writer, pool);
  ASSIGN_OR_RETURN(TarTree tar,
                   ReadTarSource(o.source, TarSourceOptions{explicit_uidgid}, &stream));
  LOG_DEBUG("read {}: {} entries, {} implied directories", o.source, tar.entries,
            tar.implied_dirs.size());
  if (!o.parent_bootstrap.empty()) {
    InheritImpliedDirs(*parent->root, tar.root.get(), tar.implied_dirs);
    image->root = std::move(parent->root);
    RETURN_IF_ERROR(ApplyUpperLayer(image->root.get(), std::move(tar.root), o.whiteout_spec));
  } else {
    image->root = std::move(tar.root);
  }
  NormalizeTree(image->root.get(), explicit_uidgid);
  return Status::OK();
}

}  // namespace

uint64_t ComputeSuperFlags(const meta::Image& image) {
  uint64_t f = format::CompressorFlag(image.compressor) | format::DigesterFlag(image.digester);
  if (image.explicit_uidgid) f |= format::kFlagExplicitUidGid;
  bool has_xattr = false;
  if (image.root != nullptr) {
    meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string&) {
      has_xattr = !n.inode->xattrs.empty();
      return !has_xattr;
    });
  }
  if (has_xattr) f |= format::kFlagHasXattr;
  if (image.IsV6() && !image.blobs.empty()) {
    bool all_digest = true;
    for (const auto& b : image.blobs) {
      all_digest &= (b.features & format::kBlobInlinedChunkDigest) != 0;
    }
    if (all_digest) f |= format::kFlagInlinedChunkDigest;
  }
  return f;
}

Result<BuildResult> Build(const BuildOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  const bool explicit_uidgid = !o.repeatable;
  meta::Image image;
  image.version = o.fs_version == 6 ? format::kRafsVersionV6 : format::kRafsVersionV5;
  image.chunk_size = o.chunk_size;
  image.compressor = o.compressor;
  image.digester = o.digester;
  image.explicit_uidgid = explicit_uidgid;

  ChunkDict dict(o.digester);
  meta::Image parent;
  const bool layered = !o.parent_bootstrap.empty();
  if (layered) {
    ASSIGN_OR_RETURN(parent, LoadParent(o));
    RETURN_IF_ERROR(dict.AddParent(parent));
  }
  if (!o.chunk_dict.empty()) {
    ASSIGN_OR_RETURN(meta::Image dict_image, meta::ReadBootstrapFile(o.chunk_dict));
    RETURN_IF_ERROR(dict.AddDictImage(dict_image).WithContext("--chunk-dict " + o.chunk_dict));
  }
  std::vector<std::string> patterns;
  if (o.prefetch_policy != PrefetchPolicy::kNone) {
    ASSIGN_OR_RETURN(patterns, NormalizePrefetchPatterns(o.prefetch_patterns));
  }
  if (o.prefetch_policy == PrefetchPolicy::kFs) image.prefetch = patterns;

  BuildResult res;
  BlobWriterOptions bw;
  bw.fs_version = o.fs_version;
  bw.compressor = o.compressor;
  bw.digester = o.digester;
  bw.chunk_size = o.chunk_size;
  bw.aligned_chunk = o.aligned_chunk;
  bw.blob_toc = o.blob_toc;
  bw.inline_meta = o.blob_inline_meta;
  bw.blob_id = o.blob_id;
  bw.tee = o.blob_tee;
  const bool to_dir = o.blob_path.empty();
  const std::string blob_tmp = to_dir ? TempPathFor(o.blob_dir + "/.nydus-blob") : o.blob_path;
  ASSIGN_OR_RETURN(auto writer, BlobWriter::Create(blob_tmp, bw));
  auto abandon = [&](Status st) {
    writer->Abandon();
    if (to_dir) ::unlink(blob_tmp.c_str());
    return st;
  };
  {
    ThreadPool pool(o.threads);
    Status st = o.source_type == SourceType::kDirectory
                    ? BuildFromDirectory(o, patterns, &parent, &dict, writer.get(), &pool, &image)
                    : BuildFromTar(o, &parent, &dict, writer.get(), &pool, &image);
    if (!st.ok()) return abandon(st);
  }
  image.blobs = dict.blobs();
  const bool has_blob = !writer->empty();
  if (has_blob) {
    auto data_info = writer->FinishData();
    if (!data_info.ok()) return abandon(data_info.status());
    image.blobs[*dict.new_blob_index()] = *data_info;
    if (o.prefetch_policy == PrefetchPolicy::kBlob) {
      SetBlobReadahead(*image.root, patterns, *dict.new_blob_index(), &image.blobs);
    }
  } else if (dict.new_blob_index()) {
    return abandon(Status::Internal("blob index allocated but no chunk written"));
  }
  image.flags = ComputeSuperFlags(image);
  auto boot_r = WriteBootstrap(image);
  if (!boot_r.ok()) return abandon(boot_r.status());
  Bytes boot = std::move(*boot_r);
  if (o.verify_after_build) {
    auto check = meta::ReadBootstrap(boot);
    if (!check.ok()) {
      return abandon(
          check.status().WithContext("built bootstrap failed validation (a builder bug)"));
    }
  }
  if (has_blob) {
    auto final_info = writer->Finish(o.blob_inline_meta ? ByteSpan(boot) : ByteSpan());
    if (!final_info.ok()) return abandon(final_info.status());
    meta::BlobInfo& recorded = image.blobs[*dict.new_blob_index()];
    recorded.blob_id = final_info->blob_id;
    recorded.compressed_size = final_info->compressed_size;
    res.blob_size = final_info->compressed_size;
    res.blob_path = to_dir ? o.blob_dir + "/" + final_info->blob_id : o.blob_path;
    if (to_dir && ::rename(blob_tmp.c_str(), res.blob_path.c_str()) != 0) {
      return abandon(Status::FromErrno(errno, "rename blob to " + res.blob_path));
    }
  } else {
    writer->Abandon();
    if (to_dir) ::unlink(blob_tmp.c_str());
  }

  if (!o.blob_inline_meta) {
    res.bootstrap_path =
        !o.bootstrap_path.empty() ? o.bootstrap_path : o.blob_dir + "/" + DigestHex(Sha256(boot));
    RETURN_IF_ERROR(WriteFileAtomically(res.bootstrap_path, boot));
  }
  for (const auto& b : image.blobs) {
    if (b.uncompressed_size > 0) res.blob_ids.push_back(b.blob_id);
  }
  res.image = std::move(image);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  LOG_DEBUG("build finished in {} ms", ms);
  return res;
}

}  // namespace nydus::builder
