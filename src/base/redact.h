// RedactUrl: a URL made safe for logs and error messages. Lives in base (not http) so that code
// compiled without the http library — the registry config parser inside the config fuzzer —
// redacts the same way as the HTTP client (http::RedactUrl is this function).
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace nydus {

// The URL with any user:password@ and the query string replaced by "..." (proxy URLs carry
// credentials in the userinfo, presigned storage URLs carry signatures in the query):
// "https://u:p@host:5000/v2/x?sig=abc" → "https://...@host:5000/v2/x?...".
std::string RedactUrl(std::string_view url);

}  // namespace nydus
