#include "engineio_packet.h"

namespace eio {

const char* type_name(PacketType type) {
  switch (type) {
    case PacketType::open:
      return "open";
    case PacketType::close:
      return "close";
    case PacketType::ping:
      return "ping";
    case PacketType::pong:
      return "pong";
    case PacketType::message:
      return "message";
    case PacketType::upgrade:
      return "upgrade";
    case PacketType::noop:
      return "noop";
  }
  return "?";
}

// Base64 (RFC 4648 §4)
// --------------------
// Polling bodies are text, so a binary message travels as base64 behind a 'b'.
// We write it with padding, as Node's Buffer and the browser's FileReader do, and
// read only that form: a stray character is an error, not something to skip.

static const char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  // Three bytes (24 bits) become four 6-bit digits.
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 |
                 uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  // RFC 4648 §4: a final group of one or two bytes is padded with '='.
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

static int digit_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  // RFC 4648 §4: whole groups of four characters, padding included.
  if (text.size() % 4 != 0) return false;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    // '=' may only end the last group: "xx==" (one byte) or "xxx=" (two bytes).
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t n = 0;
    for (int k = 0; k < 4; ++k) {
      int v = k < 4 - pad ? digit_value(text[i + k]) : 0;
      if (v < 0) return false;
      n = n << 6 | uint32_t(v);
    }
    out += char(n >> 16);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
    // RFC 4648 §3.5: the bits that padding leaves over must be zero.
    if ((pad == 2 && (n & 0xffff)) || (pad == 1 && (n & 0xff))) return false;
  }
  return true;
}

// Packets
// -------
//   <packet type>[<data>]       4hello   2probe   3   6
//   b<base64>                   bAQIDBA==   (polling only: a binary message)

DecodeResult decode_packet(std::string_view text, Packet& out) {
  out = Packet{};
  if (text.empty())
    return {false, "Engine.IO v4 \"Protocol\": a packet needs a type, this one is empty"};
  // Engine.IO v4 "HTTP long-polling" (Packet encoding): 'b' + base64 is a binary
  // message; its type is implied.
  if (text[0] == 'b') {
    out.type = PacketType::message;
    out.binary = true;
    if (!base64_decode(text.substr(1), out.data))
      return {false, "Engine.IO v4 \"Packet encoding\": 'b' must be followed by base64"};
    return {true, ""};
  }
  // Engine.IO v4 "Protocol": the types are the digits 0 to 6.
  if (text[0] < '0' || text[0] > '6')
    return {false, "Engine.IO v4 \"Protocol\": unknown packet type '" +
                       std::string(1, text[0]) + "'"};
  out.type = PacketType(text[0] - '0');
  out.data.assign(text.substr(1));
  return {true, ""};
}

Packet binary_packet(std::string_view bytes) {
  // Engine.IO v4 "WebSocket" (Packet encoding): binary payloads are sent as is.
  return Packet{PacketType::message, std::string(bytes), true};
}

DecodeResult decode_payload(std::string_view body, std::vector<Packet>& out) {
  // EXERCISE eio-decode-payload: split at \x1e; decode_packet() each record
  out.clear();
  // Engine.IO v4 "HTTP long-polling" (Packet encoding): packets are separated by
  // the record separator \x1e; the data itself never contains one.
  while (true) {
    size_t end = body.find('\x1e');
    Packet packet;
    DecodeResult r = decode_packet(body.substr(0, end), packet);
    if (!r.ok) return r;
    out.push_back(std::move(packet));
    if (end == std::string_view::npos) return {true, ""};
    body.remove_prefix(end + 1);
  }
  // END EXERCISE eio-decode-payload
}

std::string encode_for_websocket(const Packet& packet) {
  if (packet.binary) return packet.data;
  std::string out(1, char('0' + int(packet.type)));
  out += packet.data;
  return out;
}

void append_for_polling(std::string& out, const Packet& packet) {
  if (packet.binary) {
    out += 'b';
    out += base64_encode(packet.data);
    return;
  }
  out += char('0' + int(packet.type));
  out += packet.data;
}

std::string encode_payload(const std::vector<Packet>& packets) {
  // EXERCISE eio-encode-payload: records joined by the separator \x1e
  std::string out;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i > 0) out += '\x1e';
    append_for_polling(out, packets[i]);
  }
  return out;
  // END EXERCISE eio-encode-payload
}

}  // namespace eio
