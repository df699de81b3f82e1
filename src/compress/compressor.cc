// Chunk codecs over liblz4 (block API), libzstd and zlib (gzip wrapper), dispatched through
// one table indexed by the on-disk compressor id.
#include "compress/compressor.h"

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>
#include <cstring>
#include <memory>
#include <string>

namespace nydus::compress {
namespace {

constexpr int kZstdLevel = 3;  // the reference's ZSTD_defaultCLevel()
// windowBits 15 (32 KiB, the maximum) plus 16 selects the gzip wrapper in zlib.
constexpr int kGzipWindowBits = 15 + 16;

// Decoders write through out.data(), which may be null for an empty span; libraries
// want a valid pointer even when the capacity is zero.
uint8_t* OutPtr(std::span<uint8_t> out) {
  static uint8_t dummy;
  return out.empty() ? &dummy : out.data();
}

std::string SizeMismatch(const char* algo, uint64_t got, uint64_t want) {
  return std::string(algo) + ": decompressed " + std::to_string(got) + " bytes, expected " +
         std::to_string(want);
}

// ---- none -------------------------------------------------------------------------

Result<Bytes> CopyCompress(ByteSpan in) { return Bytes(in.begin(), in.end()); }

Status CopyDecompress(ByteSpan in, std::span<uint8_t> out) {
  if (in.size() != out.size()) {
    return Status::Corruption("none: stored " + std::to_string(in.size()) + " bytes, expected " +
                              std::to_string(out.size()));
  }
  if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
  return Status::OK();
}

uint64_t CopyBound(uint64_t n) { return n; }

// ---- lz4 block --------------------------------------------------------------------

uint64_t Lz4Bound(uint64_t n) { return n + n / 255 + 16; }  // LZ4_COMPRESSBOUND

Result<Bytes> Lz4Compress(ByteSpan in) {
  if (in.size() > LZ4_MAX_INPUT_SIZE) {
    return Status::InvalidArgument("lz4: input of " + std::to_string(in.size()) +
                                   " bytes exceeds LZ4_MAX_INPUT_SIZE");
  }
  const int src_size = static_cast<int>(in.size());
  Bytes out(static_cast<size_t>(LZ4_compressBound(src_size)));
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                     reinterpret_cast<char*>(out.data()), src_size,
                                     static_cast<int>(out.size()));
  if (n <= 0) return Status::Internal("lz4: LZ4_compress_default failed");
  out.resize(static_cast<size_t>(n));
  return out;
}

Status Lz4Decompress(ByteSpan in, std::span<uint8_t> out) {
  if (in.size() > INT_MAX || out.size() > LZ4_MAX_INPUT_SIZE) {
    return Status::Corruption("lz4: chunk too large (" + std::to_string(in.size()) + " -> " +
                              std::to_string(out.size()) + " bytes)");
  }
  const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()),
                                    reinterpret_cast<char*>(OutPtr(out)),
                                    static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n < 0) {
    return Status::Corruption("lz4: malformed block of " + std::to_string(in.size()) +
                              " bytes (or it decodes to more than " + std::to_string(out.size()) +
                              ")");
  }
  if (static_cast<uint64_t>(n) != out.size()) {
    return Status::Corruption(SizeMismatch("lz4", static_cast<uint64_t>(n), out.size()));
  }
  return Status::OK();
}

// ---- zstd -------------------------------------------------------------------------

struct ZstdCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread, reused across calls: creating one per chunk costs more than
// compressing a small chunk. Output is identical to ZSTD_compress at the same level.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

uint64_t ZstdBound(uint64_t n) { return ZSTD_COMPRESSBOUND(n); }

