// Chunk compression: none, lz4 block, gzip, zstd, dispatched by the on-disk id
// (format::Compressor). LZ4 is the raw *block* format (no frame, no size prefix): the
// decompressor must be told the exact output size. zstd uses level 3 (the reference's
// default), gzip zlib's default level. Only this component includes zstd/lz4/zlib headers.
// Thread-safety: all functions are reentrant; no shared state.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "format/rafs.h"

namespace nydus::compress {

// Compresses `in`. For kNone returns a copy. The caller decides whether to keep the result
// (RAFS stores a chunk raw when the output is not smaller than the input).
Result<Bytes> Compress(format::Compressor algo, ByteSpan in);

// Decompresses `in` into exactly `out.size()` bytes; a different produced size, or any
// decoder error, is Corruption. For kNone, `in` must be exactly out.size() bytes.
Status Decompress(format::Compressor algo, ByteSpan in, std::span<uint8_t> out);

// Upper bound of Compress() output for `in_size` bytes.
uint64_t CompressBound(format::Compressor algo, uint64_t in_size);

// "none" | "lz4_block" | "gzip" | "zstd" (accepted case-insensitively; "lz4" too).
Result<format::Compressor> ParseCompressor(std::string_view name);

}  // namespace nydus::compress
