// Fuzz target: the WebSocket frame reader (03-raw-websocket/websocket.h).
// Any bytes must give the same events whether they come in one read, split in
// two, or a byte at a time; every error names a rule and carries 1002, 1007 or
// 1009; every text message is UTF-8; and a payload written with write_frame()
// reads back as itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "03-raw-websocket/websocket.h"

namespace {

struct Seen {
  ws::Event::Kind kind;
  bool binary;
  std::string payload;
  uint16_t code;
  std::string reason;
  bool operator==(const Seen&) const = default;
};

void check(bool ok) {
  if (!ok) std::abort();
}

// Feeds the chunks as a connection would: what read() leaves is given again.
std::vector<Seen> read_all(const std::vector<std::string_view>& chunks, bool masked,
                           size_t max) {
  ws::MessageReader reader(max);
  reader.expect_masked = masked;
  std::vector<Seen> seen;
  std::string pending;
  for (std::string_view chunk : chunks) {
    pending += chunk;
    for (;;) {
      ws::Event e = reader.read(pending);
      check(e.consumed <= pending.size());
      if (e.kind != ws::Event::Kind::need_more)
        seen.push_back({e.kind, e.binary, std::string(e.payload), e.code, e.reason});
      pending.erase(0, e.consumed);
      if (e.kind == ws::Event::Kind::error) {
        check(!e.reason.empty());
        check(e.code == 1002 || e.code == 1007 || e.code == 1009);
        return seen;
      }
      if (e.kind == ws::Event::Kind::close) {
        check(e.code == 1005 || ws::close_code_is_valid(e.code));
        return seen;
      }
      if (e.kind == ws::Event::Kind::message && !e.binary)
        check(utf8::is_valid(e.payload));
      if (e.kind == ws::Event::Kind::message) check(e.payload.size() <= max);
      if (e.kind == ws::Event::Kind::need_more) break;
    }
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the options; the rest is the stream.
  bool masked = !(data[0] & 1);
  size_t max = (data[0] & 2) ? 64 : 1 << 20;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<Seen> whole = read_all({in}, masked, max);
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  check(read_all({in.substr(0, cut), in.substr(cut)}, masked, max) == whole);
  if (in.size() <= 4096) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < in.size(); ++i)
      bytes.push_back(in.substr(i, 1));
    check(read_all(bytes, masked, max) == whole);
  }

  // write_frame() and the reader agree: the input, as one masked binary frame.
  const uint8_t key[4] = {data[0], 0x5a, 0xa5, 0x3c};
  std::string frame;
  ws::write_frame(frame, true, ws::Opcode::binary, in, key);
  std::vector<Seen> back = read_all({frame}, true, 1 << 20);
  check(back.size() == 1 && back[0].kind == ws::Event::Kind::message && back[0].binary &&
        back[0].payload == in);
  return 0;
}
