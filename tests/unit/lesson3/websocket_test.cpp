// WebSocket frames (RFC 6455 §5) and the handshake's key, driven through memory.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "03-raw-websocket/websocket.h"

using namespace ws;

namespace {

// Bytes written as spaced hex, the way the RFC prints them: "81 05 48 65 6c 6c 6f".
std::string hex(std::string_view spaced) {
  std::string out;
  for (size_t i = 0; i < spaced.size();) {
    if (spaced[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(spaced.substr(i, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// What the reader reported, with payloads copied out.
struct Seen {
  Event::Kind kind;
  bool binary = false;
  std::string payload;
  uint16_t code = 0;
  std::string reason;
  bool operator==(const Seen&) const = default;
};

// Plays the connection's part: keeps what the reader did not consume, hands it
// back with the next chunk, and calls read() until it asks for more.
struct Driver {
  MessageReader reader;
  std::string pending;
  std::vector<Seen> seen;

  explicit Driver(size_t max = 1 << 20, bool masked = true) : reader(max) {
    reader.expect_masked = masked;
  }
  void feed(std::string_view chunk) {
    pending += chunk;
    for (;;) {
      Event e = reader.read(pending);
      REQUIRE(e.consumed <= pending.size());
      if (e.kind != Event::Kind::need_more)
        seen.push_back({e.kind, e.binary, std::string(e.payload), e.code, e.reason});
      pending.erase(0, e.consumed);
      if (e.kind == Event::Kind::need_more || e.kind == Event::Kind::error ||
          e.kind == Event::Kind::close)
        return;
    }
  }
};

// The events for bytes fed in one piece, split at every point, and a byte at a
// time must all be the same.
std::vector<Seen> read_every_way(const std::string& bytes, bool masked = true) {
  Driver whole(1 << 20, masked);
  whole.feed(bytes);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    Driver split(1 << 20, masked);
    split.feed(std::string_view(bytes).substr(0, n));
    split.feed(std::string_view(bytes).substr(n));
    CHECK_MESSAGE(split.seen == whole.seen, "split after " << n << " bytes");
  }
  Driver bytewise(1 << 20, masked);
  for (char c : bytes)
    bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.seen == whole.seen);
  return whole.seen;
}

Seen message(std::string payload, bool binary = false) {
  return {Event::Kind::message, binary, std::move(payload), 0, ""};
}
Seen control(Event::Kind kind, std::string payload) {
  return {kind, false, std::move(payload), 0, ""};
}

// The close code a client's bytes fail the connection with (0 if they do not).
uint16_t failure(const std::string& bytes, size_t max = 1 << 20) {
  Driver d(max);
  for (char c : bytes)
    d.feed(std::string_view(&c, 1));
  for (const Seen& s : d.seen)
    if (s.kind == Event::Kind::error) return s.code;
  return 0;
}

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame (masked with the §5.7 key), built with our writer.
std::string client(bool fin, uint8_t opcode, std::string_view payload) {
  std::string out;
  write_frame(out, fin, static_cast<Opcode>(opcode), payload, kKey);
  return out;
}

}  // namespace

TEST_CASE("RFC 6455 §1.3: the accept key example") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("RFC 6455 §4.2.1 item 5: Sec-WebSocket-Key is base64 of 16 bytes") {
  CHECK(key_is_valid("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(key_is_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
  CHECK_FALSE(key_is_valid(""));
  CHECK_FALSE(key_is_valid("dGhlIHNhbXBsZSBub25jZQ"));  // no padding
  CHECK_FALSE(key_is_valid("dGhlIHNhbXBsZSBub25jZQ=== "));  // too long
  CHECK_FALSE(key_is_valid("dGhlIHNhbXBsZSBub25j!Q=="));  // not base64
  CHECK_FALSE(key_is_valid("dGhlIHNhbXBsZSBub25jZR=="));  // stray bits in the last
  CHECK_FALSE(key_is_valid("aGVsbG8gd29ybGQgaGVsbG8h"));  // 18 bytes
}

TEST_CASE("RFC 6455 §5.7: a single-frame unmasked text message") {
  std::string bytes = hex("81 05 48 65 6c 6c 6f");
  CHECK(read_every_way(bytes, false) == std::vector<Seen>{message("Hello")});
  std::string out;
  write_frame(out, true, Opcode::text, "Hello");
  CHECK(out == bytes);
}

TEST_CASE("RFC 6455 §5.7: a single-frame masked text message") {
  std::string bytes = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  CHECK(read_every_way(bytes) == std::vector<Seen>{message("Hello")});
  CHECK(client(true, 0x1, "Hello") == bytes);
}

TEST_CASE("RFC 6455 §5.7: a fragmented unmasked text message") {
  std::string bytes = hex("01 03 48 65 6c") + hex("80 02 6c 6f");
  CHECK(read_every_way(bytes, false) == std::vector<Seen>{message("Hello")});
}

TEST_CASE("RFC 6455 §5.7: unmasked ping, masked pong") {
  std::string ping = hex("89 05 48 65 6c 6c 6f");
  CHECK(read_every_way(ping, false) ==
        std::vector<Seen>{control(Event::Kind::ping, "Hello")});
  std::string pong = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58");
  CHECK(read_every_way(pong) == std::vector<Seen>{control(Event::Kind::pong, "Hello")});
}

TEST_CASE("RFC 6455 §5.7: 256 bytes and 64 KiB of binary in one unmasked frame") {
  std::string small(256, '\x5a');
  std::string bytes = hex("82 7E 01 00") + small;
  Driver d(1 << 20, false);
  d.feed(bytes);
  CHECK(d.seen == std::vector<Seen>{message(small, true)});
  std::string out;
  write_frame(out, true, Opcode::binary, small);
  CHECK(out == bytes);

  std::string big(65536, '\x01');
  bytes = hex("82 7F 00 00 00 00 00 01 00 00") + big;
  Driver b(1 << 20, false);
  for (size_t i = 0; i < bytes.size(); i += 1000)
    b.feed(bytes.substr(i, 1000));
  CHECK(b.seen == std::vector<Seen>{message(big, true)});
  out.clear();
  write_frame(out, true, Opcode::binary, big);
  CHECK(out == bytes);
}

TEST_CASE("every prefix of each frame kind, and many frames in one read") {
  std::string text126(126, 't'), bin65536(65536, 'b');
  std::vector<std::string> frames = {
      client(true, 0x1, ""),
      client(true, 0x1, "Hello"),
      client(true, 0x1, text126),
      client(true, 0x2, std::string(125, '\xff')),
      client(true, 0x9, "ping"),
      client(true, 0xA, "pong"),
      client(true, 0x9, ""),
      client(false, 0x1, "Hel") + client(true, 0x0, "lo"),
      client(true, 0x8, hex("03 e8") + "bye"),
  };
  for (const std::string& f : frames)
    CHECK(read_every_way(f).size() == 1);
  // A 64 KiB frame: every prefix would be slow, so a few hundred splits.
  std::string big = client(true, 0x2, bin65536);
  for (size_t n : {0, 1, 2, 3, 9, 10, 13, 14, 15, 1000, 65549}) {
    Driver d;
    d.feed(big.substr(0, n));
    CHECK(d.seen.empty());
    d.feed(big.substr(n));
    CHECK(d.seen == std::vector<Seen>{message(bin65536, true)});
  }
  // Control frames between fragments (§5.4), all in one read.
  std::string all = client(false, 0x1, "a") + client(true, 0x9, "p") +
                    client(false, 0x0, "b") + client(true, 0xA, "q") +
                    client(true, 0x0, "c") +
                    client(true, 0x2, std::string("\x00\x01", 2));
  std::vector<Seen> expected = {control(Event::Kind::ping, "p"),
                                control(Event::Kind::pong, "q"), message("abc"),
                                message(std::string("\x00\x01", 2), true)};
  CHECK(read_every_way(all) == expected);
}

TEST_CASE("UTF-8 (RFC 3629): valid and invalid sequences") {
  for (std::string_view s :
       {"", "hello", "\xc2\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf"})
    CHECK_MESSAGE(utf8::is_valid(s), s.size() << " bytes");
  struct Bad {
    std::string bytes;
    const char* why;
  };
  for (const Bad& b :
       {Bad{hex("c0 80"), "overlong U+0000"}, Bad{hex("c1 bf"), "overlong U+007F"},
        Bad{hex("e0 80 80"), "overlong in 3 bytes"},
        Bad{hex("e0 9f bf"), "overlong U+07FF"},
        Bad{hex("f0 80 80 80"), "overlong in 4 bytes"},
        Bad{hex("f0 8f bf bf"), "overlong U+FFFF"},
        Bad{hex("ed a0 80"), "surrogate U+D800"},
        Bad{hex("ed bf bf"), "surrogate U+DFFF"}, Bad{hex("f4 90 80 80"), "U+110000"},
        Bad{hex("f5 80 80 80"), "F5"}, Bad{hex("ff"), "FF"},
        Bad{hex("80"), "a lone continuation byte"},
        Bad{hex("e2 82"), "truncated 3-byte sequence"},
        Bad{hex("f0 9d 84"), "truncated 4-byte sequence"},
        Bad{hex("c2 41"), "ASCII where a continuation belongs"}})
    CHECK_MESSAGE(!utf8::is_valid(b.bytes), b.why);
}

TEST_CASE("UTF-8: incremental, failing at the first bad byte") {
  utf8::Validator v;
  // U+1D11E split over three feeds: fine, and complete only at the end.
  CHECK(v.feed("\xf0"));
  CHECK_FALSE(v.complete());
  CHECK(v.feed("\x9d\x84"));
  CHECK(v.feed("\x9e"));
  CHECK(v.complete());
  // A surrogate is refused at its second byte, before the third arrives.
  v.reset();
  CHECK(v.feed("\xed"));
  CHECK_FALSE(v.feed("\xa0"));
  v.reset();
  CHECK(v.feed("\xf4"));
  CHECK_FALSE(v.feed("\x90"));
}

TEST_CASE("RFC 6455 §5.1: a client frame must be masked") {
  CHECK(failure(hex("81 05 48 65 6c 6c 6f")) == 1002);
}

TEST_CASE("RFC 6455 §5.2: RSV bits, reserved opcodes, the 64-bit length") {
  std::string hello = client(true, 0x1, "Hello");
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    std::string f = hello;
    f[0] = static_cast<char>(f[0] | rsv);
    CHECK(failure(f) == 1002);
  }
  for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF})
    CHECK_MESSAGE(failure(client(true, op, "")) == 1002, "opcode " << int(op));
  CHECK(failure(hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d")) == 1002);
  // The shortest form: 5 written as 16 bits, 200 as 64 bits.
  CHECK(failure(hex("82 fe 00 05 37 fa 21 3d") + std::string(5, 'x')) == 1002);
  CHECK(failure(hex("82 ff 00 00 00 00 00 00 00 c8 37 fa 21 3d")) == 1002);
}

TEST_CASE("RFC 6455 §5.5: control frames are short and never fragmented") {
  CHECK(failure(client(true, 0x9, std::string(126, 'p'))) == 1002);
  CHECK(failure(client(true, 0x8, hex("03 e8") + std::string(124, 'r'))) == 1002);
  CHECK(failure(client(false, 0x9, "p")) == 1002);
  CHECK(failure(client(true, 0x9, std::string(125, 'p'))) == 0);
}

TEST_CASE("RFC 6455 §5.4: fragments") {
  CHECK(failure(client(true, 0x0, "lonely")) == 1002);
  CHECK(failure(client(false, 0x1, "a") + client(true, 0x1, "b")) == 1002);
  CHECK(failure(client(false, 0x1, "a") + client(true, 0x2, "b")) == 1002);
  CHECK(failure(client(false, 0x2, "a") + client(true, 0x0, "b")) == 0);
}

TEST_CASE("RFC 6455 §8.1: text must be UTF-8, checked as it arrives") {
  CHECK(failure(client(true, 0x1, "\xc0\x80")) == 1007);
  CHECK(failure(client(true, 0x2, "\xc0\x80")) == 0);  // binary is anything
  // A character split across fragments is fine...
  CHECK(failure(client(false, 0x1, "\xe2\x82") + client(true, 0x0, "\xac")) == 0);
  // ...a message that ends inside one is not.
  CHECK(failure(client(false, 0x1, "a") + client(true, 0x0, "\xe2\x82")) == 1007);
  // The first bad byte fails the connection, before the fragment is complete.
  Driver d;
  std::string f = client(false, 0x1, "ok\xed\xa0\x80 and more to come");
  d.feed(f.substr(0, 6 + 4));  // the header, "ok", ED A0
  REQUIRE(d.seen.size() == 1);
  CHECK(d.seen[0].code == 1007);
}

TEST_CASE("RFC 6455 §7.4.1: 1009 for a message over the limit") {
  CHECK(failure(client(true, 0x2, std::string(10, 'x')), 10) == 0);
  CHECK(failure(client(true, 0x2, std::string(11, 'x')), 10) == 1009);
  CHECK(failure(client(false, 0x1, "123456") + client(true, 0x0, "789ab"), 10) == 1009);
}

TEST_CASE("RFC 6455 §7.4.2: 1012-1014, registered with IANA, are valid close codes") {
  for (uint16_t code : {1012, 1013, 1014})
    CHECK_MESSAGE(ws::close_code_is_valid(code), "code " << code);
  CHECK(!ws::close_code_is_valid(1015));
  CHECK(std::string(ws::close_code_name(1013)) == "try again later");
}

TEST_CASE("RFC 6455 §5.5.1, §7.4: the close frame") {
  Driver d;
  d.feed(client(true, 0x8, ""));
  CHECK(d.seen == std::vector<Seen>{{Event::Kind::close, false, "", 1005, ""}});
  // Nothing is read after a close frame.
  Event e = d.reader.read(client(true, 0x1, "late"));
  CHECK(e.kind == Event::Kind::need_more);

  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                        1014, 3000, 4999}) {
    Driver c;
    c.feed(client(true, 0x8, close_payload(code, "bye")));
    CHECK(c.seen == std::vector<Seen>{{Event::Kind::close, false, "", code, "bye"}});
  }
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    std::string payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    CHECK_MESSAGE(failure(client(true, 0x8, payload)) == 1002, "code " << code);
  }
  CHECK(failure(client(true, 0x8, "\x03")) == 1002);  // a 1-byte payload
  CHECK(failure(client(true, 0x8, hex("03 e8 c0 80"))) == 1007);
}
