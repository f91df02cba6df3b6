// The HTTP/2 connection (RFC 9113 §5, §6.9, §8.4) driven through memory: a test
// plays the client, writing frames with frame.h and field blocks with hpack.h,
// and reads back what the server connection sends.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "02-http2-push/connection.h"
#include "common/loop.h"

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
  size_t by_reference = 0;  // bytes the server handed over as shared slices
  hpack::Encoder encoder;
  hpack::Decoder decoder;
  Connection server;

  explicit Client(Limits limits = {})
      : server(1, limits,
               Callbacks{[this](std::string_view b) { from_server += b; },
                         [this](const Request& r) { requests.push_back(r); },
                         [this](uint32_t id) { gone.push_back(id); },
                         [this] { close_asked = true; },
                         [this](const net::SharedSlice& b) {
                           from_server += b.view();
                           by_reference += b.size;
                         }}) {
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

TEST_CASE(
    "a shared body goes by reference, split by the windows and the frame size "
    "(RFC 9113 §6.9.1, §4.2)") {
  Client c;
  c.hello({{SettingId::initial_window_size, 1 << 20}});
  c.send(c.request(1, "GET", "/"));
  c.frames();
  std::string file(70000, 'x');
  for (size_t i = 0; i < file.size(); ++i)
    file[i] = static_cast<char>('a' + i % 26);
  auto chunk = std::make_shared<const std::string>(file);
  c.server.respond(1, 200, {}, net::SharedSlice{chunk, 0, chunk->size()});
  auto fs = c.frames();
  // Only the frame headers were copied; the connection window stops it at 65535.
  CHECK(c.by_reference == 65535);
  std::string got = c.data_on(fs, 1);
  for (const auto& f : fs)
    CHECK(f.header.length <= kDefaultMaxFrameSize);
  CHECK(!find(fs, FrameType::data)->frame.has(flag::end_stream));
  std::string out;
  write_window_update(out, 0, 10000);
  c.send(out);
  fs = c.frames();
  got += c.data_on(fs, 1);
  CHECK(got == file);
  CHECK(c.by_reference == file.size());
  REQUIRE(!fs.empty());
  CHECK(fs.back().frame.has(flag::end_stream));
  CHECK(!c.server.stream_open(1));
}

TEST_CASE("a shared body waiting for window, then more DATA: both arrive, in order") {
  Client c;
  c.hello({{SettingId::initial_window_size, 10}});
  c.send(c.request(1, "GET", "/"));
  c.frames();
  auto chunk = std::make_shared<const std::string>("0123456789abcdefghij");
  c.server.start_response(1, 200, {});
  c.server.send_data(1, net::SharedSlice{chunk, 0, chunk->size()}, false);
  c.server.send_data(1, "KLMN", true);
  auto fs = c.frames();
  std::string got = c.data_on(fs, 1);
  CHECK(got == "0123456789");
  std::string out;
  write_window_update(out, 1, 100);
  c.send(out);
  fs = c.frames();
  got += c.data_on(fs, 1);
  CHECK(got == "0123456789abcdefghijKLMN");
  // Short pieces (a chat line) are copied beside their frame header instead.
  CHECK(c.by_reference == 0);
  CHECK(!c.server.stream_open(1));
}

TEST_CASE("without send_shared (TLS), a shared body goes through send, one frame each") {
  Client c;
  c.server =
      Connection(1, {},
                 Callbacks{[&c](std::string_view b) { c.from_server += b; },
                           [](const Request&) {}, [](uint32_t) {}, [] {}, nullptr});
  c.server.start();
  c.hello();
  c.frames();
  c.send(c.request(1, "GET", "/"));
  auto chunk = std::make_shared<const std::string>("body{}");
  c.server.respond(1, 200, {{"content-type", "text/css"}},
                   net::SharedSlice{chunk, 0, chunk->size()});
  auto fs = c.frames();
  REQUIRE(count(fs, FrameType::data) == 1);
  CHECK(find(fs, FrameType::data)->frame.data == "body{}");
  CHECK(c.by_reference == 0);
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
  // The promises are out before the parent's response...
  auto promises = c.frames();
  REQUIRE(promises.size() == 2);
  CHECK(promises[1].header.type == FrameType::push_promise);
  c.server.respond(1, 200, {}, "<html>");
  auto fs = c.frames();
  // ... and the parent's HEADERS before the pushed responses' (h2spec, §8.4).
  REQUIRE(fs.size() >= 3);
  CHECK(fs[0].header.type == FrameType::headers);
  CHECK(fs[0].header.stream_id == 1);
  CHECK(fs[1].header.type == FrameType::headers);
  CHECK(fs[1].header.stream_id == 2);
  CHECK(promises[0].header.type == FrameType::push_promise);
  CHECK(promises[0].header.stream_id == 1);
  CHECK(promises[0].frame.promised_stream_id == 2);
  hpack::HeaderList promised;
  CHECK(c.decoder.decode(promises[0].frame.field_block_fragment, promised).empty());
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

TEST_CASE(
    "RFC 9113 §6.8: graceful shutdown in two steps: GOAWAY 2^31-1 and a PING, then, "
    "after the ACK, GOAWAY with the last stream, open responses ended") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/messages"));
  c.server.start_response(1, 200, {});
  c.frames();
  c.server.shutdown();
  auto fs = c.frames();
  REQUIRE(fs.size() == 2);
  CHECK(fs[0].header.type == FrameType::goaway);
  CHECK(fs[0].frame.error_code == ErrorCode::no_error);
  CHECK(fs[0].frame.last_stream_id == kMaxStreamId);
  CHECK(fs[1].header.type == FrameType::ping);
  CHECK(!fs[1].frame.has(flag::ack));
  CHECK(!c.server.shut_down());
  // A request that was on its way is still served.
  c.send(c.request(3, "GET", "/messages"));
  REQUIRE(c.requests.size() == 2);
  c.server.start_response(3, 200, {});
  std::string out;
  write_ping(out, fs[1].frame.opaque_data, true);
  c.send(out);
  CHECK(c.server.shut_down());
  fs = c.frames();
  const OwnedFrame* g = find(fs, FrameType::goaway);
  REQUIRE(g);
  CHECK(g->frame.error_code == ErrorCode::no_error);
  CHECK(g->frame.last_stream_id == 3);
  // After it, a new stream is ignored.
  c.send(c.request(5, "GET", "/"));
  CHECK(c.requests.size() == 2);
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

TEST_CASE("RFC 9113 §8.2.1: every byte value, in a field name and in a field value") {
  const hpack::HeaderList ok = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}};
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CAPTURE(b);
    auto f = ok;
    f.push_back({std::string("a") + c + "b", "v"});
    Request r;
    const std::string name_error = read_request(f, r);
    // The rule as §8.2.1 states it: no 0x00-0x20, 0x41-0x5a, 0x7f-0xff, no colon.
    const bool name_ok = b > 0x20 && b < 0x7f && !(b >= 'A' && b <= 'Z') && b != ':';
    CHECK(name_error.empty() == name_ok);
    if (b >= 'A' && b <= 'Z') CHECK(name_error.find("uppercase") != std::string::npos);
    f.back() = {"x", std::string("a") + c + "b"};
    Request r2;
    const std::string value_error = read_request(f, r2);
    CHECK(value_error.empty() == (b != 0 && b != '\r' && b != '\n'));
    // The same bytes in a pseudo-header's value (:path) and after its colon.
    auto p = ok;
    p[3].value = std::string("/a") + c + "b";
    Request r3;
    CHECK(read_request(p, r3).empty() == (b != 0 && b != '\r' && b != '\n'));
  }
}

