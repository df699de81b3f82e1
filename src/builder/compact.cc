#include "builder/compact.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "builder/blob_writer.h"
#include "builder/bootstrap_writer.h"
#include "builder/builder.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"

namespace nydus::builder {
namespace {

using ChunkKey = std::pair<uint32_t, uint32_t>;  // (blob_index, chunk index)

// What happens to one original blob.
enum class Fate { kKeep, kDrop, kRebuild };

struct BlobPlan {
  Fate fate = Fate::kDrop;
  std::map<uint32_t, meta::ChunkInfo> used;  // referenced chunks by index
  uint64_t used_bytes = 0;                   // compressed bytes of `used`
  std::vector<uint32_t> merged;              // blobs whose chunks go into this one
};

// Steps 1-3 of the header comment: fills each plan's fate and merge list.
void Plan(const meta::Image& image, const CompactOptions& o, std::vector<BlobPlan>* plans) {
  for (size_t i = 0; i < plans->size(); ++i) {
    BlobPlan& p = (*plans)[i];
    const uint64_t size = std::max<uint64_t>(image.blobs[i].compressed_size, 1);
    if (p.used.empty()) continue;  // kDrop
    const uint64_t ratio = p.used_bytes * 100 / size;
    p.fate = ratio < o.min_used_ratio ? Fate::kRebuild : Fate::kKeep;
    LOG_INFO("compact: blob {} used {} of {} bytes ({}%)", image.blobs[i].blob_id, p.used_bytes,
             size, ratio);
  }
  std::vector<std::pair<uint64_t, uint32_t>> small;  // (size, blob)
  for (uint32_t i = 0; i < plans->size(); ++i) {
    const BlobPlan& p = (*plans)[i];
    if (p.fate == Fate::kDrop) continue;
    const uint64_t size = p.fate == Fate::kKeep ? image.blobs[i].compressed_size : p.used_bytes;
    if (size < o.compact_blob_size) small.emplace_back(size, i);
  }
  if (small.size() < 2) return;
  std::stable_sort(small.begin(), small.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  uint32_t to = small[0].second;
  uint64_t to_bytes = (*plans)[to].used_bytes;
  for (size_t k = 1; k < small.size(); ++k) {
    const uint32_t from = small[k].second;
    if (to_bytes + (*plans)[from].used_bytes <= o.max_compact_size) {
      (*plans)[to].fate = Fate::kRebuild;
      (*plans)[to].merged.push_back(from);
      for (uint32_t m : (*plans)[from].merged) (*plans)[to].merged.push_back(m);
      (*plans)[from].merged.clear();
      (*plans)[from].fate = Fate::kDrop;
      to_bytes += (*plans)[from].used_bytes;
    } else {
      to = from;
      to_bytes = (*plans)[from].used_bytes;
    }
  }
}

// The reference's `bootstrap.with_extension("bootstrap.compact")`.
std::string DefaultOutput(const std::string& boot) {
  const size_t slash = boot.find_last_of('/');
  const size_t dot = boot.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return (has_ext ? boot.substr(0, dot) : boot) + ".bootstrap.compact";
}

}  // namespace

Status ParseCompactConfig(const std::string& text, CompactOptions* o) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("compact: config is not a JSON object");
  }
  auto num = [&j](const char* key, auto* out) -> Status {
    if (!j.contains(key)) return Status::OK();
    if (!j[key].is_number_unsigned()) {
      return Status::InvalidArgument(std::string("compact: ") + key + " must be a number >= 0");
    }
    *out = j[key].get<std::remove_pointer_t<decltype(out)>>();
    return Status::OK();
  };
  RETURN_IF_ERROR(num("min_used_ratio", &o->min_used_ratio));
  RETURN_IF_ERROR(num("compact_blob_size", &o->compact_blob_size));
  RETURN_IF_ERROR(num("max_compact_size", &o->max_compact_size));
  RETURN_IF_ERROR(num("layers_to_compact", &o->layers_to_compact));
  if (j.contains("blobs_dir") && j["blobs_dir"].is_string()) {
    o->blobs_dir = j["blobs_dir"].get<std::string>();
  }
  if (o->min_used_ratio > 99) return Status::InvalidArgument("compact: min_used_ratio > 99");
  return Status::OK();
}

