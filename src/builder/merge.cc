#include "builder/merge.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <utility>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
#include "builder/bootstrap_writer.h"
#include "builder/builder.h"
#include "builder/layering.h"
#include "builder/prefetch.h"
#include "meta/bootstrap_reader.h"

namespace nydus::builder {
namespace {

template <typename T>
Status CheckCount(const std::optional<std::vector<T>>& list, size_t sources, const char* what) {
  if (list && list->size() != sources) {
    return Status::InvalidArgument(std::string("number of ") + what + " entries " +
                                   std::to_string(list->size()) +
                                   " doesn't match number of sources " + std::to_string(sources));
  }
  return Status::OK();
}

Result<Digest> ParseDigest(const std::string& hex, const char* what) {
  Bytes raw;
  Digest d{};
  if (!FromHex(hex, &raw) || raw.size() != d.size()) {
    return Status::InvalidArgument(std::string("invalid ") + what + " '" + hex +
                                   "': expected 64 hex characters");
  }
  std::copy(raw.begin(), raw.end(), d.begin());
  return d;
}

// Same RAFS configuration as the reference's RafsSuperConfig::check_compatibility.
Status CheckCompatible(const meta::Image& first, const meta::Image& img, const std::string& path) {
  if (first.chunk_size != img.chunk_size) {
    return Status::InvalidArgument(path + ": inconsistent chunk size " +
                                   std::to_string(img.chunk_size) + " vs " +
                                   std::to_string(first.chunk_size));
  }
  if (first.explicit_uidgid != img.explicit_uidgid) {
    return Status::InvalidArgument(path + ": inconsistent explicit uid/gid setting");
  }
  if (first.version != img.version) {
    return Status::InvalidArgument(path + ": inconsistent RAFS version");
  }
  if (!img.IsV6() && first.digester != img.digester) {
    return Status::InvalidArgument(path + ": RAFS v5 sources need the same digester");
  }
  return Status::OK();
}

bool IsPlaceholderDir(const meta::Inode& i) {
  return i.mode == (S_IFDIR | 0755) && i.uid == 0 && i.gid == 0 && i.mtime == 0 &&
         i.mtime_nsec == 0 && i.xattrs.empty();
}

void InheritBelow(const meta::Node& lower, meta::Node* upper) {
  if (upper->FindChild(".wh..wh..opq") != nullptr) return;  // lower children are hidden
  for (auto& child : upper->children) {
    if (!child->inode->IsDir() || upper->FindChild(".wh." + child->name) != nullptr) continue;
    const meta::Node* l = lower.FindChild(child->name);
    if (l == nullptr || !l->inode->IsDir()) continue;
    if (IsPlaceholderDir(*child->inode)) {
      auto inode = std::make_shared<meta::Inode>(*child->inode);
      inode->mode = l->inode->mode;
      inode->uid = l->inode->uid;
      inode->gid = l->inode->gid;
      inode->mtime = l->inode->mtime;
      inode->mtime_nsec = l->inode->mtime_nsec;
      inode->xattrs = l->inode->xattrs;
      child->inode = std::move(inode);
    }
    InheritBelow(*l, child.get());
  }
}

// Output blob table keyed by the blob ids the sources record.
struct BlobTable {
  std::vector<meta::BlobInfo> blobs;
  std::map<std::string, uint32_t> index;  // source blob id → output index

