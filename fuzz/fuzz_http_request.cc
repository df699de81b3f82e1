// libFuzzer target: the nydusd API server's HTTP request parser (http/unix_server.h).
//
// The input is a connection's byte stream. Properties checked: the parser is total (never
// crashes, hangs or reads out of bounds), a complete request consumes at most the input and
// respects the size limits, every strict prefix of a complete request is incomplete (so a
// request split across reads parses the same), and responses serialise with a framing that
// matches their body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/unix_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nydus::http;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ServerLimits limits;
  limits.max_header_bytes = 4096;  // small limits so that 413/431 are reachable
  limits.max_body_bytes = 8192;

  size_t offset = 0;
  for (int n = 0; n < 16 && offset <= in.size(); ++n) {  // pipelined requests
    std::string_view rest = in.substr(offset);
    HttpRequest req;
    ParseOutcome o = ParseHttpRequest(rest, limits, &req);
    if (o.kind == ParseOutcome::kError) {
      if (o.error_status < 400 || o.error_status > 599 || o.error.empty()) std::abort();
      (void)SerializeResponse(HttpResponse::Json(o.error_status, ErrorBody(o.error)), false);
      break;
    }
    if (o.kind == ParseOutcome::kIncomplete) break;
    if (o.consumed == 0 || o.consumed > rest.size()) std::abort();
    if (req.body.size() > limits.max_body_bytes) std::abort();
    if (req.path.empty() || req.path[0] != '/') std::abort();
    HttpRequest again;
    ParseOutcome p = ParseHttpRequest(rest.substr(0, o.consumed - 1), limits, &again);
    if (p.kind != ParseOutcome::kIncomplete) std::abort();
    for (const auto& [k, v] : req.query) (void)req.Query(k);
    (void)req.Header("content-length");
    HttpResponse resp = HttpResponse::Json(200, req.body);
    resp.headers.emplace_back(req.method, req.target);  // hostile header values
    std::string wire = SerializeResponse(resp, o.keep_alive, req.method == "HEAD");
    if (wire.find("\r\n\r\n") == std::string::npos) std::abort();
    offset += o.consumed;
  }
  return 0;
}
