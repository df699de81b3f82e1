// `nydus-image check`, `inspect` and `stat`: read-only commands over bootstraps.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <map>

#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "format/v5.h"
#include "format/v6.h"
#include "meta/blob_meta_reader.h"
#include "meta/bootstrap_reader.h"
#include "meta/image_stat.h"
#include "meta/inspect.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {
namespace {

Result<std::string> PickBootstrap(const std::string& positional, const std::string& flag) {
  if (!positional.empty() && !flag.empty() && positional != flag) {
    return Status::InvalidArgument("give the bootstrap either as BOOTSTRAP or with -B, not both");
  }
  std::string p = positional.empty() ? flag : positional;
  if (p.empty()) return Status::InvalidArgument("missing bootstrap: pass BOOTSTRAP or -B FILE");
  return p;
}

// Cross-checks every chunk of blob `idx` against the blob's own CI array (read from the
// blob file in `blob_dir`), and the file size against the blob table.
Status CheckBlobFile(const meta::Image& image, uint32_t idx, const std::string& blob_dir) {
  const meta::BlobInfo& blob = image.blobs[idx];
  std::string path = blob_dir + "/" + blob.blob_id;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "blob " + blob.blob_id);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (static_cast<uint64_t>(st.st_size) != blob.compressed_size &&
      !(blob.features & format::kBlobInlinedFsMeta)) {
    return Status::Corruption("blob " + blob.blob_id + ": file size " + std::to_string(st.st_size) +
                              " differs from blob table size " +
                              std::to_string(blob.compressed_size));
  }
  if (!image.IsV6()) return Status::OK();
  meta::BlobReadFn read = [&](uint64_t off, std::span<uint8_t> buf) {
    return PreadFull(fd.get(), buf.data(), buf.size(), off, path);
  };
  ASSIGN_OR_RETURN(auto cis, meta::ReadBlobChunkInfos(blob, read));
  Status st_out;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string& p) {
    for (const auto& c : n.inode->chunks) {
      if (c.blob_index != idx) continue;
      if (c.index >= cis.size()) {
        st_out = Status::Corruption(p + ": chunk index " + std::to_string(c.index) +
                                    " beyond blob " + blob.blob_id + " CI array");
        return false;
      }
      const auto& ci = cis[c.index];
      if (ci.compressed_offset != c.compressed_offset || ci.compressed_size != c.compressed_size ||
          ci.uncompressed_offset != c.uncompressed_offset ||
          ci.uncompressed_size != c.uncompressed_size) {
        st_out = Status::Corruption(p + ": chunk " + std::to_string(c.index) +
                                    " differs between bootstrap and blob " + blob.blob_id);
        return false;
      }
    }
    return true;
  });
  return st_out;
}

// True when `path` starts like a RAFS bootstrap (v5 magic at 0 or EROFS magic at 1024);
// reads 1028 bytes, so large data blobs in the same directory cost nothing.
bool HasRafsMagic(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  uint8_t head[1028];
  if (!fd.valid() || !PreadFull(fd.get(), head, sizeof(head), 0, path).ok()) return false;
  return LoadLE32(head) == format::kRafsV5Magic || LoadLE32(head + 1024) == format::kErofsMagic;
}

}  // namespace

Status RunCheck(const CheckArgs& a) {
  ASSIGN_OR_RETURN(std::string path, PickBootstrap(a.bootstrap_pos, a.bootstrap));
  auto image = meta::ReadBootstrapFile(path);
  if (!image.ok()) return image.status().WithContext("failed to check bootstrap " + path);
  if (!a.blob_dir.empty()) {
    for (uint32_t i = 0; i < image->blobs.size(); ++i) {
      RETURN_IF_ERROR(CheckBlobFile(*image, i, a.blob_dir));
    }
  }
  if (a.verbose) std::cout << meta::TreeListing(*image).dump(2) << "\n";
  std::cout << "RAFS filesystem metadata is valid, referenced data blobs: \n"
            << meta::FormatBlobTable(*image);
  if (!a.output_json.empty()) {
    Json j;
    j["version"] = kNydusImageVersion;
    j["bootstrap"] = path;
    std::vector<std::string> ids;
    for (const auto& b : image->blobs) ids.push_back(b.blob_id);
    j["blobs"] = ids;
    j["trace"] = Json::object();
    j["fs_version"] = image->IsV6() ? "6" : "5";
    j["compressor"] = format::CompressorName(image->compressor);
    std::string text = j.dump();
    RETURN_IF_ERROR(WriteWholeFile(a.output_json, AsBytes(text)));
  }
  return Status::OK();
}

