// CI v1/v2 bit packing and the reverse-tar GNU header (reference spec §3.4, §3.6).

#include "format/blob_meta.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace nydus::format {

namespace {

// CI v1 masks and shifts.
constexpr uint64_t kV1CompOffsetMask = 0xff'ffff'ffffull;     // bits 0..39
constexpr uint64_t kV1UncompOffsetMask = 0xfff'ffff'f000ull;  // bits 12..43
constexpr uint64_t kV1SizeLowMask = 0x0f'ffffull;             // low 20 bits of size-1
constexpr int kV1SizeLowShift = 44;
constexpr int kV1CompSizeHighShift = 40;   // high 4 bits of size-1 at bits 40..43
constexpr int kV1UncompSizeHighShift = 8;  // high 4 bits of size-1 at bits 8..11

// CI v2 masks and shifts.
constexpr uint64_t kV2CompOffsetMask = 0xff'ffff'ffffull;  // bits 0..39
constexpr int kV2CompSizeShift = 40;                       // bits 40..63, stored as is
constexpr uint64_t kV2UncompOffsetMask = 0xffff'ffffull;   // bits 0..31, offset >> 12
constexpr int kV2UncompSizeShift = 32;                     // bits 32..55, size - 1
constexpr uint64_t kV2SizeMask = 0xff'ffffull;
constexpr int kV2FlagsShift = 56;
constexpr uint8_t kV2KnownFlags = kCiCompressed | kCiZran;

// Tar header field offsets (POSIX/GNU layout).
constexpr size_t kTarNameOff = 0;
constexpr size_t kTarNameLen = 100;
constexpr size_t kTarSizeOff = 124;
constexpr size_t kTarSizeLen = 12;
constexpr size_t kTarMtimeOff = 136;
constexpr size_t kTarMtimeLen = 12;
constexpr size_t kTarChksumOff = 148;
constexpr size_t kTarChksumLen = 8;
constexpr size_t kTarTypeOff = 156;
constexpr size_t kTarMagicOff = 257;
constexpr char kGnuMagic[8] = {'u', 's', 't', 'a', 'r', ' ', ' ', '\0'};

// Writes `value` as zero-padded octal into field[0..len-1) followed by a NUL, the way the
// reference (Rust `tar` crate) fills numeric fields. REQUIRES: value fits in len-1 digits.
void PutOctal(uint8_t* field, size_t len, uint64_t value) {
  for (size_t i = len - 1; i-- > 0;) {
    field[i] = static_cast<uint8_t>('0' + (value & 7));
    value >>= 3;
  }
  field[len - 1] = 0;
}

// GNU base-256 encoding for values that do not fit the octal field: first byte 0x80, then
// the value big-endian in the remaining bytes.
void PutBase256(uint8_t* field, size_t len, uint64_t value) {
  std::memset(field, 0, len);
  field[0] = 0x80;
  for (size_t i = len; i-- > 1 && value != 0;) {
    field[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

uint32_t HeaderChecksum(const uint8_t* h) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kTarHeaderSize; ++i) {
    bool in_chksum = i >= kTarChksumOff && i < kTarChksumOff + kTarChksumLen;
    sum += in_chksum ? ' ' : h[i];
  }
  return sum;
}

// Parses an octal numeric field: optional leading spaces, octal digits, then only NULs or
// spaces. An empty field is an error.
Result<uint64_t> ParseOctal(const uint8_t* field, size_t len, const char* what) {
  size_t i = 0;
  while (i < len && field[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
    if (v >> 61) return Status::Corruption(std::string("tar header: ") + what + " overflows");
    v = v << 3 | (field[i] - '0');
  }
  for (; i < len; ++i) {
    if (field[i] != 0 && field[i] != ' ') {
      return Status::Corruption(std::string("tar header: bad character in ") + what + " field");
    }
  }
  if (digits == 0) return Status::Corruption(std::string("tar header: empty ") + what + " field");
  return v;
}

Result<uint64_t> ParseNumeric(const uint8_t* field, size_t len, const char* what) {
  if (field[0] == 0x80) {  // GNU base-256, positive
    uint64_t v = 0;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) return Status::Corruption(std::string("tar header: ") + what + " overflows");
      v = v << 8 | field[i];
    }
    return v;
  }
  if (field[0] & 0x80) {
    return Status::Corruption(std::string("tar header: negative or bad base-256 ") + what);
  }
  return ParseOctal(field, len, what);
}

}  // namespace

void EncodeCiV1(const ChunkCompressInfo& ci, uint8_t out[16]) {
  uint64_t usz = static_cast<uint64_t>(ci.uncompressed_size) - 1;
  uint64_t csz = static_cast<uint64_t>(ci.compressed_size) - 1;
  uint64_t uncomp = ((usz & kV1SizeLowMask) << kV1SizeLowShift) |
                    (ci.uncompressed_offset & kV1UncompOffsetMask) |
                    (((usz >> 20) & 0xf) << kV1UncompSizeHighShift);
  uint64_t comp = ((csz & kV1SizeLowMask) << kV1SizeLowShift) |
                  (((csz >> 20) & 0xf) << kV1CompSizeHighShift) |
                  (ci.compressed_offset & kV1CompOffsetMask);
  StoreLE64(out, uncomp);
  StoreLE64(out + 8, comp);
}

