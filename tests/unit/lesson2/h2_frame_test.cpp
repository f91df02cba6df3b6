// HTTP/2 frame layer (RFC 9113 §4, §6): frames driven through memory, never sockets.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "02-http2-push/frame.h"

using namespace h2;

namespace {

// Bytes written as spaced hex, the way the RFC prints them: "00 00 04 08 00".
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

// Parses bytes that hold exactly one valid frame, and checks every shorter prefix
// asks for more (picohttpparser's test).
Frame parse_whole(const std::string& bytes, uint32_t max = kDefaultMaxFrameSize) {
  Frame f;
  for (size_t n = 0; n < bytes.size(); ++n) {
    ParseResult r = parse_frame(std::string_view(bytes).substr(0, n), max, f);
    REQUIRE_MESSAGE(r.status == Status::need_more, "prefix of " << n << " bytes");
  }
  ParseResult r = parse_frame(bytes, max, f);
  REQUIRE_MESSAGE(r.status == Status::done, r.reason);
  CHECK(r.consumed == bytes.size());
  return f;
}

// The frame's views point into the bytes, so they must outlive it.
Frame parse_whole(std::string&& bytes, uint32_t max = kDefaultMaxFrameSize) = delete;

ParseResult parse_error(const std::string& bytes, uint32_t max = kDefaultMaxFrameSize) {
  Frame f;
  ParseResult r = parse_frame(bytes, max, f);
  REQUIRE(r.status == Status::error);
  return r;
}

void check_connection_error(const std::string& bytes, ErrorCode code) {
  ParseResult r = parse_error(bytes);
  CHECK_MESSAGE(r.code == code, r.reason);
  CHECK(r.scope == ErrorScope::connection);
  CHECK(r.consumed == 0);
  CHECK(r.reason.rfind("RFC 9113 §", 0) == 0);
}

}  // namespace

TEST_SUITE_BEGIN("h2 frame");

TEST_CASE("frame header: 9 bytes, big-endian, reserved bit ignored (RFC 9113 §4.1)") {
  // length 3, type DATA, flags END_STREAM, R=1 and stream 1, payload "abc".
  const std::string wire = hex("00 00 03 00 01 80 00 00 01 61 62 63");
  Frame f = parse_whole(wire);
  CHECK(f.header.length == 3);
  CHECK(f.header.type == FrameType::data);
  CHECK(f.header.flags == flag::end_stream);
  CHECK(f.header.stream_id == 1);
  CHECK(f.data == "abc");

  std::string out;
  write_data(out, 1, "abc", true);
  CHECK(out == hex("00 00 03 00 01 00 00 00 01 61 62 63"));
}

TEST_CASE("writers produce the bytes of each frame layout (RFC 9113 §6)") {
  std::string out;
  write_settings_ack(out);
  CHECK(out == hex("00 00 00 04 01 00 00 00 00"));
  out.clear();
  write_settings(out, {{SettingId::max_concurrent_streams, 100}});
  CHECK(out == hex("00 00 06 04 00 00 00 00 00  00 03 00 00 00 64"));
  out.clear();
  write_window_update(out, 0, 65535);
  CHECK(out == hex("00 00 04 08 00 00 00 00 00  00 00 ff ff"));
  out.clear();
  write_rst_stream(out, 3, ErrorCode::cancel);
  CHECK(out == hex("00 00 04 03 00 00 00 00 03  00 00 00 08"));
  out.clear();
  write_goaway(out, 5, ErrorCode::protocol_error, "x");
  CHECK(out == hex("00 00 09 07 00 00 00 00 00  00 00 00 05 00 00 00 01 78"));
}