Result<CompactResult> Compact(const CompactOptions& o) {
  if (o.blobs_dir.empty()) return Status::InvalidArgument("compact: missing blob dir");
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrapFile(o.bootstrap_path));
  CompactResult res;
  for (const auto& b : image.blobs) res.blob_bytes_before += b.compressed_size;
  if (image.blobs.size() < o.layers_to_compact || image.blobs.empty()) return res;

  // Referenced chunks per blob, each counted once; the distinct inodes to rewrite.
  std::vector<BlobPlan> plans(image.blobs.size());
  std::set<meta::Inode*> inodes;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string&) {
    if (!inodes.insert(n.inode.get()).second) return true;
    for (const meta::ChunkInfo& c : n.inode->chunks) {
      if (c.blob_index >= plans.size()) continue;  // the reader validated indexes
      if (plans[c.blob_index].used.emplace(c.index, c).second) {
        plans[c.blob_index].used_bytes += c.compressed_size;
      }
    }
    return true;
  });
  Plan(image, o, &plans);
  if (std::none_of(plans.begin(), plans.end(),
                   [](const BlobPlan& p) { return p.fate != Fate::kKeep; })) {
    LOG_INFO("compact: no chance to compact data blobs");
    return res;
  }

  storage::LocalfsConfig lc;
  lc.dir = o.blobs_dir;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobBackend> backend, storage::NewLocalfsBackend(lc));
  storage::ChunkReaderOptions ro;
  ro.validate_digest = true;
  ro.cache_bytes = 8ull << 20;
  storage::ChunkReader reader(image, backend.get(), ro);

  std::map<ChunkKey, meta::ChunkInfo> moved;  // old (blob, index) → new chunk
  std::vector<meta::BlobInfo> blobs;
  for (uint32_t i = 0; i < plans.size(); ++i) {
    const BlobPlan& p = plans[i];
    const uint32_t new_index = static_cast<uint32_t>(blobs.size());
    if (p.fate == Fate::kDrop) {
      if (p.used.empty()) res.dropped_blobs.push_back(image.blobs[i].blob_id);
      continue;
    }
    if (p.fate == Fate::kKeep) {
      for (const auto& [idx, c] : p.used) {
        meta::ChunkInfo n = c;
        n.blob_index = new_index;
        moved[{i, idx}] = n;
      }
      blobs.push_back(image.blobs[i]);
      continue;
    }
    BlobWriterOptions wo;
    wo.fs_version = image.IsV6() ? 6 : 5;
    wo.compressor = image.blobs[i].compressor;
    wo.digester = image.digester;
    wo.chunk_size = image.chunk_size;
    wo.aligned_chunk = true;
    wo.blob_index = new_index;
    // Until the rename below, any return leaves no temporary blob behind.
    TempFileGuard tmp_guard(TempPathFor(o.blobs_dir + "/.compact-" + std::to_string(i)));
    const std::string& tmp = tmp_guard.path();
    ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, BlobWriter::Create(tmp, wo));
    std::vector<uint32_t> sources = {i};
    sources.insert(sources.end(), p.merged.begin(), p.merged.end());
    std::sort(sources.begin(), sources.end());
    for (uint32_t s : sources) {
      if (s != i) res.dropped_blobs.push_back(image.blobs[s].blob_id);
      for (const auto& [idx, c] : plans[s].used) {
        auto data = reader.ReadChunk(c);
        if (!data.ok()) {
          writer->Abandon();
          return data.status().WithContext("compact");
        }
        auto added = writer->AddChunk(ByteSpan((*data)->data(), (*data)->size()));
        if (!added.ok()) {
          writer->Abandon();
          return added.status();
        }
        if (added->digest != c.digest) {
          writer->Abandon();
          return Status::Internal("compact: chunk digest changed");
        }
        moved[{s, idx}] = *added;
      }
    }
    ASSIGN_OR_RETURN(meta::BlobInfo info, writer->Finish());
    const std::string path = o.blobs_dir + "/" + info.blob_id;
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
    tmp_guard.Keep();
    res.dropped_blobs.push_back(image.blobs[i].blob_id);
    res.new_blobs.push_back(info.blob_id);
    blobs.push_back(info);
  }

  for (meta::Inode* in : inodes) {
    for (meta::ChunkInfo& c : in->chunks) {
      auto it = moved.find({c.blob_index, c.index});
      if (it == moved.end()) return Status::Internal("compact: chunk lost in the plan");
      const uint64_t file_offset = c.file_offset;
      c = it->second;
      c.file_offset = file_offset;
    }
  }
  image.blobs = std::move(blobs);
  image.flags = ComputeSuperFlags(image);
  ASSIGN_OR_RETURN(Bytes boot, WriteBootstrap(image));
  RETURN_IF_ERROR(meta::ReadBootstrap(boot).status().WithContext("compacted bootstrap invalid"));
  res.bootstrap_path =
      o.output_bootstrap.empty() ? DefaultOutput(o.bootstrap_path) : o.output_bootstrap;
  RETURN_IF_ERROR(WriteFileAtomically(res.bootstrap_path, boot));
  res.compacted = true;
  for (const auto& b : image.blobs) {
    res.blob_ids.push_back(b.blob_id);
    res.blob_bytes_after += b.compressed_size;
  }
  return res;
}

}  // namespace nydus::builder
