// Fuzz target: the msgpack decoder (04-socketio-lite/msgpack.h) that reads the
// Redis adapter's pub/sub requests. A value that decodes must encode back to
// bytes that decode to the same JSON and attachments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "04-socketio-lite/msgpack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  msgpack::Result r = msgpack::decode(in);
  if (r.status == msgpack::Status::error) {
    if (r.error.empty()) std::abort();
    return 0;
  }
  if (r.status == msgpack::Status::need_more) return 0;
  if (r.consumed == 0 || r.consumed > in.size()) std::abort();
  std::string again = msgpack::encode(r.value, r.buffers);
  msgpack::Result back = msgpack::decode(again);
  if (back.status != msgpack::Status::done || back.consumed != again.size() ||
      json::stringify(back.value) != json::stringify(r.value) ||
      back.buffers != r.buffers)
    std::abort();
  return 0;
}