TEST_CASE("round trip of every frame type") {
  SUBCASE("DATA") {
    std::string out;
    write_data(out, 7, "hello", false);
    Frame f = parse_whole(out);
    CHECK(f.header.type == FrameType::data);
    CHECK(f.header.stream_id == 7);
    CHECK_FALSE(f.has(flag::end_stream));
    CHECK(f.data == "hello");
  }
  SUBCASE("DATA, padded") {
    // PADDED, pad length 2, "hi", two zero bytes of padding.
    const std::string wire = hex("00 00 05 00 09 00 00 00 01  02 68 69 00 00");
    Frame f = parse_whole(wire);
    CHECK(f.has(flag::end_stream));
    CHECK(f.pad_length == 2);
    CHECK(f.data == "hi");
  }
  SUBCASE("HEADERS") {
    std::string out;
    write_headers(out, 1, "\x82\x86", true, true);
    Frame f = parse_whole(out);
    CHECK(f.header.type == FrameType::headers);
    CHECK(f.header.flags == (flag::end_stream | flag::end_headers));
    CHECK(f.field_block_fragment == "\x82\x86");
  }
  SUBCASE("HEADERS, padded, with priority fields to skip") {
    // PADDED|PRIORITY|END_HEADERS, pad 1, E=1 dependency 3, weight 15, 82, padding.
    const std::string wire = hex("00 00 08 01 2c 00 00 00 05  01 80 00 00 03 0f 82 00");
    Frame f = parse_whole(wire);
    CHECK(f.pad_length == 1);
    CHECK(f.exclusive);
    CHECK(f.stream_dependency == 3);
    CHECK(f.weight == 15);
    CHECK(f.field_block_fragment == "\x82");
  }
  SUBCASE("PRIORITY") {
    std::string out;
    write_frame(out, FrameType::priority, 0, 5, hex("00 00 00 03 ff"));
    Frame f = parse_whole(out);
    CHECK(f.header.type == FrameType::priority);
    CHECK_FALSE(f.exclusive);
    CHECK(f.stream_dependency == 3);
    CHECK(f.weight == 255);
  }
  SUBCASE("RST_STREAM") {
    std::string out;
    write_rst_stream(out, 9, ErrorCode::refused_stream);
    Frame f = parse_whole(out);
    CHECK(f.header.stream_id == 9);
    CHECK(f.error_code == ErrorCode::refused_stream);
  }
  SUBCASE("SETTINGS, unknown ids kept for the caller to ignore") {
    std::string out;
    write_settings(out, {{SettingId::enable_push, 0},
                         {SettingId::initial_window_size, kMaxWindowSize},
                         {SettingId::max_frame_size, kLargestMaxFrameSize},
                         {static_cast<SettingId>(0x8), 1}});
    Frame f = parse_whole(out);
    REQUIRE(f.settings.size() == 4);
    CHECK(f.settings[0].id == SettingId::enable_push);
    CHECK(f.settings[0].value == 0);
    CHECK(f.settings[1].value == kMaxWindowSize);
    CHECK(f.settings[2].value == kLargestMaxFrameSize);
    CHECK(static_cast<uint16_t>(f.settings[3].id) == 0x8);
  }
  SUBCASE("SETTINGS ACK") {
    std::string out;
    write_settings_ack(out);
    Frame f = parse_whole(out);
    CHECK(f.has(flag::ack));
    CHECK(f.settings.empty());
  }
  SUBCASE("PUSH_PROMISE") {
    std::string out;
    write_push_promise(out, 1, 2, "\x82\x87", true);
    Frame f = parse_whole(out);
    CHECK(f.header.type == FrameType::push_promise);
    CHECK(f.has(flag::end_headers));
    CHECK(f.promised_stream_id == 2);
    CHECK(f.field_block_fragment == "\x82\x87");
  }
  SUBCASE("PING and its ACK") {
    std::string out;
    write_ping(out, "12345678", false);
    Frame f = parse_whole(out);
    CHECK_FALSE(f.has(flag::ack));
    CHECK(f.opaque_data == "12345678");
    std::string pong;
    write_ping(pong, f.opaque_data, true);
    Frame g = parse_whole(pong);
    CHECK(g.has(flag::ack));
    CHECK(g.opaque_data == "12345678");
  }
  SUBCASE("GOAWAY") {
    std::string out;
    write_goaway(out, 0x7fffffff, ErrorCode::no_error, "bye");
    Frame f = parse_whole(out);
    CHECK(f.last_stream_id == 0x7fffffff);
    CHECK(f.error_code == ErrorCode::no_error);
    CHECK(f.debug_data == "bye");
  }
  SUBCASE("WINDOW_UPDATE") {
    std::string out;
    write_window_update(out, 3, 1000);
    Frame f = parse_whole(out);
    CHECK(f.header.stream_id == 3);
    CHECK(f.window_size_increment == 1000);
  }
  SUBCASE("CONTINUATION") {
    std::string out;
    write_continuation(out, 1, "\x84", true);
    Frame f = parse_whole(out);
    CHECK(f.header.type == FrameType::continuation);
    CHECK(f.field_block_fragment == "\x84");
  }
}