  Status Add(const std::string& source_id, meta::BlobInfo info) {
    if (index.count(source_id)) return Status::OK();
    if (blobs.size() >= 256) return Status::OutOfRange("merge: more than 256 blobs");
    info.features &= ~format::kBlobInlinedFsMeta;
    index.emplace(source_id, static_cast<uint32_t>(blobs.size()));
    blobs.push_back(std::move(info));
    return Status::OK();
  }
};

// Points every chunk of `img` at the output table.
Status RemapChunks(meta::Image* img, const BlobTable& table, const std::string& path) {
  Status st;
  std::set<const meta::Inode*> done;
  meta::WalkTree(*img->root, [&](const meta::Node& n, const std::string& p) {
    if (!n.inode->IsReg() || !done.insert(n.inode.get()).second) return true;
    for (meta::ChunkInfo& c : n.inode->chunks) {
      if (c.blob_index >= img->blobs.size()) {
        st = Status::Corruption(path + ": " + p + ": chunk blob index out of range");
        return false;
      }
      auto it = table.index.find(img->blobs[c.blob_index].blob_id);
      if (it == table.index.end()) {
        st = Status::Internal(path + ": blob missing from the merged table");
        return false;
      }
      c.blob_index = it->second;
    }
    return true;
  });
  return st;
}

}  // namespace

Result<std::string> BlobIdFromMetaPath(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string id = slash == std::string::npos ? path : path.substr(slash + 1);
  for (;;) {
    size_t dot = id.rfind('.');
    if (dot == std::string::npos || dot == 0) break;
    id.resize(dot);
  }
  if (id.empty() || id == "." || id == "..") {
    return Status::InvalidArgument("failed to get blob id from meta file path " + path);
  }
  return id;
}

void InheritPlaceholderDirs(const meta::Node& lower, meta::Node* upper) {
  if (upper == nullptr || !lower.inode->IsDir() || !upper->inode->IsDir()) return;
  InheritBelow(lower, upper);
}

Result<MergeResult> Merge(const MergeOptions& o) {
  const size_t n = o.sources.size();
  if (n == 0) {
    return Status::InvalidArgument(
        "source bootstrap list is empty, at least one bootstrap is required");
  }
  RETURN_IF_ERROR(CheckCount(o.blob_digests, n, "blob digest"));
  RETURN_IF_ERROR(CheckCount(o.original_blob_ids, n, "original blob id"));
  RETURN_IF_ERROR(CheckCount(o.blob_sizes, n, "blob size"));
  RETURN_IF_ERROR(CheckCount(o.blob_toc_digests, n, "toc digest"));
  RETURN_IF_ERROR(CheckCount(o.blob_toc_sizes, n, "toc size"));
  if (o.bootstrap_path.empty() && o.blob_dir.empty()) {
    return Status::InvalidArgument("merge: give the output with --bootstrap or --blob-dir");
  }

  meta::Image out;
  BlobTable table;
  std::optional<meta::Image> config;  // the RAFS configuration sources must share
  if (!o.parent_bootstrap.empty()) {
    ASSIGN_OR_RETURN(meta::Image parent, meta::ReadBootstrapFile(o.parent_bootstrap));
    for (const auto& b : parent.blobs) RETURN_IF_ERROR(table.Add(b.blob_id, b));
    RETURN_IF_ERROR(RemapChunks(&parent, table, o.parent_bootstrap));
    out.root = std::move(parent.root);
  }
  std::set<std::string> dict_blobs;
  if (!o.chunk_dict.empty()) {
    ASSIGN_OR_RETURN(meta::Image dict, meta::ReadBootstrapFile(o.chunk_dict));
    for (const auto& b : dict.blobs) dict_blobs.insert(b.blob_id);
    dict.root.reset();
    config = std::move(dict);
  }

  std::optional<uint32_t> chunk_size;
  for (size_t i = 0; i < n; ++i) {
    const std::string& path = o.sources[i];
    ASSIGN_OR_RETURN(meta::Image img, meta::ReadBootstrapFile(path));
    if (config) {
      RETURN_IF_ERROR(CheckCompatible(*config, img, path));
    } else {
      config = meta::Image();
      config->chunk_size = img.chunk_size;
      config->explicit_uidgid = img.explicit_uidgid;
      config->version = img.version;
      config->digester = img.digester;
    }
    out.version = img.version;
    out.compressor = img.compressor;
    out.digester = img.digester;
    out.explicit_uidgid = img.explicit_uidgid;
    out.chunk_size = img.chunk_size;

    bool own_blob = false;
    for (const meta::BlobInfo& b : img.blobs) {
      if (chunk_size && *chunk_size != b.chunk_size) {
        return Status::InvalidArgument("can not merge bootstraps with inconsistent chunk size: " +
                                       path);
      }
      chunk_size = b.chunk_size;
      meta::BlobInfo info = b;
      if (!dict_blobs.count(b.blob_id)) {
        if (own_blob) {
          return Status::InvalidArgument(
              path + ": invalid per layer bootstrap, having multiple associated data blobs");
        }
        own_blob = true;
        if (o.blob_accessible) {
          // keep the id recorded in the source
        } else if (o.original_blob_ids) {
          info.blob_id = (*o.original_blob_ids)[i];
        } else {
          ASSIGN_OR_RETURN(info.blob_id, BlobIdFromMetaPath(path));
        }
        const bool separate = (b.features & format::kBlobSeparate) != 0;
        if (img.IsV6() && info.blob_id.size() != 64 && !(o.blob_digests && !separate)) {
          return Status::InvalidArgument(
              path + ": blob id '" + info.blob_id +
              "' (from --original-blob-ids or the file name) is not 64 characters as RAFS v6 "
              "needs; pass --original-blob-ids or --blob-digests");
        }
        if (o.blob_digests) {
          ASSIGN_OR_RETURN(Digest d, ParseDigest((*o.blob_digests)[i], "--blob-digests entry"));
          if (separate) {
            info.blob_meta_digest = d;
          } else {
            info.blob_id = DigestHex(d);
          }
        }
        if (o.blob_sizes) {
          if (separate) {
            info.blob_meta_size = (*o.blob_sizes)[i];
          } else {
            info.compressed_size = (*o.blob_sizes)[i];
          }
        }
        if (o.blob_toc_digests) {
          ASSIGN_OR_RETURN(info.blob_toc_digest,
                           ParseDigest((*o.blob_toc_digests)[i], "--blob-toc-digests entry"));
        }
        if (o.blob_toc_sizes) info.blob_toc_size = static_cast<uint32_t>((*o.blob_toc_sizes)[i]);
      }
      RETURN_IF_ERROR(table.Add(b.blob_id, std::move(info)));
    }
    RETURN_IF_ERROR(RemapChunks(&img, table, path));
    if (out.root == nullptr) {
      out.root = std::move(img.root);  // the lowest layer as it is, markers included
      continue;
    }
    if (o.inherit_placeholder_dirs) InheritPlaceholderDirs(*out.root, img.root.get());
    RETURN_IF_ERROR(ApplyUpperLayer(out.root.get(), std::move(img.root), WhiteoutSpec::kOci)
                        .WithContext("merge " + path));
  }

  out.blobs = std::move(table.blobs);
  NormalizeTree(out.root.get(), out.explicit_uidgid);
  if (o.prefetch_policy == PrefetchPolicy::kFs) {
    ASSIGN_OR_RETURN(out.prefetch, NormalizePrefetchPatterns(o.prefetch_patterns));
  }
  out.flags = ComputeSuperFlags(out);
  ASSIGN_OR_RETURN(Bytes boot, WriteBootstrap(out));
  if (o.verify_after_build) {
    auto check = meta::ReadBootstrap(boot);
    if (!check.ok()) {
      return check.status().WithContext("merged bootstrap failed validation (a merge bug)");
    }
  }
  MergeResult res;
  res.bootstrap_path =
      !o.bootstrap_path.empty() ? o.bootstrap_path : o.blob_dir + "/" + DigestHex(Sha256(boot));
  RETURN_IF_ERROR(WriteFileAtomically(res.bootstrap_path, boot));
  for (const auto& b : out.blobs) {
    if (b.uncompressed_size > 0) res.blob_ids.push_back(b.blob_id);
  }
  res.image = std::move(out);
  return res;
}

}  // namespace nydus::builder
