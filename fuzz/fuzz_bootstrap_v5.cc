// libFuzzer target: the RAFS v5 bootstrap decoder and the reports built on its output.
// Every input is decoded as v5 (the magic is forced) and truncated to 8-byte alignment so
// mutations spend their time past the first checks.

#include <cstdint>
#include <cstring>

#include "format/rafs.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nydus::Bytes buf(data, data + (size & ~size_t{7}));
  if (buf.size() >= 4) nydus::StoreLE32(buf.data(), nydus::format::kRafsV5Magic);
  nydus::fuzz::DecodeAndReport(buf);
  return 0;
}