TEST_CASE("several frames in one buffer, fed one byte at a time") {
  std::string wire;
  write_settings(wire, {{SettingId::max_concurrent_streams, 100}});
  write_settings_ack(wire);
  write_headers(wire, 1, "\x82", false, true);
  write_data(wire, 1, "body", true);
  write_window_update(wire, 0, 1 << 20);
  write_goaway(wire, 1, ErrorCode::no_error, "");

  SUBCASE("all at once") {
    std::string_view rest = wire;
    std::vector<FrameType> types;
    Frame f;
    while (!rest.empty()) {
      ParseResult r = parse_frame(rest, kDefaultMaxFrameSize, f);
      REQUIRE(r.status == Status::done);
      types.push_back(f.header.type);
      rest.remove_prefix(r.consumed);
    }
    CHECK(rest.empty());
    CHECK(types == std::vector<FrameType>{FrameType::settings, FrameType::settings,
                                          FrameType::headers, FrameType::data,
                                          FrameType::window_update, FrameType::goaway});
  }
  SUBCASE("one byte per read") {
    std::string buffer;
    std::vector<std::string> seen;
    Frame f;
    for (char c : wire) {
      buffer += c;
      ParseResult r = parse_frame(buffer, kDefaultMaxFrameSize, f);
      REQUIRE(r.status != Status::error);
      if (r.status == Status::done) {
        seen.push_back(describe(f));
        buffer.erase(0, r.consumed);
      }
    }
    CHECK(buffer.empty());
    REQUIRE(seen.size() == 6);
    CHECK(seen[3] == "DATA stream=1 len=4 flags=END_STREAM");
  }
}

TEST_CASE("a field block split into HEADERS + CONTINUATION (RFC 9113 §4.3)") {
  const std::string block(40000, 'x');
  std::string wire;
  write_headers_block(wire, 3, block, true, kDefaultMaxFrameSize);
  std::string_view rest = wire;
  std::string joined;
  std::vector<uint32_t> lengths;
  Frame f;
  while (!rest.empty()) {
    ParseResult r = parse_frame(rest, kDefaultMaxFrameSize, f);
    REQUIRE(r.status == Status::done);
    CHECK(f.header.stream_id == 3);
    CHECK(f.header.type ==
          (lengths.empty() ? FrameType::headers : FrameType::continuation));
    CHECK(f.has(flag::end_headers) == (r.consumed == rest.size()));
    if (lengths.empty()) CHECK(f.has(flag::end_stream));
    joined += f.field_block_fragment;
    lengths.push_back(f.header.length);
    rest.remove_prefix(r.consumed);
  }
  CHECK(joined == block);
  CHECK(lengths == std::vector<uint32_t>{16384, 16384, 7232});

  SUBCASE("a small block is one HEADERS frame") {
    std::string one;
    write_headers_block(one, 1, "\x88", false, kDefaultMaxFrameSize);
    CHECK(one == hex("00 00 01 01 04 00 00 00 01 88"));
  }
  SUBCASE("PUSH_PROMISE leaves 4 bytes for the promised stream id") {
    std::string push;
    write_push_promise_block(push, 1, 2, std::string(16381, 'y'), kDefaultMaxFrameSize);
    const std::string first = push.substr(0, 9 + 16384), second = push.substr(9 + 16384);
    Frame p = parse_whole(first);
    CHECK(p.header.length == 16384);
    CHECK_FALSE(p.has(flag::end_headers));
    CHECK(p.promised_stream_id == 2);
    Frame c = parse_whole(second);
    CHECK(c.header.type == FrameType::continuation);
    CHECK(c.field_block_fragment == "y");
    CHECK(c.has(flag::end_headers));
  }
}

