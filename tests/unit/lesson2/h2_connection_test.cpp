// The HTTP/2 connection (RFC 9113 §5, §6.9, §8.4) driven through memory: a test
// plays the client, writing frames with frame.h and field blocks with hpack.h,
// and reads back what the server connection sends.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "02-http2-push/connection.h"

using namespace h2;

namespace {

struct OwnedFrame {
  FrameHeader header;
  std::string payload;
  Frame frame;  // views into payload
};

// The client side of one connection.
struct Client {
  std::string from_server;  // everything the server sent, not yet read
  std::vector<Request> requests;
  std::vector<uint32_t> gone;
  bool close_asked = false;
  hpack::Encoder encoder;
  hpack::Decoder decoder;
  Connection server;

  explicit Client(Limits limits = {})
      : server(1, limits,
               Callbacks{[this](std::string_view b) { from_server += b; },
                         [this](const Request& r) { requests.push_back(r); },
                         [this](uint32_t id) { gone.push_back(id); },
                         [this] { close_asked = true; }}) {
    server.start();
  }

  // Feeds bytes the way a socket might: all at once, or one byte at a time.
  void send(const std::string& bytes, bool byte_by_byte = false) {
    if (!byte_by_byte) {
      CHECK(server.on_input(bytes) == bytes.size());
      return;
    }
    std::string pending;
    for (char c : bytes) {
      pending += c;
      pending.erase(0, server.on_input(pending));
    }
    CHECK(pending.empty());
  }
  void hello(std::vector<Setting> settings = {}) {
    std::string out(kConnectionPreface);
    write_settings(out, settings);
    send(out);
  }
  std::string request(uint32_t id, const std::string& method, const std::string& path,
                      bool end_stream = true, hpack::HeaderList extra = {}) {
    hpack::HeaderList fields = {{":method", method},
                                {":scheme", "https"},
                                {":authority", "localhost"},
                                {":path", path}};
    for (auto& h : extra)
      fields.push_back(h);
    std::string out;
    write_headers_block(out, id, encoder.encode(fields), end_stream, 16384);
    return out;
  }

  // Every whole frame the server sent since the last call.
  std::vector<OwnedFrame> frames() {
    std::vector<OwnedFrame> out;
    // Each frame's views point into its own payload string, which must not move.
    out.reserve(1024);
    Frame f;
    for (;;) {
      ParseResult r = parse_frame(from_server, kLargestMaxFrameSize, f);
      if (r.status != Status::done) break;
      REQUIRE(out.size() < out.capacity());
      OwnedFrame& o = out.emplace_back();
      o.header = f.header;
      o.payload = from_server.substr(0, r.consumed);
      parse_frame(o.payload, kLargestMaxFrameSize, o.frame);
      from_server.erase(0, r.consumed);
    }
    return out;
  }
  std::string data_on(const std::vector<OwnedFrame>& fs, uint32_t stream) {
    std::string s;
    for (const auto& f : fs)
      if (f.header.type == FrameType::data && f.header.stream_id == stream)
        s += f.frame.data;
    return s;
  }
};

size_t count(const std::vector<OwnedFrame>& fs, FrameType type) {
  size_t n = 0;
  for (const auto& f : fs)
    n += f.header.type == type;
  return n;
}

const OwnedFrame* find(const std::vector<OwnedFrame>& fs, FrameType type) {
  for (const auto& f : fs)
    if (f.header.type == type) return &f;
  return nullptr;
}

}  // namespace

TEST_SUITE_BEGIN("h2 connection");

TEST_CASE("preface: our SETTINGS first, then ACK of theirs (RFC 9113 §3.4, §6.5.3)") {
  Client c;
  auto fs = c.frames();
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].header.type == FrameType::settings);
  CHECK(fs[0].frame.settings.size() == 3);
  c.hello();
  fs = c.frames();
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].header.type == FrameType::settings);
  CHECK(fs[0].frame.has(flag::ack));
}

TEST_CASE("a request fed one byte at a time, with HEADERS + CONTINUATION") {
  Client c;
  c.hello();
  c.frames();
  hpack::HeaderList fields = {{":method", "POST"},
                              {":scheme", "http"},
                              {":authority", "x"},
                              {":path", "/messages"},
                              {"content-type", "application/json"},
                              {"x-long", std::string(3000, 'q')}};
  std::string out;
  // A tiny frame size forces the block over several CONTINUATION frames.
  write_headers_block(out, 1, c.encoder.encode(fields), false, 100);
  write_data(out, 1, "{\"user\":\"a\",", false);
  write_data(out, 1, "\"text\":\"b\"}", true);
  c.send(out, true);
  REQUIRE(c.requests.size() == 1);
  const Request& r = c.requests[0];
  CHECK(r.method == "POST");
  CHECK(r.path == "/messages");
  CHECK(r.scheme == "http");
  CHECK(*r.header("content-type") == "application/json");
  CHECK(r.header("x-long")->size() == 3000);
  CHECK(r.body == "{\"user\":\"a\",\"text\":\"b\"}");
}