namespace {

std::string JoinPath(const std::string& cwd, const std::string& arg) {
  if (!arg.empty() && arg[0] == '/') return arg;
  return cwd == "/" ? "/" + arg : cwd + "/" + arg;
}

// One inspect command; returns false on exit.
bool RunInspectLine(const meta::Image& image, const std::string& line, std::string* cwd) {
  std::string cmd = line.substr(0, line.find(' '));
  std::string arg = line.size() > cmd.size() ? line.substr(cmd.size() + 1) : "";
  Result<Json> out = Json();
  if (cmd == "exit" || cmd == "q") return false;
  if (cmd == "stats")
    out = meta::InspectStats(image);
  else if (cmd == "blobs")
    out = meta::InspectBlobs(image);
  else if (cmd == "prefetch")
    out = meta::InspectPrefetch(image);
  else if (cmd == "tree")
    out = meta::TreeListing(image);
  else if (cmd == "ls")
    out = meta::InspectLs(image, *cwd);
  else if (cmd == "stat")
    out = meta::InspectStat(image, JoinPath(*cwd, arg));
  else if (cmd == "cd") {
    std::string target = arg.empty() ? "/" : JoinPath(*cwd, arg);
    auto ls = meta::InspectLs(image, target);
    if (ls.ok())
      *cwd = target;
    else
      std::cout << ls.status().message() << "\n";
    return true;
  } else if (cmd == "help" || cmd.empty()) {
    std::cout
        << "commands: stats, ls, cd <dir>, stat <file>, blobs, prefetch, tree, help, exit|q\n";
    return true;
  } else {
    std::cout << "unknown command '" << cmd << "', try help\n";
    return true;
  }
  if (out.ok())
    std::cout << out->dump(2) << "\n";
  else
    std::cout << out.status().message() << "\n";
  return true;
}

}  // namespace

Status RunInspect(const InspectArgs& a) {
  ASSIGN_OR_RETURN(std::string path, PickBootstrap(a.bootstrap_pos, a.bootstrap));
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrapFile(path));
  std::string cwd = "/";
  if (!a.request.empty()) {
    Result<Json> out = Json();
    if (a.request == "stats")
      out = meta::InspectStats(image);
    else if (a.request == "blobs")
      out = meta::InspectBlobs(image);
    else if (a.request == "prefetch")
      out = meta::InspectPrefetch(image);
    else if (a.request == "tree")
      out = meta::TreeListing(image);
    else if (a.request == "ls")
      out = meta::InspectLs(image, "/");
    else if (a.request == "stat")
      out = meta::InspectStat(image, "/");
    if (!out.ok()) return out.status();
    std::cout << out->dump() << "\n";
    return Status::OK();
  }
  std::string line;
  while (true) {
    std::cout << "Inspecting Rafs :> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (!RunInspectLine(image, line, &cwd)) break;
  }
  return Status::OK();
}

namespace {

// Loads a bootstrap for stat, refusing one whose chunk digester is not `digester` (chunks are
// compared by digest).
Result<meta::Image> LoadForStat(const std::string& path, const std::string& digester) {
  auto img = meta::ReadBootstrapFile(path);
  if (!img.ok()) return img.status().WithContext(path);
  if (format::DigesterName(img->digester) != digester) {
    return Status::InvalidArgument(
        path + ": chunk digester is " + format::DigesterName(img->digester) + ", not " + digester +
        " (pass --digester " + format::DigesterName(img->digester) + ")");
  }
  return img;
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

Status RunStat(const StatArgs& a) {
  if (a.bootstrap.empty() && a.blob_dir.empty()) {
    return Status::InvalidArgument("one of --bootstrap (-B) and --blob-dir (-D) must be given");
  }
  // -D: the bootstraps of the directory (files without an extension that carry a RAFS magic;
  // blobs share the directory), except the target; one that cannot be loaded is skipped.
  meta::ImageStat stat(/*dedup_enabled=*/a.bootstrap.empty());
  if (!a.bootstrap.empty()) {
    ASSIGN_OR_RETURN(meta::Image image, LoadForStat(a.bootstrap, a.digester));
    stat.AddBase(image);
  } else {
    DIR* d = ::opendir(a.blob_dir.c_str());
    if (!d) return Status::FromErrno(errno, "open " + a.blob_dir);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || n.find('.') != std::string::npos) continue;
      names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    size_t used = 0;
    for (const auto& n : names) {
      const std::string p = a.blob_dir + "/" + n;
      if (!HasRafsMagic(p) || (!a.target.empty() && SameFile(p, a.target))) continue;
      auto image = LoadForStat(p, a.digester);
      if (!image.ok()) {
        LOG_WARN("stat: skipping {}: {}", p, image.status().ToString());
        continue;
      }
      stat.AddBase(*image);
      ++used;
    }
    if (used == 0) return Status::NotFound("no RAFS bootstrap found in " + a.blob_dir);
  }
  if (!a.target.empty()) {
    ASSIGN_OR_RETURN(meta::Image target, LoadForStat(a.target, a.digester));
    stat.SetTarget(target);
  }
  stat.Finalize();
  if (!a.output_json.empty()) {
    return WriteWholeFile(a.output_json, AsBytes(stat.ToJson().dump()));
  }
  std::cout << stat.Report() << std::flush;
  return Status::OK();
}

}  // namespace nydus::tools
