#include "builder/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "base/file_util.h"

namespace nydus::builder {

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

Status WriteFileAtomically(const std::string& path, ByteSpan data) {
  const std::string tmp = TempPathFor(path);
  Status st = WriteWholeFile(tmp, data);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp + " to " + path);
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace nydus::builder