TEST_CASE("respond: HEADERS then DATA with END_STREAM, and the stream closes") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/"));
  c.frames();
  c.server.respond(1, 200, {{"content-type", "text/plain"}}, "hello");
  auto fs = c.frames();
  REQUIRE(fs.size() == 2);
  CHECK(fs[0].header.type == FrameType::headers);
  hpack::HeaderList got;
  CHECK(c.decoder.decode(fs[0].frame.field_block_fragment, got).empty());
  REQUIRE(got.size() == 3);
  CHECK(got[0].name == ":status");
  CHECK(got[0].value == "200");
  CHECK(got[2].name == "content-length");
  CHECK(fs[1].frame.data == "hello");
  CHECK(fs[1].frame.has(flag::end_stream));
  CHECK(!c.server.stream_open(1));
}

TEST_CASE(
    "flow control: never past the stream window; WINDOW_UPDATE and SETTINGS reopen it "
    "(RFC 9113 §6.9.1, §6.9.2)") {
  Client c;
  c.hello({{SettingId::initial_window_size, 10}});
  c.send(c.request(1, "GET", "/"));
  c.frames();
  c.server.respond(1, 200, {}, std::string(25, 'x'));
  auto fs = c.frames();
  CHECK(c.data_on(fs, 1).size() == 10);
  std::string out;
  write_window_update(out, 1, 10);
  c.send(out);
  fs = c.frames();
  CHECK(c.data_on(fs, 1).size() == 10);
  // A larger SETTINGS_INITIAL_WINDOW_SIZE adds the difference to every stream.
  out.clear();
  write_settings(out, {{SettingId::initial_window_size, 20}});
  c.send(out);
  fs = c.frames();
  CHECK(c.data_on(fs, 1).size() == 5);
  REQUIRE(count(fs, FrameType::data) == 1);
  CHECK(!c.server.stream_open(1));
}

TEST_CASE("flow control: the connection window (65535) and the peer's frame size") {
  Client c;
  c.hello({{SettingId::initial_window_size, 1 << 20}});
  c.send(c.request(1, "GET", "/"));
  c.frames();
  c.server.respond(1, 200, {}, std::string(70000, 'x'));
  auto fs = c.frames();
  CHECK(c.data_on(fs, 1).size() == 65535);
  for (const auto& f : fs)
    CHECK(f.header.length <= kDefaultMaxFrameSize);
  std::string out;
  write_window_update(out, 0, 10000);
  c.send(out);
  fs = c.frames();
  CHECK(c.data_on(fs, 1).size() == 70000 - 65535);
}

TEST_CASE("we open the connection window as we consume DATA (RFC 9113 §6.9)") {
  Client c;
  c.hello();
  c.send(c.request(1, "POST", "/messages", false));
  c.frames();
  std::string out;
  write_data(out, 1, std::string(16384, 'a'), false);
  write_data(out, 1, std::string(16384, 'a'), false);
  c.send(out);
  auto fs = c.frames();
  const OwnedFrame* w = find(fs, FrameType::window_update);
  REQUIRE(w);
  CHECK(w->header.stream_id == 0);
  CHECK(w->frame.window_size_increment == 32768);
}

TEST_CASE("server push: PUSH_PROMISE on the request's stream, even promised ids (§8.4)") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/"));
  REQUIRE(c.requests.size() == 1);
  c.frames();
  CHECK(c.server.push(c.requests[0], "/style.css", 200, {{"content-type", "text/css"}},
                      "body{}") == 2);
  CHECK(c.server.push(c.requests[0], "/chat.js", 200, {}, "1") == 4);
  c.server.respond(1, 200, {}, "<html>");
  auto fs = c.frames();
  REQUIRE(fs.size() >= 3);
  CHECK(fs[0].header.type == FrameType::push_promise);
  CHECK(fs[0].header.stream_id == 1);
  CHECK(fs[0].frame.promised_stream_id == 2);
  hpack::HeaderList promised;
  CHECK(c.decoder.decode(fs[0].frame.field_block_fragment, promised).empty());
  CHECK(promised[3].value == "/style.css");
  CHECK(c.data_on(fs, 2) == "body{}");
  CHECK(c.data_on(fs, 4) == "1");
  CHECK(c.data_on(fs, 1) == "<html>");
}