TEST_CASE(
    "RFC 9113 §6.8: finish_shutdown() without the PING's ACK sends the last GOAWAY") {
  Client c;
  c.hello();
  c.send(c.request(1, "GET", "/"));
  c.server.shutdown();
  c.server.finish_shutdown();
  auto fs = c.frames();
  REQUIRE(count(fs, FrameType::goaway) == 2);
  CHECK(fs.back().frame.last_stream_id == 1);
}

// A POST whose body is `size` octets in 16384-octet DATA frames, END_STREAM on the
// last; every WINDOW_UPDATE the server sends is applied before the next frame,
// as a real client's flow control would.
static std::vector<OwnedFrame> post_body(Client& c, uint32_t id, size_t size,
                                         hpack::HeaderList extra = {}) {
  extra.insert(extra.begin(), {"content-type", "application/json"});
  c.send(c.request(id, "POST", "/messages", false, extra));
  int64_t stream_window = 65535, conn_window = 65535;
  std::vector<OwnedFrame> all;
  for (size_t sent = 0; sent < size && c.server.stream_open(id);) {
    const size_t n = std::min<size_t>(
        {16384, size - sent, size_t(stream_window), size_t(conn_window)});
    REQUIRE(n > 0);
    std::string out;
    write_data(out, id, std::string(n, ' '), sent + n == size);
    c.send(out);
    sent += n;
    stream_window -= n;
    conn_window -= n;
    for (auto& f : c.frames()) {
      if (f.header.type == FrameType::window_update)
        (f.header.stream_id ? stream_window : conn_window) +=
            f.frame.window_size_increment;
      all.push_back(std::move(f));
    }
  }
  return all;
}