TEST_CASE("frame size (RFC 9113 §4.2)") {
  std::string big;
  write_data(big, 1, std::string(16385, 'z'), false);
  SUBCASE("over SETTINGS_MAX_FRAME_SIZE fails on the header alone") {
    ParseResult r = parse_error(big.substr(0, 9));
    CHECK(r.code == ErrorCode::frame_size_error);
    CHECK(r.scope == ErrorScope::connection);
    CHECK(r.reason ==
          "RFC 9113 §4.2: frame length 16385 exceeds SETTINGS_MAX_FRAME_SIZE 16384");
  }
  SUBCASE("fine once we advertised a larger size") {
    CHECK(parse_whole(big, 16385).data.size() == 16385);
  }
}

TEST_CASE("stream 0 rules: connection error PROTOCOL_ERROR (RFC 9113 §6)") {
  const std::string four = hex("00 00 00 01"), eight = "12345678";
  std::string out;
  SUBCASE("DATA §6.1") {
    write_data(out, 0, "x", false);
  }
  SUBCASE("HEADERS §6.2") {
    write_headers(out, 0, "\x82", true, true);
  }
  SUBCASE("PRIORITY §6.3") {
    write_frame(out, FrameType::priority, 0, 0, "12345");
  }
  SUBCASE("RST_STREAM §6.4") {
    write_rst_stream(out, 0, ErrorCode::cancel);
  }
  SUBCASE("PUSH_PROMISE §6.6") {
    write_push_promise(out, 0, 2, "", true);
  }
  SUBCASE("CONTINUATION §6.10") {
    write_continuation(out, 0, "", true);
  }
  SUBCASE("SETTINGS §6.5 on a stream") {
    write_frame(out, FrameType::settings, 0, 1, "");
  }
  SUBCASE("PING §6.7 on a stream") {
    write_frame(out, FrameType::ping, 0, 1, eight);
  }
  SUBCASE("GOAWAY §6.8 on a stream") {
    write_frame(out, FrameType::goaway, 0, 1, eight);
  }
  // Only the header is needed to tell.
  check_connection_error(out.substr(0, 9), ErrorCode::protocol_error);
}

TEST_CASE("fixed lengths: FRAME_SIZE_ERROR (RFC 9113 §6)") {
  std::string out;
  SUBCASE("RST_STREAM not 4 §6.4") {
    write_frame(out, FrameType::rst_stream, 0, 1, "123");
  }
  SUBCASE("PING not 8 §6.7") {
    write_frame(out, FrameType::ping, 0, 0, "1234567");
  }
  SUBCASE("WINDOW_UPDATE not 4 §6.9") {
    write_frame(out, FrameType::window_update, 0, 1, "12345");
  }
  SUBCASE("SETTINGS not a multiple of 6 §6.5") {
    write_frame(out, FrameType::settings, 0, 0, "1234567");
  }
  SUBCASE("SETTINGS ACK not empty §6.5") {
    write_frame(out, FrameType::settings, flag::ack, 0, "123456");
  }
  SUBCASE("GOAWAY under 8 §4.2") {
    write_frame(out, FrameType::goaway, 0, 0, "1234567");
  }
  SUBCASE("PADDED with no Pad Length §4.2") {
    write_frame(out, FrameType::data, flag::padded, 1, "");
  }
  SUBCASE("HEADERS too short for its priority fields §4.2") {
    write_frame(out, FrameType::headers, flag::priority, 1, "1234");
  }
  SUBCASE("PUSH_PROMISE too short for its promised stream id §4.2") {
    write_frame(out, FrameType::push_promise, 0, 1, "123");
  }
  check_connection_error(out, ErrorCode::frame_size_error);
}