TEST_CASE("no push when the client sends SETTINGS_ENABLE_PUSH = 0") {
  Client c;
  c.hello({{SettingId::enable_push, 0}});
  c.send(c.request(1, "GET", "/"));
  CHECK(c.server.push(c.requests[0], "/style.css", 200, {}, "x") == 0);
}

TEST_CASE("a stream reset by the client is gone; its DATA is dropped") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/messages"));
  c.server.start_response(1, 200, {});
  std::string out;
  write_rst_stream(out, 1, ErrorCode::cancel);
  c.send(out);
  CHECK(c.gone == std::vector<uint32_t>{1});
  c.frames();
  c.server.send_data(1, "late", false);
  CHECK(c.frames().empty());
}

TEST_CASE("a reader that never opens its window is cut off at max_unsent") {
  Limits limits;
  limits.max_unsent = 1000;
  Client c(limits);
  c.hello({{SettingId::initial_window_size, 0}});
  c.send(c.request(1, "GET", "/messages"));
  c.server.start_response(1, 200, {});
  for (int i = 0; i < 20; ++i)
    c.server.send_data(1, std::string(100, 'x'), false);
  auto fs = c.frames();
  const OwnedFrame* r = find(fs, FrameType::rst_stream);
  REQUIRE(r);
  CHECK(r->frame.error_code == ErrorCode::cancel);
  CHECK(c.gone == std::vector<uint32_t>{1});
}

TEST_CASE("shutdown: GOAWAY NO_ERROR with the last stream, open responses ended") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/messages"));
  c.send(c.request(3, "GET", "/messages"));
  c.server.start_response(1, 200, {});
  c.server.start_response(3, 200, {});
  c.frames();
  c.server.shutdown();
  auto fs = c.frames();
  const OwnedFrame* g = find(fs, FrameType::goaway);
  REQUIRE(g);
  CHECK(g->frame.error_code == ErrorCode::no_error);
  CHECK(g->frame.last_stream_id == 3);
  size_t ends = 0;
  for (const auto& f : fs)
    ends += f.header.type == FrameType::data && f.frame.has(flag::end_stream);
  CHECK(ends == 2);
}

TEST_CASE("a connection error: GOAWAY with the code, close asked, streams gone") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/messages"));
  c.server.start_response(1, 200, {});
  c.frames();
  std::string out;
  write_headers(out, 2, "\x82", true, true);  // an even stream id (§5.1.1)
  c.send(out);
  auto fs = c.frames();
  const OwnedFrame* g = find(fs, FrameType::goaway);
  REQUIRE(g);
  CHECK(g->frame.error_code == ErrorCode::protocol_error);
  CHECK(g->frame.last_stream_id == 1);
  CHECK(c.close_asked);
  CHECK(c.gone == std::vector<uint32_t>{1});
}

TEST_CASE("request validation (RFC 9113 §8.2, §8.3)") {
  auto check = [](hpack::HeaderList fields) {
    Request r;
    return read_request(fields, r);
  };
  const hpack::HeaderList ok = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}};
  CHECK(check(ok).empty());
  auto with = [&](hpack::Header h) {
    auto f = ok;
    f.push_back(h);
    return check(f);
  };
  CHECK(with({":path", "/x"}).find("§8.3.1") != std::string::npos);  // twice
  CHECK(with({":status", "200"}).find("§8.3") != std::string::npos);  // response's
  CHECK(with({"Host", "a"}).find("§8.2.1") != std::string::npos);  // uppercase
  CHECK(with({"x", "a\r\nb"}).find("§8.2.1") != std::string::npos);
  CHECK(with({"x", " a"}).find("§8.2.1") != std::string::npos);
  CHECK(with({"connection", "close"}).find("§8.2.2") != std::string::npos);
  CHECK(with({"te", "gzip"}).find("§8.2.2") != std::string::npos);
  CHECK(with({"te", "trailers"}).empty());
  CHECK(check({{"x", "1"}, {":method", "GET"}}).find("§8.3") != std::string::npos);
  CHECK(check({{":method", "GET"}, {":scheme", "https"}}).find("§8.3.1") !=
        std::string::npos);
  CHECK(
      check({{":method", "GET"}, {":scheme", "https"}, {":path", "x"}}).find("§8.3.1") !=
      std::string::npos);
}

TEST_SUITE_END();