static int status_of(Client& c, const std::vector<OwnedFrame>& fs, uint32_t id) {
  for (const auto& f : fs)
    if (f.header.type == FrameType::headers && f.header.stream_id == id) {
      hpack::HeaderList got;
      if (!c.decoder.decode(f.frame.field_block_fragment, got).empty()) return -1;
      return std::stoi(got[0].value);
    }
  return 0;
}

TEST_CASE(
    "RFC 9113 §6.9: the stream window is given back, so a body of max_body arrives") {
  Client c;
  c.hello();
  c.frames();
  Limits limits;
  REQUIRE(limits.max_body > 65535);
  auto fs = post_body(c, 1, limits.max_body);
  REQUIRE(c.requests.size() == 1);
  CHECK(c.requests[0].body.size() == limits.max_body);
  size_t stream_updates = 0;
  for (const auto& f : fs)
    stream_updates +=
        f.header.type == FrameType::window_update && f.header.stream_id == 1;
  CHECK(stream_updates >= 1);
}

TEST_CASE("RFC 9110 §15.5.14: 413 once the body passes max_body; the rest is dropped") {
  Client c;
  c.hello();
  c.frames();
  auto fs = post_body(c, 1, 70000);
  CHECK(status_of(c, fs, 1) == 413);
  CHECK(c.requests.empty());
  CHECK(count(fs, FrameType::rst_stream) == 0);
  CHECK(!c.server.stream_open(1));  // END_STREAM came: closed, nothing kept
}

TEST_CASE("RFC 9110 §15.5.14: 413 at once for a content-length over max_body") {
  Client c;
  c.hello();
  c.frames();
  c.send(c.request(1, "POST", "/messages", false, {{"content-length", "70000"}}));
  auto fs = c.frames();
  CHECK(status_of(c, fs, 1) == 413);
  // RFC 9110 §8.6: a content-length that is not 1*DIGIT is malformed.
  c.send(c.request(3, "POST", "/messages", false, {{"content-length", "7e4"}}));
  fs = c.frames();
  const OwnedFrame* r = find(fs, FrameType::rst_stream);
  REQUIRE(r);
  CHECK(r->frame.error_code == ErrorCode::protocol_error);
}

TEST_CASE(
    "RFC 9110 §15.5.9: a request not complete within body_timeout_ms: 408, RST_STREAM, "
    "nothing kept (memory bounded)") {
  Limits limits;
  limits.body_timeout_ms = 1000;
  Client c(limits);
  c.hello();
  for (uint32_t id = 1; id < 200; id += 2) {
    c.send(c.request(id, "POST", "/messages", false));
    std::string out;
    write_data(out, id, std::string(600, ' '), false);
    c.send(out);
  }
  c.frames();
  c.server.expire_requests(loop::Loop::now_ms());  // not yet
  CHECK(c.frames().empty());
  c.server.expire_requests(loop::Loop::now_ms() + 1000);
  auto fs = c.frames();
  CHECK(count(fs, FrameType::rst_stream) == 100);
  CHECK(status_of(c, fs, 1) == 408);
  for (uint32_t id = 1; id < 200; id += 2)
    CHECK(!c.server.stream_open(id));
  CHECK(c.requests.empty());
}

TEST_CASE(
    "RFC 9113 §5.1: frames on a stream we reset are ignored; DATA still counts against "
    "the connection window (§6.9)") {
  Client c;
  c.hello();
  c.frames();
  // RFC 9113 §8.2.1: an uppercase field name: RST_STREAM PROTOCOL_ERROR.
  c.send(c.request(1, "POST", "/messages", false, {{"X-Upper", "a"}}));
  auto fs = c.frames();
  REQUIRE(count(fs, FrameType::rst_stream) == 1);
  std::string out;
  for (int i = 0; i < 4; ++i)
    write_data(out, 1, std::string(16000, ' '), false);
  hpack::HeaderList trailers = {{"x-trailer", "late"}};
  write_headers_block(out, 1, c.encoder.encode(trailers), true, 16384);
  write_window_update(out, 1, 0);  // a stream error, but on a stream we reset
  c.send(out);
  fs = c.frames();
  CHECK(count(fs, FrameType::rst_stream) == 0);
  CHECK(count(fs, FrameType::goaway) == 0);
  uint32_t given = 0;
  for (const auto& f : fs)
    if (f.header.type == FrameType::window_update && f.header.stream_id == 0)
      given += f.frame.window_size_increment;
  CHECK(given >= 32768);
  // The HPACK table followed the ignored trailers: the next request decodes.
  c.send(c.request(3, "GET", "/"));
  CHECK(c.requests.size() == 1);
}

