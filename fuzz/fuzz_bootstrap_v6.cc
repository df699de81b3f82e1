// libFuzzer target: the RAFS v6 bootstrap decoder and the reports built on its output.
// Every input is decoded as v6 (the EROFS magic is forced at 1024) and truncated to a
// multiple of 4096 bytes so mutations spend their time past the first checks.

#include <cstdint>

#include "format/v6.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nydus::Bytes buf(data, data + (size & ~size_t{4095}));
  if (buf.size() >= nydus::format::kV6SuperBlockOffset + 4) {
    nydus::StoreLE32(buf.data() + nydus::format::kV6SuperBlockOffset, nydus::format::kErofsMagic);
  }
  nydus::fuzz::DecodeAndReport(buf);
  return 0;
}
