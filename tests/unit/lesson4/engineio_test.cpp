// Engine.IO v4 packets and payloads (04-socketio-lite/engineio_packet.h). The
// vectors are the ones engine.io-protocol-v4.md prints, named after their
// heading, plus RFC 4648 §10's base64 vectors and malformed input.
#include <doctest/doctest.h>

#include <random>

#include "04-socketio-lite/engineio_packet.h"

using eio::Packet;
using eio::PacketType;

static Packet decode(std::string_view text) {
  Packet p;
  eio::DecodeResult r = eio::decode_packet(text, p);
  REQUIRE_MESSAGE(r.ok, r.error);
  return p;
}

static std::string refused(std::string_view text) {
  Packet p;
  eio::DecodeResult r = eio::decode_packet(text, p);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
  return r.error;
}

static std::vector<Packet> decode_payload(std::string_view body) {
  std::vector<Packet> packets;
  eio::DecodeResult r = eio::decode_payload(body, packets);
  REQUIRE_MESSAGE(r.ok, r.error);
  return packets;
}

static const std::string kBytes01020304("\x01\x02\x03\x04", 4);

TEST_CASE("Protocol: every packet type, as text both ways") {
  struct Vector {
    std::string_view wire;
    PacketType type;
    std::string_view data;
  } vectors[] = {
      {"0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}", PacketType::open,
       "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}"},
      {"1", PacketType::close, ""},
      {"2", PacketType::ping, ""},
      {"2probe", PacketType::ping, "probe"},
      {"3", PacketType::pong, ""},
      {"3probe", PacketType::pong, "probe"},
      {"4hello", PacketType::message, "hello"},
      {"4", PacketType::message, ""},
      {"4\xe2\x82\xac", PacketType::message, "\xe2\x82\xac"},  // € as UTF-8
      {"5", PacketType::upgrade, ""},
      {"6", PacketType::noop, ""},
  };
  for (const Vector& v : vectors) {
    CAPTURE(v.wire);
    Packet p = decode(v.wire);
    CHECK(p.type == v.type);
    CHECK(p.data == v.data);
    CHECK_FALSE(p.binary);
    CHECK(eio::encode_for_websocket(p) == v.wire);
    std::string polled;
    eio::append_for_polling(polled, p);
    CHECK(polled == v.wire);
  }
}

TEST_CASE("Packet encoding / HTTP long-polling: 4hello\\x1e2\\x1e4world") {
  std::string body =
      "4hello\x1e"
      "2\x1e"
      "4world";
  std::vector<Packet> packets = decode_payload(body);
  REQUIRE(packets.size() == 3);
  CHECK((packets[0].type == PacketType::message && packets[0].data == "hello"));
  CHECK((packets[1].type == PacketType::ping && packets[1].data.empty()));
  CHECK((packets[2].type == PacketType::message && packets[2].data == "world"));
  CHECK(eio::encode_payload(packets) == body);
}

TEST_CASE("Packet encoding / HTTP long-polling: 4hello\\x1ebAQIDBA== (binary)") {
  std::string body =
      "4hello\x1e"
      "bAQIDBA==";
  std::vector<Packet> packets = decode_payload(body);
  REQUIRE(packets.size() == 2);
  CHECK(packets[1].type == PacketType::message);
  CHECK(packets[1].binary);
  CHECK(packets[1].data == kBytes01020304);
  CHECK(eio::encode_payload(packets) == body);
}

TEST_CASE("Packet encoding / WebSocket: binary payloads are sent as is") {
  Packet p = eio::binary_packet(kBytes01020304);
  CHECK(p.type == PacketType::message);
  CHECK(p.binary);
  CHECK(eio::encode_for_websocket(p) == kBytes01020304);
  std::string polled;
  eio::append_for_polling(polled, p);
  CHECK(polled == "bAQIDBA==");
  // An empty binary message is "b" alone.
  CHECK(eio::encode_payload({eio::binary_packet("")}) == "b");
  Packet empty = decode("b");
  CHECK((empty.binary && empty.data.empty()));
}

