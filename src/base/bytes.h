// Byte helpers: little-endian load/store, alignment, hex. Header-only, no I/O.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nydus {

static_assert(std::endian::native == std::endian::little,
              "nydus-cpp stores on-disk structs in host order and needs a little-endian host");

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline uint16_t LoadLE16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t LoadLE32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t LoadLE64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline void StoreLE16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void StoreLE32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void StoreLE64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

constexpr uint64_t RoundUp(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }
constexpr uint64_t RoundDown(uint64_t v, uint64_t align) { return v / align * align; }
constexpr bool IsAligned(uint64_t v, uint64_t align) { return v % align == 0; }
constexpr bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// True when [off, off+len) lies inside [0, size) without overflow.
constexpr bool RangeInside(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

// Lowercase hex of `data`.
std::string ToHex(ByteSpan data);
// Parses lowercase or uppercase hex; false on odd length or a non-hex character.
bool FromHex(std::string_view hex, Bytes* out);

// Reads a trivially-copyable struct from `data` at `off`; false when out of bounds.
template <typename T>
bool ReadPod(ByteSpan data, uint64_t off, T* out) {
  if (!RangeInside(off, sizeof(T), data.size())) return false;
  std::memcpy(out, data.data() + off, sizeof(T));
  return true;
}

template <typename T>
void AppendPod(Bytes* out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out->insert(out->end(), p, p + sizeof(T));
}

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace nydus