Result<Bytes> ZstdCompress(ByteSpan in) {
  ZSTD_CCtx* ctx = ThreadCCtx();
  if (ctx == nullptr) return Status::Internal("zstd: cannot allocate a compression context");
  Bytes out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compressCCtx(ctx, out.data(), out.size(), in.data(), in.size(), kZstdLevel);
  if (ZSTD_isError(n)) {
    return Status::Internal(std::string("zstd: compression failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

Status ZstdDecompress(ByteSpan in, std::span<uint8_t> out) {
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return Status::Corruption("zstd: not a valid frame (" + std::to_string(in.size()) + " bytes)");
  }
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != out.size()) {
    return Status::Corruption("zstd: frame declares " + std::to_string(declared) +
                              " bytes, expected " + std::to_string(out.size()));
  }
  ZSTD_DCtx* ctx = ThreadDCtx();
  if (ctx == nullptr) return Status::Internal("zstd: cannot allocate a decompression context");
  const size_t n = ZSTD_decompressDCtx(ctx, OutPtr(out), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != out.size()) return Status::Corruption(SizeMismatch("zstd", n, out.size()));
  return Status::OK();
}

// ---- gzip -------------------------------------------------------------------------

// compressBound() is for the 6-byte zlib wrapper; gzip's header and trailer take 18.
uint64_t GzipBound(uint64_t n) { return compressBound(static_cast<uLong>(n)) + 12; }

Result<Bytes> GzipCompress(ByteSpan in) {
  if (in.size() > UINT_MAX) {
    return Status::InvalidArgument("gzip: input of " + std::to_string(in.size()) +
                                   " bytes is too large for one call");
  }
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("gzip: deflateInit2 failed");
  }
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const uLong produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Internal("gzip: deflate did not finish");
  out.resize(produced);
  return out;
}

// Runs inflate over the whole input. Returns the zlib code that stopped it.
int InflateAll(z_stream* zs) {
  for (;;) {
    const uLong in_before = zs->total_in;
    const uLong out_before = zs->total_out;
    const int rc = inflate(zs, Z_NO_FLUSH);
    if (rc != Z_OK) return rc;
    if (zs->total_in == in_before && zs->total_out == out_before) return Z_BUF_ERROR;
  }
}

Status GzipDecompress(ByteSpan in, std::span<uint8_t> out) {
  if (in.size() > UINT_MAX || out.size() > UINT_MAX) {
    return Status::Corruption("gzip: chunk too large");
  }
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return Status::Internal("gzip: inflateInit2 failed");
  }
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = OutPtr(out);
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = InflateAll(&zs);
  const uLong produced = zs.total_out;
  const uInt left_in = zs.avail_in;
  const uInt left_out = zs.avail_out;
  const std::string msg = zs.msg != nullptr ? zs.msg : "";
  inflateEnd(&zs);
  if (rc == Z_STREAM_END) {
    if (left_in != 0) {
      return Status::Corruption("gzip: " + std::to_string(left_in) +
                                " trailing bytes after the stream");
    }
    if (produced != out.size()) {
      return Status::Corruption(SizeMismatch("gzip", produced, out.size()));
    }
    return Status::OK();
  }
  if (rc == Z_BUF_ERROR && left_out == 0 && left_in != 0) {
    return Status::Corruption("gzip: decompresses to more than " + std::to_string(out.size()) +
                              " bytes");
  }
  if (rc == Z_BUF_ERROR) {
    return Status::Corruption("gzip: truncated stream (" + std::to_string(produced) + " of " +
                              std::to_string(out.size()) + " bytes decoded)");
  }
  return Status::Corruption("gzip: " + (msg.empty() ? "inflate error " + std::to_string(rc) : msg));
}

// ---- dispatch ---------------------------------------------------------------------

struct Codec {
  const char* name;
  Result<Bytes> (*compress)(ByteSpan in);
  Status (*decompress)(ByteSpan in, std::span<uint8_t> out);
  uint64_t (*bound)(uint64_t in_size);
};

// Indexed by the on-disk id (format::Compressor); do not reorder.
constexpr Codec kCodecs[] = {
    {"none", CopyCompress, CopyDecompress, CopyBound},
    {"lz4_block", Lz4Compress, Lz4Decompress, Lz4Bound},
    {"gzip", GzipCompress, GzipDecompress, GzipBound},
    {"zstd", ZstdCompress, ZstdDecompress, ZstdBound},
};

const Codec* FindCodec(format::Compressor algo) {
  const auto id = static_cast<uint32_t>(algo);
  return id < std::size(kCodecs) ? &kCodecs[id] : nullptr;
}

Status UnknownId(format::Compressor algo) {
  return Status::NotSupported("compressor id " + std::to_string(static_cast<uint32_t>(algo)) +
                              " is unknown");
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Result<Bytes> Compress(format::Compressor algo, ByteSpan in) {
  const Codec* codec = FindCodec(algo);
  if (codec == nullptr) return UnknownId(algo);
  return codec->compress(in);
}

Status Decompress(format::Compressor algo, ByteSpan in, std::span<uint8_t> out) {
  const Codec* codec = FindCodec(algo);
  if (codec == nullptr) return UnknownId(algo);
  return codec->decompress(in, out);
}

uint64_t CompressBound(format::Compressor algo, uint64_t in_size) {
  const Codec* codec = FindCodec(algo);
  return codec == nullptr ? 0 : codec->bound(in_size);
}

Result<format::Compressor> ParseCompressor(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = ToLower(c);
  if (lower == "lz4") return format::Compressor::kLz4Block;
  for (uint32_t id = 0; id < std::size(kCodecs); ++id) {
    if (lower == kCodecs[id].name) return static_cast<format::Compressor>(id);
  }
  return Status::InvalidArgument("unknown compressor '" + std::string(name) +
                                 "' (expected none|lz4_block|gzip|zstd)");
}

}  // namespace nydus::compress
