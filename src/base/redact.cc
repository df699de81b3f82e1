#include "base/redact.h"

namespace nydus {

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme_end = out.find("://");
  size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  size_t path = out.find_first_of("/?#", authority);
  size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
  if (at != std::string::npos && at >= authority) {
    out.replace(authority, at - authority, "...");
  }
  size_t q = out.find_first_of("?#");
  if (q != std::string::npos) out.replace(q + 1, std::string::npos, "...");
  return out;
}

}  // namespace nydus
