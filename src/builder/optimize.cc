#include "builder/optimize.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "base/file_util.h"
#include "base/logging.h"
#include "builder/blob_writer.h"
#include "builder/bootstrap_writer.h"
#include "builder/builder.h"
#include "meta/bootstrap_reader.h"
#include "storage/chunk_reader.h"

namespace nydus::builder {
namespace {

using ChunkKey = std::pair<uint32_t, uint32_t>;  // (blob_index, chunk index)

bool Overlaps(const meta::ChunkInfo& c, const std::pair<uint64_t, uint64_t>& r) {
  const uint64_t c_end = c.file_offset + c.uncompressed_size;
  const uint64_t r_end = r.first + std::min(r.second, UINT64_MAX - r.first);
  return std::max(c.file_offset, r.first) < std::min(c_end, r_end);
}

// The node at absolute `path` (no symlinks followed, as the reference's tree lookup).
const meta::Node* Find(const meta::Node& root, const std::string& path) {
  const meta::Node* n = &root;
  size_t i = 1;
  while (n && i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) n = n->FindChild(path.substr(i, j - i));
    i = j + 1;
  }
  return n;
}

}  // namespace

Result<OptimizeResult> OptimizePrefetch(const std::string& bootstrap_path,
                                        storage::BlobBackend* backend,
                                        const std::vector<PrefetchFileEntry>& files,
                                        const OptimizeOptions& o) {
  if (o.output_blob_dir.empty()) return Status::InvalidArgument("optimize: missing blob dir");
  if (o.output_bootstrap.empty()) {
    return Status::InvalidArgument("optimize: missing output bootstrap");
  }
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrapFile(bootstrap_path));
  for (const meta::BlobInfo& b : image.blobs) {
    if (b.features & format::kBlobSeparatedPrefetch) {
      return Status::InvalidArgument("optimize: " + bootstrap_path +
                                     " already has a separated prefetch blob (" + b.blob_id +
                                     "); optimize the original bootstrap instead");
    }
  }
  OptimizeResult res;

  // The chunks to copy, in list order, each once.
  std::vector<meta::ChunkInfo> selected;
  std::set<ChunkKey> seen;
  for (const PrefetchFileEntry& f : files) {
    if (f.path.empty() || f.path[0] != '/') {
      LOG_WARN("optimize: prefetch path '{}' is not absolute, skipped", f.path);
      ++res.skipped;
      continue;
    }
    const meta::Node* n = Find(*image.root, f.path);
    if (!n || !n->inode->IsReg()) {
      LOG_WARN("optimize: {} is {} in the image, skipped", f.path,
               n ? "not a regular file" : "not found");
      ++res.skipped;
      continue;
    }
    ++res.files;
    for (const meta::ChunkInfo& c : n->inode->chunks) {
      if (c.flags & format::kChunkHole || c.blob_index >= image.blobs.size()) continue;
      if (f.ranges && std::none_of(f.ranges->begin(), f.ranges->end(),
                                   [&c](const auto& r) { return Overlaps(c, r); })) {
        continue;
      }
      if (seen.insert({c.blob_index, c.index}).second) selected.push_back(c);
    }
  }
  if (selected.empty()) {
    return Status::InvalidArgument("optimize: the prefetch files select no data (" +
                                   std::to_string(files.size()) + " entries, " +
                                   std::to_string(res.skipped) + " skipped)");
  }

  storage::ChunkReaderOptions ro;
  ro.validate_digest = true;
  ro.cache_bytes = 8ull << 20;
  storage::ChunkReader reader(image, backend, ro);

  BlobWriterOptions wo;
  wo.fs_version = image.IsV6() ? 6 : 5;
  wo.compressor = image.compressor;
  wo.digester = image.digester;
  wo.chunk_size = image.chunk_size;
  wo.aligned_chunk = true;
  wo.blob_index = static_cast<uint32_t>(image.blobs.size());
  wo.extra_features = format::kBlobSeparatedPrefetch;
  // Until the rename below, any return leaves no temporary blob behind.
  TempFileGuard tmp(TempPathFor(o.output_blob_dir + "/.optimize"));
  ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, BlobWriter::Create(tmp.path(), wo));
  std::map<ChunkKey, meta::ChunkInfo> moved;
  for (const meta::ChunkInfo& c : selected) {
    auto data = reader.ReadChunk(c);
    if (!data.ok()) {
      writer->Abandon();
      return data.status().WithContext("optimize: blob " + image.blobs[c.blob_index].blob_id);
    }
    auto added = writer->AddChunk(ByteSpan((*data)->data(), (*data)->size()));
    if (!added.ok()) {
      writer->Abandon();
      return added.status().WithContext("optimize");
    }
    if (added->digest != c.digest) {
      writer->Abandon();
      return Status::Internal("optimize: chunk digest changed on copy");
    }
    moved[{c.blob_index, c.index}] = *added;
    res.bytes_uncompressed += c.uncompressed_size;
  }
  ASSIGN_OR_RETURN(meta::BlobInfo info, writer->Finish());
  const std::string blob_path = o.output_blob_dir + "/" + info.blob_id;
  if (::rename(tmp.path().c_str(), blob_path.c_str()) != 0) {
    return Status::FromErrno(errno, "rename " + tmp.path() + " to " + blob_path);
  }
  tmp.Keep();
  res.chunks = moved.size();

  // Every reference to a copied chunk moves to the copy (hardlinks share the Inode).
  std::set<meta::Inode*> inodes;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string&) {
    if (!inodes.insert(n.inode.get()).second) return true;
    for (meta::ChunkInfo& c : n.inode->chunks) {
      auto it = moved.find({c.blob_index, c.index});
      if (it == moved.end()) continue;
      const uint64_t file_offset = c.file_offset;
      c = it->second;
      c.file_offset = file_offset;
    }
    return true;
  });
  image.blobs.push_back(info);
  image.flags = ComputeSuperFlags(image);
  ASSIGN_OR_RETURN(Bytes boot, WriteBootstrap(image));
  RETURN_IF_ERROR(meta::ReadBootstrap(boot).status().WithContext("optimized bootstrap invalid"));
  RETURN_IF_ERROR(WriteFileAtomically(o.output_bootstrap, boot));
  res.bootstrap_path = o.output_bootstrap;
  res.prefetch_blob = info;
  for (const meta::BlobInfo& b : image.blobs) res.blob_ids.push_back(b.blob_id);
  LOG_INFO("optimize: prefetch blob {}: {} files, {} chunks, {} bytes ({} compressed)",
           info.blob_id, res.files, res.chunks, res.bytes_uncompressed, info.CompressedDataSize());
  return res;
}

}  // namespace nydus::builder