TEST_CASE("PRIORITY of the wrong length is a stream error (RFC 9113 §6.3)") {
  std::string out;
  write_frame(out, FrameType::priority, 0, 5, "1234");
  write_ping(out, "12345678", false);
  Frame f;
  CHECK(parse_frame(std::string_view(out).substr(0, 9), kDefaultMaxFrameSize, f).status ==
        Status::need_more);
  ParseResult r = parse_error(out);
  CHECK(r.code == ErrorCode::frame_size_error);
  CHECK(r.scope == ErrorScope::stream);
  CHECK(r.stream_id == 5);
  CHECK(r.consumed == 9 + 4);
  // The connection goes on with the next frame.
  const std::string next = out.substr(r.consumed);
  CHECK(parse_whole(next).header.type == FrameType::ping);
}

TEST_CASE("RFC 7540 §5.3.1: PRIORITY whose stream depends on itself is a stream error") {
  std::string out;
  write_frame(out, FrameType::priority, 0, 5, hex("80 00 00 05 10"));
  ParseResult r = parse_error(out);
  CHECK(r.code == ErrorCode::protocol_error);
  CHECK(r.scope == ErrorScope::stream);
  CHECK(r.stream_id == 5);
  CHECK(r.consumed == 9 + 5);
  CHECK(r.reason.find("depends on itself") != std::string::npos);
}

TEST_CASE("padding as long as the payload: PROTOCOL_ERROR (RFC 9113 §6.1 §6.2 §6.6)") {
  SUBCASE("DATA: pad length 1 in a 1-byte payload") {
    check_connection_error(hex("00 00 01 00 08 00 00 00 01  01"),
                           ErrorCode::protocol_error);
  }
  SUBCASE("DATA: pad length 0 in a 1-byte payload is fine") {
    const std::string wire = hex("00 00 01 00 08 00 00 00 01  00");
    CHECK(parse_whole(wire).data.empty());
  }
  SUBCASE("HEADERS") {
    check_connection_error(hex("00 00 03 01 0c 00 00 00 01  05 82 00"),
                           ErrorCode::protocol_error);
  }
  SUBCASE("PUSH_PROMISE") {
    check_connection_error(hex("00 00 05 05 0c 00 00 00 01  05 00 00 00 02"),
                           ErrorCode::protocol_error);
  }
}

TEST_CASE("WINDOW_UPDATE of 0 (RFC 9113 §6.9)") {
  SUBCASE("on a stream: stream error") {
    std::string out;
    write_window_update(out, 3, 0);
    ParseResult r = parse_error(out);
    CHECK(r.code == ErrorCode::protocol_error);
    CHECK(r.scope == ErrorScope::stream);
    CHECK(r.stream_id == 3);
    CHECK(r.consumed == out.size());
  }
  SUBCASE("on the connection: connection error") {
    std::string out;
    write_window_update(out, 0, 0);
    check_connection_error(out, ErrorCode::protocol_error);
  }
  SUBCASE("the reserved bit is not part of the increment") {
    const std::string wire = hex("00 00 04 08 00 00 00 00 00  80 00 00 01");
    Frame f = parse_whole(wire);
    CHECK(f.window_size_increment == 1);
  }
}

