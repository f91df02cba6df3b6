// Engine.IO v4 packets and payloads (the protocol document's "Packet encoding").
//
// A packet is a type digit and optional data: "4hello" is a message "hello".
// Over WebSocket each packet is one frame, and a binary message is the frame's raw
// bytes. Over HTTP long polling several packets share one body, joined by the
// record separator \x1e, and a binary message is written "b" + base64:
//   4hello\x1e2\x1ebAQIDBA==     message "hello", ping, message <01 02 03 04>
//
// The transports deliver whole bodies and whole WebSocket messages, so a decoder
// here never needs more bytes: each returns done (the packets) or error (a reason
// naming the rule broken).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eio {

// Engine.IO v4 "Protocol": the packet types; values are the wire's digits - '0'.
enum class PacketType : uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

struct Packet {
  PacketType type = PacketType::message;
  std::string data;
  bool binary = false;  // only a message carries binary data
};

const char* type_name(PacketType type);

struct DecodeResult {
  bool ok = false;
  std::string error;  // set when !ok
};

// One packet from a WebSocket text frame or one record of a polling payload.
// A record that starts with 'b' is a binary message in base64.
DecodeResult decode_packet(std::string_view text, Packet& out);
// A WebSocket binary frame: always a binary message, its bytes as they are.
Packet binary_packet(std::string_view bytes);
// A polling body: records separated by \x1e, each decoded by decode_packet.
DecodeResult decode_payload(std::string_view body, std::vector<Packet>& out);

// A packet as one WebSocket frame's payload (binary: the raw bytes, sent in a
// binary frame), or as one record of a polling payload (binary: "b" + base64).
std::string encode_for_websocket(const Packet& packet);
void append_for_polling(std::string& out, const Packet& packet);
// Records joined by \x1e.
std::string encode_payload(const std::vector<Packet>& packets);

// RFC 4648 §4 base64 with padding; decode refuses anything that is not exactly that.
std::string base64_encode(std::string_view bytes);
bool base64_decode(std::string_view text, std::string& out);

}  // namespace eio
