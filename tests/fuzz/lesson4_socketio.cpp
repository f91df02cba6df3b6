// Fuzz target: the Socket.IO v5 packet decoder (04-socketio-lite/socketio.h).
// The input is split at 0xFF bytes into Engine.IO messages; a message starting
// with 0xFE is given as binary (an attachment), the others as text. A packet
// that decodes must encode back to text that decodes to the same packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "04-socketio-lite/socketio.h"

static void check_round_trip(const sio::Packet& packet) {
  sio::Decoder decoder;
  sio::Decoder::Result r = decoder.add_text(sio::encode(packet));
  for (const std::string& attachment : packet.attachments) {
    if (r.status != sio::Decoder::Status::need_more) std::abort();
    r = decoder.add_binary(attachment);
  }
  if (r.status != sio::Decoder::Status::done) std::abort();
  if (sio::encode(r.packet) != sio::encode(packet)) std::abort();
  if (r.packet.attachments != packet.attachments) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sio::Decoder decoder;
  while (true) {
    size_t cut = in.find('\xFF');
    std::string_view message = in.substr(0, cut);
    sio::Decoder::Result r = !message.empty() && message[0] == '\xFE'
                                 ? decoder.add_binary(message.substr(1))
                                 : decoder.add_text(message);
    if (r.status == sio::Decoder::Status::error) {
      if (r.error.empty()) std::abort();
      return 0;  // the connection would be closed here
    }
    if (r.status == sio::Decoder::Status::done) {
      check_round_trip(r.packet);
      sio::describe(r.packet);
    }
    if (cut == std::string_view::npos) break;
    in.remove_prefix(cut + 1);
  }
  return 0;
}