TEST_CASE("SETTINGS values (RFC 9113 §6.5.2)") {
  auto settings = [](SettingId id, uint32_t value) {
    std::string out;
    write_settings(out, {{id, value}});
    return out;
  };
  check_connection_error(settings(SettingId::enable_push, 2), ErrorCode::protocol_error);
  check_connection_error(settings(SettingId::initial_window_size, 0x80000000),
                         ErrorCode::flow_control_error);
  check_connection_error(settings(SettingId::max_frame_size, 16383),
                         ErrorCode::protocol_error);
  check_connection_error(settings(SettingId::max_frame_size, 16777216),
                         ErrorCode::protocol_error);
  for (const std::string& ok :
       {settings(SettingId::enable_push, 1), settings(SettingId::max_frame_size, 16384),
        settings(static_cast<SettingId>(0xff), 0xffffffff)})
    CHECK(parse_whole(ok).settings.size() == 1);
}

TEST_CASE("unknown frame types are passed through (RFC 9113 §4.1, §5.5)") {
  std::string out;
  write_frame(out, static_cast<FrameType>(0xfa), 0xff, 0, "ext");
  Frame f = parse_whole(out);
  CHECK(static_cast<uint8_t>(f.header.type) == 0xfa);
  CHECK(f.payload == "ext");
  CHECK(describe(f) == "UNKNOWN(0xfa) stream=0 len=3 flags=0xff");
  CHECK(std::string(frame_type_name(f.header.type)) == "UNKNOWN");
}

TEST_CASE("client connection preface (RFC 9113 §3.4)") {
  const std::string preface =
      hex("50 52 49 20 2a 20 48 54 54 50 2f 32 2e 30 0d 0a"
          "0d 0a 53 4d 0d 0a 0d 0a");
  CHECK(preface == kConnectionPreface);
  for (size_t n = 0; n < preface.size(); ++n)
    CHECK(check_preface(preface.substr(0, n)).status == Status::need_more);
  ParseResult done = check_preface(preface + "\x00\x00");
  CHECK(done.status == Status::done);
  CHECK(done.consumed == 24);

  ParseResult http1 = check_preface("GET / HTTP/1.1\r\n");
  CHECK(http1.status == Status::error);
  CHECK(http1.code == ErrorCode::protocol_error);
  CHECK(http1.reason == "RFC 9113 §3.4: byte 0 differs from the connection preface");
  CHECK(check_preface("PRI * HTTP/1.1").status == Status::error);
}

TEST_CASE("describe() for --trace") {
  std::string out;
  write_headers(out, 1, std::string(38, '\x88'), true, true);
  CHECK(describe(parse_whole(out)) ==
        "HEADERS stream=1 len=38 flags=END_STREAM|END_HEADERS");
  out.clear();
  write_settings(out, {{SettingId::max_concurrent_streams, 100},
                       {SettingId::initial_window_size, 65535}});
  CHECK(describe(parse_whole(out)) ==
        "SETTINGS stream=0 len=12 SETTINGS_MAX_CONCURRENT_STREAMS=100 "
        "SETTINGS_INITIAL_WINDOW_SIZE=65535");
  out.clear();
  write_goaway(out, 3, ErrorCode::enhance_your_calm, "slow\n");
  CHECK(
      describe(parse_whole(out)) ==
      "GOAWAY stream=0 len=13 last_stream=3 code=ENHANCE_YOUR_CALM debug=\"slow\\x0a\"");
  out.clear();
  write_ping(out, hex("00 01 02 03 04 05 06 ff"), true);
  CHECK(describe(parse_whole(out)) ==
        "PING stream=0 len=8 flags=ACK opaque=00010203040506ff");
  out.clear();
  write_rst_stream(out, 1, static_cast<ErrorCode>(0x42));
  CHECK(describe(parse_whole(out)) == "RST_STREAM stream=1 len=4 code=UNKNOWN(0x42)");
  CHECK(std::string(error_name(ErrorCode::http_1_1_required)) == "HTTP_1_1_REQUIRED");
  CHECK(std::string(setting_name(SettingId::max_frame_size)) ==
        "SETTINGS_MAX_FRAME_SIZE");
}

TEST_SUITE_END();