TEST_CASE("one packet is a payload of one") {
  CHECK(decode_payload("4hello").size() == 1);
  CHECK(eio::encode_payload({Packet{PacketType::ping, "", false}}) == "2");
  CHECK(eio::encode_payload({}).empty());
}

TEST_CASE("RFC 4648 §10: base64 test vectors") {
  std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& vector : vectors) {
    auto [bytes, text] = vector;
    CAPTURE(vector.second);
    CHECK(eio::base64_encode(bytes) == text);
    std::string out;
    CHECK(eio::base64_decode(text, out));
    CHECK(out == bytes);
  }
}

TEST_CASE("base64 round trip: every byte value, every length up to 300") {
  std::mt19937 random(4648);
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes += char(i);
  for (size_t n = 0; n <= 300; ++n) {
    std::string in = n <= 256 ? bytes.substr(0, n) : std::string();
    for (size_t i = in.size(); i < n; ++i)
      in += char(random() & 0xff);
    std::string text = eio::base64_encode(in), out;
    CHECK(text.size() % 4 == 0);
    REQUIRE(eio::base64_decode(text, out));
    CHECK(out == in);
    // Through a polling payload and back.
    std::vector<Packet> back =
        decode_payload(eio::encode_payload({eio::binary_packet(in)}));
    REQUIRE(back.size() == 1);
    CHECK(back[0].data == in);
  }
}

TEST_CASE("malformed packets are refused") {
  refused("");  // no type
  refused("7");  // types are 0 to 6
  refused("9hello");
  refused("abc");  // the conformance suite's invalid packet
  refused("Bhello");  // binary is a lower-case b
  refused(std::string(1, '\0'));
  refused("bA");  // not whole groups of four
  refused("bAQIDBA=");
  refused("bAQI DBA=");  // not in the alphabet
  refused("bAQIDBA*");
  refused("b-_8=");  // base64url is not what Engine.IO writes
  refused("b====");  // padding alone
  refused("bZg==Zg==");  // padding inside
  refused("bZh==");  // RFC 4648 §3.5: leftover bits must be zero
  refused("bZm9=");
  CHECK(refused("8").find("unknown packet type") != std::string::npos);
}

TEST_CASE("malformed payloads are refused") {
  std::vector<Packet> packets;
  for (std::string_view body :
       {std::string_view(""), std::string_view("\x1e"), std::string_view("4a\x1e"),
        std::string_view("\x1e"
                         "4a"),
        std::string_view("4a\x1e\x1e"
                         "4b"),
        std::string_view("4a\x1e"
                         "x"),
        std::string_view("4a\x1e"
                         "b!")}) {
    CAPTURE(body);
    eio::DecodeResult r = eio::decode_payload(body, packets);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.error.empty());
  }
}

TEST_CASE("every prefix of a payload decodes to itself or is refused") {
  // The transports hand over whole bodies, so a prefix is a body of its own: it
  // must either be a valid payload that re-encodes to exactly those bytes, or be
  // refused with a reason. Never anything in between.
  std::string body =
      "0{\"sid\":\"x\"}\x1e"
      "4hello\x1e"
      "2\x1e"
      "bAQIDBA==\x1e"
      "4\xe2\x82\xac";
  size_t accepted = 0;
  for (size_t n = 0; n <= body.size(); ++n) {
    std::string_view prefix(body.data(), n);
    CAPTURE(n);
    std::vector<Packet> packets;
    eio::DecodeResult r = eio::decode_payload(prefix, packets);
    if (r.ok) {
      ++accepted;
      CHECK(eio::encode_payload(packets) == prefix);
    } else {
      CHECK_FALSE(r.error.empty());
    }
  }
  // Refused: the empty body, each prefix ending in \x1e, and "bA" "bAQ" "bAQI"
  // "bAQIDB" "bAQIDBA" "bAQIDBA=" (base64 cut inside a group).
  CHECK(accepted == body.size() + 1 - 1 - 4 - 6);
}

TEST_CASE("type names") {
  CHECK(std::string(eio::type_name(PacketType::open)) == "open");
  CHECK(std::string(eio::type_name(PacketType::noop)) == "noop");
}