TEST_CASE("RFC 9113 §5.1: the record of reset streams keeps reset_streams_remembered") {
  Limits limits;
  limits.reset_streams_remembered = 2;
  limits.flood_limit = 1000;
  Client c(limits);
  c.hello();
  for (uint32_t id : {1, 3, 5})
    c.send(c.request(id, "POST", "/messages", false, {{"X-Upper", "a"}}));
  c.frames();
  std::string out;
  write_data(out, 5, "x", false);  // remembered: ignored
  write_data(out, 1, "x", false);  // forgotten: a closed stream, STREAM_CLOSED
  c.send(out);
  auto fs = c.frames();
  REQUIRE(count(fs, FrameType::rst_stream) == 1);
  const OwnedFrame* r = find(fs, FrameType::rst_stream);
  CHECK(r->header.stream_id == 1);
  CHECK(r->frame.error_code == ErrorCode::stream_closed);
}

TEST_CASE(
    "RFC 9113 §5.1, §6.4: WINDOW_UPDATE of 0 on an idle stream is a connection error") {
  Client c;
  c.hello();
  c.frames();
  std::string out;
  write_window_update(out, 7, 0);
  c.send(out);
  auto fs = c.frames();
  CHECK(count(fs, FrameType::rst_stream) == 0);
  const OwnedFrame* g = find(fs, FrameType::goaway);
  REQUIRE(g);
  CHECK(g->frame.error_code == ErrorCode::protocol_error);
  CHECK(c.close_asked);
}

TEST_CASE(
    "RFC 7540 §5.3.1: HEADERS or PRIORITY depending on its own stream: PROTOCOL_ERROR") {
  Client c;
  c.hello();
  c.frames();
  hpack::HeaderList fields = {
      {":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}};
  // Exclusive bit clear, dependency 1, weight 16, then the field block.
  std::string payload = std::string("\0\0\0\1\x10", 5) + c.encoder.encode(fields);
  std::string out;
  write_frame(out, FrameType::headers,
              flag::end_headers | flag::end_stream | flag::priority, 1, payload);
  c.send(out);
  auto fs = c.frames();
  const OwnedFrame* r = find(fs, FrameType::rst_stream);
  REQUIRE(r);
  CHECK(r->frame.error_code == ErrorCode::protocol_error);
  CHECK(c.requests.empty());
  // PRIORITY on an open stream.
  c.send(c.request(3, "POST", "/messages", false));
  out.clear();
  write_frame(out, FrameType::priority, 0, 3, std::string("\0\0\0\3\x10", 5));
  c.send(out);
  fs = c.frames();
  r = find(fs, FrameType::rst_stream);
  REQUIRE(r);
  CHECK(r->header.stream_id == 3);
  CHECK(count(fs, FrameType::goaway) == 0);
  // The HPACK table stayed in step.
  c.send(c.request(5, "GET", "/"));
  CHECK(c.requests.size() == 1);
}

TEST_CASE("RFC 9110 §9.3.2: HEAD: the GET's fields, END_STREAM on HEADERS, no DATA") {
  Client c;
  c.hello();
  c.send(c.request(1, "HEAD", "/style.css"));
  c.send(c.request(3, "HEAD", "/messages"));
  c.frames();
  c.server.respond(1, 200, {{"content-type", "text/css"}}, "body{}");
  c.server.start_response(3, 200, {{"content-type", "application/x-ndjson"}});
  c.server.send_data(3, "{}\n", false);
  auto fs = c.frames();
  REQUIRE(fs.size() == 2);
  for (const auto& f : fs) {
    CHECK(f.header.type == FrameType::headers);
    CHECK(f.frame.has(flag::end_stream));
  }
  hpack::HeaderList got;
  CHECK(c.decoder.decode(fs[0].frame.field_block_fragment, got).empty());
  CHECK(got.back().name == "content-length");
  CHECK(got.back().value == "6");
  CHECK(!c.server.stream_open(1));
  CHECK(!c.server.stream_open(3));
}

TEST_SUITE_END();
