// libFuzzer target: the blob cache's on-disk state loaders (storage/chunk_map.h: the
// `<blob>.chunk_map` readiness bitmap; storage/blob_meta_file.h: the `<blob>.blob.meta` CI
// copy) on arbitrary file contents. Both files live in a private temporary directory.
//
// chunk map: the whole input is the existing map file; the chunk count is chosen so that
// the file size matches most of the time (byte 20's low bits trim it), and the data layout is
// the stored one unless bit 0 of byte 21 is set. Checked: Open never fails on any content
// (it resets instead), counts are consistent, SetReady/IsReady/ClearAll behave, and a reopen
// keeps the bits.
//
// blob.meta: the first 64 bytes are the blob-table parameters (layout of fuzz_blob_meta.cc),
// the rest is the file. With bit 0 of byte 60 set, ci_uncompressed_size is derived from the
// file size so that the size check passes. Checked: DecodeBlobMetaFile returns Corruption or
// chunk_count records; LoadOrFetchBlobMeta (local copy + the same bytes as the "blob") never
// crashes and writes only inside the directory.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/bytes.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "storage/blob_meta_file.h"
#include "storage/chunk_map.h"

namespace {

using namespace nydus;

std::string g_dir;

void RemoveAllIn(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      ::unlink((dir + "/" + e->d_name).c_str());
    }
  }
  ::closedir(d);
}

void RemoveWorkDir() {
  RemoveAllIn(g_dir);
  ::rmdir(g_dir.c_str());
}

void FuzzChunkMap(ByteSpan in) {
  const std::string path = g_dir + "/fuzz.chunk_map";
  if (!WriteWholeFile(path, in).ok()) std::abort();
  uint32_t count;
  if (in.size() > storage::ChunkMap::kHeaderSize) {
    uint64_t bits = (in.size() - storage::ChunkMap::kHeaderSize) * 8;
    count = static_cast<uint32_t>(bits - (in.size() > 20 ? in[20] & 7 : 0));
  } else {
    count = 1 + static_cast<uint32_t>(in.size() % 64);
  }
  uint32_t layout = in.size() >= 20 ? LoadLE32(in.data() + 16) : 0;
  if (in.size() > 21 && (in[21] & 1)) layout ^= 1;

  auto map = storage::ChunkMap::Open(path, count, layout);
  if (!map.ok()) std::abort();  // any content is reset, never rejected
  storage::ChunkMap& m = **map;
  if (m.chunk_count() != count || m.ready_count() > count) std::abort();
  if (m.fresh() && m.ready_count() != 0) std::abort();
  uint32_t seen = 0;
  const uint32_t scan = count < 8192 ? count : 8192;
  for (uint32_t i = 0; i < scan; ++i) seen += m.IsReady(i);
  if (seen > m.ready_count()) std::abort();
  if (m.IsReady(count) || m.IsReady(UINT32_MAX)) std::abort();
  const uint32_t probe[] = {0, count / 2, count - 1};
  for (uint32_t i : probe) {
    m.SetReady(i);
    if (!m.IsReady(i)) std::abort();
  }
  const uint32_t ready = m.ready_count();
  map->reset();
  auto again = storage::ChunkMap::Open(path, count, layout);
  if (!again.ok() || (*again)->fresh() || (*again)->ready_count() != ready) std::abort();
  for (uint32_t i : probe) {
    if (!(*again)->IsReady(i)) std::abort();
  }
  (*again)->ClearAll();
  if ((*again)->ready_count() != 0 || (*again)->IsReady(0)) std::abort();
}

meta::BlobInfo ParamsToBlob(const uint8_t* p, uint64_t file_len) {
  meta::BlobInfo b;
  b.blob_id = "fuzz";
  b.chunk_count = LoadLE32(p) % (1u << 16);
  b.features = LoadLE32(p + 4);
  b.compressed_size = LoadLE64(p + 8) ? LoadLE64(p + 8) : file_len;
  b.uncompressed_size = LoadLE64(p + 16);
  b.ci_compressor = static_cast<format::Compressor>(LoadLE32(p + 24) % 4);
  b.blob_toc_size = LoadLE32(p + 28);
  b.ci_offset = LoadLE64(p + 32);
  b.ci_compressed_size = LoadLE64(p + 40) % (1u << 20);
  b.ci_uncompressed_size = LoadLE64(p + 48) % (1u << 22);
  if ((p[60] & 1) && file_len >= sizeof(format::BlobMetaHeader)) {
    const uint64_t body = file_len - sizeof(format::BlobMetaHeader);
    const uint64_t trim = LoadLE64(p + 48) % 4096;
    b.ci_uncompressed_size = body >= trim ? body - trim : 0;
  }
  std::memcpy(b.blob_toc_digest.data(), p + 56, 4);
  return b;
}

void FuzzBlobMeta(ByteSpan in) {
  if (in.size() < 64) return;
  ByteSpan file = in.subspan(64);
  meta::BlobInfo blob = ParamsToBlob(in.data(), file.size());
  auto ci = storage::DecodeBlobMetaFile(blob, file);
  if (!ci.ok()) {
    if (ci.status().code() != StatusCode::kCorruption) std::abort();
  } else if (ci->size() != blob.chunk_count) {
    std::abort();
  }
  const std::string path = storage::BlobMetaPath(g_dir, blob.blob_id);
  if (!WriteWholeFile(path, file).ok()) std::abort();
  auto read = [file](uint64_t off, std::span<uint8_t> buf) -> Status {
    if (!RangeInside(off, buf.size(), file.size())) return Status::IOError("short read");
    if (!buf.empty()) std::memcpy(buf.data(), file.data() + off, buf.size());
    return Status::OK();
  };
  auto load = storage::LoadOrFetchBlobMeta(path, blob, read);
  if (load.ok() && load->size() != blob.chunk_count) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Rejected inputs are logged as warnings, which would dominate the run time.
  spdlog::set_level(spdlog::level::err);
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nydus-fuzz-cmap.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_dir = tmpl;
  std::atexit(RemoveWorkDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  FuzzChunkMap(in);
  FuzzBlobMeta(in);
  RemoveAllIn(g_dir);
  return 0;
}
