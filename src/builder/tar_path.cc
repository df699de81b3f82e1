// Tar entry paths (see tar_path.h).
#include "builder/tar_path.h"

#include <archive_entry.h>

namespace nydus::builder {

namespace {
constexpr size_t kMaxNameLen = 255;  // RAFS_MAX_NAME
}  // namespace

Result<std::vector<std::string>> SplitEntryPath(std::string_view path, const char* what) {
  if (!path.empty() && path.front() == '/') {
    return Status::InvalidArgument(std::string("tar ") + what + " '" + std::string(path) +
                                   "' is an absolute path");
  }
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (out.empty()) {
        return Status::InvalidArgument(std::string("tar ") + what + " '" + std::string(path) +
                                       "' escapes the root with '..'");
      }
      out.pop_back();
      continue;
    }
    if (comp.size() > kMaxNameLen) {
      return Status::InvalidArgument(std::string("tar ") + what + " '" + std::string(path) +
                                     "': name longer than 255 bytes");
    }
    out.emplace_back(comp);
  }
  return out;
}

std::string JoinComponents(const std::vector<std::string>& comps, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += '/';
    s += comps[i];
  }
  return s;
}

const char* EntryPath(struct archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  return p ? p : archive_entry_pathname_utf8(e);
}
const char* EntryHardlink(struct archive_entry* e) {
  const char* p = archive_entry_hardlink(e);
  return p ? p : archive_entry_hardlink_utf8(e);
}
const char* EntrySymlink(struct archive_entry* e) {
  const char* p = archive_entry_symlink(e);
  return p ? p : archive_entry_symlink_utf8(e);
}

}  // namespace nydus::builder
