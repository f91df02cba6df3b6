// Fuzz target: the RESP2 reply parser (04-socketio-lite/redis.h), fed the way the
// client feeds it: replies one after another from a buffer, and each reply also
// one byte at a time, which must give the same replies. A reply that parses is
// written back as RESP and must parse to the same reply.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "04-socketio-lite/redis.h"

// RESP for a reply (the encoder a server would have): the round trip's other half.
static void write(std::string& out, const redis::Reply& r) {
  switch (r.type) {
    case redis::Type::simple:
    case redis::Type::error:
      out += static_cast<char>(r.type) + r.str + "\r\n";
      return;
    case redis::Type::integer:
      out += ":" + std::to_string(r.integer) + "\r\n";
      return;
    case redis::Type::bulk:
      out += "$" + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n";
      return;
    case redis::Type::null:
      out += "$-1\r\n";
      return;
    case redis::Type::array:
      out += "*" + std::to_string(r.elements.size()) + "\r\n";
      for (const auto& e : r.elements)
        write(out, e);
      return;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  redis::Limits limits;
  limits.max_bulk = 1 << 16;
  limits.max_elements = 1 << 12;
  while (!in.empty()) {
    redis::ParseResult r = redis::parse(in, limits);
    if (r.status == redis::Status::need_more) break;
    if (r.status == redis::Status::error) {
      if (r.error.empty()) std::abort();
      break;  // the client would close the connection here
    }
    if (r.consumed == 0 || r.consumed > in.size()) std::abort();
    // Every strict prefix of the reply is "need more", never done or an error
    // (checked for short replies: the parser starts over on each call).
    if (r.consumed <= 64)
      for (size_t n = 0; n < r.consumed; ++n)
        if (redis::parse(in.substr(0, n), limits).status != redis::Status::need_more)
          std::abort();
    std::string again;
    write(again, r.reply);
    redis::ParseResult back = redis::parse(again, limits);
    if (back.status != redis::Status::done || back.consumed != again.size() ||
        redis::describe(back.reply) != redis::describe(r.reply))
      std::abort();
    in.remove_prefix(r.consumed);
  }
  return 0;
}