Result<ChunkCompressInfo> DecodeCiV1(const uint8_t in[16]) {
  uint64_t uncomp = LoadLE64(in);
  uint64_t comp = LoadLE64(in + 8);
  ChunkCompressInfo ci;
  ci.uncompressed_offset = uncomp & kV1UncompOffsetMask;
  ci.uncompressed_size = static_cast<uint32_t>(
      ((((uncomp >> kV1UncompSizeHighShift) & 0xf) << 20) | (uncomp >> kV1SizeLowShift)) + 1);
  ci.compressed_offset = comp & kV1CompOffsetMask;
  ci.compressed_size = static_cast<uint32_t>(
      ((((comp >> kV1CompSizeHighShift) & 0xf) << 20) | (comp >> kV1SizeLowShift)) + 1);
  ci.compressed = ci.compressed_size != ci.uncompressed_size;
  return ci;
}

void EncodeCiV2(const ChunkCompressInfo& ci, uint8_t out[24]) {
  uint64_t flags = (ci.compressed ? kCiCompressed : 0) | (ci.zran ? kCiZran : 0);
  uint64_t uncomp =
      ((ci.uncompressed_offset >> 12) & kV2UncompOffsetMask) |
      (((static_cast<uint64_t>(ci.uncompressed_size) - 1) & kV2SizeMask) << kV2UncompSizeShift) |
      (flags << kV2FlagsShift);
  uint64_t comp = (ci.compressed_offset & kV2CompOffsetMask) |
                  ((static_cast<uint64_t>(ci.compressed_size) & kV2SizeMask) << kV2CompSizeShift);
  StoreLE64(out, uncomp);
  StoreLE64(out + 8, comp);
  StoreLE64(out + 16, ci.data);
}

Result<ChunkCompressInfo> DecodeCiV2(const uint8_t in[24]) {
  uint64_t uncomp = LoadLE64(in);
  uint64_t comp = LoadLE64(in + 8);
  uint8_t flags = static_cast<uint8_t>(uncomp >> kV2FlagsShift);
  if (flags & ~kV2KnownFlags) {
    char msg[64];
    std::snprintf(msg, sizeof(msg), "CI v2: unknown chunk flags 0x%x", flags & ~kV2KnownFlags);
    return Status::Corruption(msg);
  }
  ChunkCompressInfo ci;
  ci.uncompressed_offset = (uncomp & kV2UncompOffsetMask) << 12;
  ci.uncompressed_size = static_cast<uint32_t>(((uncomp >> kV2UncompSizeShift) & kV2SizeMask) + 1);
  ci.compressed_offset = comp & kV2CompOffsetMask;
  ci.compressed_size = static_cast<uint32_t>((comp >> kV2CompSizeShift) & kV2SizeMask);
  ci.compressed = flags & kCiCompressed;
  ci.zran = flags & kCiZran;
  ci.data = LoadLE64(in + 16);
  return ci;
}

void MakeReverseTarHeader(std::string_view name, uint64_t size, uint8_t out[512]) {
  std::memset(out, 0, kTarHeaderSize);
  std::memcpy(out + kTarNameOff, name.data(), std::min(name.size(), kTarNameLen));
  if (size < (1ull << 33)) {  // fits 11 octal digits
    PutOctal(out + kTarSizeOff, kTarSizeLen, size);
  } else {
    PutBase256(out + kTarSizeOff, kTarSizeLen, size);
  }
  PutOctal(out + kTarMtimeOff, kTarMtimeLen, 0);
  out[kTarTypeOff] = '0';
  std::memcpy(out + kTarMagicOff, kGnuMagic, sizeof(kGnuMagic));
  PutOctal(out + kTarChksumOff, kTarChksumLen, HeaderChecksum(out));
}

Result<TarSection> ParseReverseTarHeader(ByteSpan header) {
  if (header.size() != kTarHeaderSize) {
    return Status::Corruption("tar header: expected 512 bytes, got " +
                              std::to_string(header.size()));
  }
  const uint8_t* h = header.data();
  if (std::memcmp(h + kTarMagicOff, kGnuMagic, sizeof(kGnuMagic)) != 0) {
    return Status::Corruption("tar header: not a GNU header (bad magic)");
  }
  ASSIGN_OR_RETURN(uint64_t stored_sum, ParseOctal(h + kTarChksumOff, kTarChksumLen, "checksum"));
  uint32_t sum = HeaderChecksum(h);
  if (stored_sum != sum) {
    return Status::Corruption("tar header: checksum " + std::to_string(stored_sum) +
                              " does not match computed " + std::to_string(sum));
  }
  if (h[kTarTypeOff] != '0' && h[kTarTypeOff] != 0) {
    return Status::Corruption("tar header: entry is not a regular file");
  }
  TarSection s;
  ASSIGN_OR_RETURN(s.size, ParseNumeric(h + kTarSizeOff, kTarSizeLen, "size"));
  size_t n = 0;
  while (n < kTarNameLen && h[kTarNameOff + n] != 0) ++n;
  if (n == 0) return Status::Corruption("tar header: empty name");
  s.name.assign(reinterpret_cast<const char*>(h + kTarNameOff), n);
  return s;
}

}  // namespace nydus::format
