// The HTTP/2 client (lesson 02), cleartext with prior knowledge (RFC 9113 §3.3):
// one GET /messages stream that never ends (one JSON message per line, each in
// a DATA frame), and each post a POST on a new stream of the same connection.
//
// Only as much HTTP/2 as that takes, written out here: requests are HPACK
// literals that never touch the dynamic table (so the server's header blocks
// need not be decoded: only the streams' ends and the DATA matter), and flow
// control windows are opened wide and topped up as data is read.
#include <cstring>
#include <string>
#include <unordered_set>

#include "client.h"

namespace bench {

namespace {

// RFC 9113 §6: frame types.
enum : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8
};
enum : uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };

void frame(std::string& out, uint8_t type, uint8_t flags, uint32_t stream,
           std::string_view payload) {
  // RFC 9113 §4.1: length (24), type (8), flags (8), R + stream identifier (31).
  size_t n = payload.size();
  char h[9] = {static_cast<char>(n >> 16),
               static_cast<char>(n >> 8),
               static_cast<char>(n),
               static_cast<char>(type),
               static_cast<char>(flags),
               static_cast<char>(stream >> 24),
               static_cast<char>(stream >> 16),
               static_cast<char>(stream >> 8),
               static_cast<char>(stream)};
  out.append(h, 9);
  out.append(payload);
}

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
          static_cast<char>(v >> 8), static_cast<char>(v)};
}

// RFC 7541 §6.2.2: literal header field without indexing, name from the static
// table (index < 15 fits the 4-bit prefix), value a plain string (< 127 bytes).
void literal(std::string& block, uint8_t name_index, std::string_view value) {
  block += static_cast<char>(name_index);
  block += static_cast<char>(value.size());
  block += value;
}

// RFC 7541 §6.2.2 with a name index of 15 or more: 0x0F, then index - 15.
void literal_big(std::string& block, uint8_t name_index, std::string_view value) {
  block += static_cast<char>(0x0F);
  block += static_cast<char>(name_index - 15);
  block += static_cast<char>(value.size());
  block += value;
}

constexpr uint32_t kWindow = 1u << 30;

class H2Client : public Client {
 public:
  using Client::Client;

  void start() override {
    conn_ = connect([this](std::string_view in) { return on_input(in); });
    if (!conn_) return;
    std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";  // RFC 9113 §3.4
    // RFC 9113 §6.5.2: ENABLE_PUSH (0x2) = 0, INITIAL_WINDOW_SIZE (0x4) = 2^30.
    std::string settings =
        std::string("\x00\x02", 2) + u32(0) + std::string("\x00\x04", 2) + u32(kWindow);
    frame(out, kSettings, 0, 0, settings);
    frame(out, kWindowUpdate, 0, 0, u32(kWindow - 65535));  // the connection's window
    // RFC 7541 Appendix A: 2 = :method GET, 6 = :scheme http, 4 = :path, 1 = :authority.
    std::string block = "\x82\x86";
    literal(block, 4, "/messages");
    literal(block, 1, "127.0.0.1");
    frame(out, kHeaders, kEndStream | kEndHeaders, 1, block);
    conn_->send(out);
  }

  void post(std::string text) override {
    if (dead_) return;
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) send_post();
  }

 private:
  void send_post() {
    std::string body =
        "{\"user\":\"" + env_.user + "\",\"text\":\"" + queue_.front() + "\"}";
    uint32_t stream = next_stream_;
    next_stream_ += 2;  // RFC 9113 §5.1.1: client streams are odd and increase
    posting_ = stream;
    // 3 = :method POST; 31 = content-type, 28 = content-length.
    std::string block = "\x83\x86";
    literal(block, 4, "/messages");
    literal(block, 1, "127.0.0.1");
    literal_big(block, 31, "application/json");
    literal_big(block, 28, std::to_string(body.size()));
    std::string out;
    frame(out, kHeaders, kEndHeaders, stream, block);
    frame(out, kData, kEndStream, stream, body);
    conn_->send(out);
  }

  size_t on_input(std::string_view in) {
    size_t used = 0;
    while (!dead_ && in.size() - used >= 9) {
      auto b = [&](size_t i) { return static_cast<uint8_t>(in[used + i]); };
      size_t length = (size_t(b(0)) << 16) | (size_t(b(1)) << 8) | b(2);
      uint8_t type = b(3), flags = b(4);
      uint32_t stream = ((uint32_t(b(5)) << 24) | (uint32_t(b(6)) << 16) |
                         (uint32_t(b(7)) << 8) | b(8)) &
                        0x7fffffff;
      if (in.size() - used < 9 + length) break;
      std::string_view payload = in.substr(used + 9, length);
      used += 9 + length;
      on_frame(type, flags, stream, payload);
    }
    return used;
  }

  void on_frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
    std::string out;
    switch (type) {
      case kData:
        consumed_ += payload.size();
        if (stream == 1) on_lines(payload);
        if (stream == posting_ && (flags & kEndStream)) post_done();
        // RFC 9113 §6.9: give back what was read, before the windows run dry.
        if (consumed_ >= (1u << 20)) {
          frame(out, kWindowUpdate, 0, 0, u32(static_cast<uint32_t>(consumed_)));
          frame(out, kWindowUpdate, 0, 1, u32(static_cast<uint32_t>(consumed_)));
          consumed_ = 0;
        }
        break;
      case kHeaders:
        if (stream == 1) {
          // 0x88 is :status 200 from the static table (RFC 7541 Appendix A, 8).
          if (payload.empty() || static_cast<uint8_t>(payload[0]) != 0x88)
            return fail("GET /messages: the answer is not 200");
          if (!subscribed_) {
            subscribed_ = true;
            env_.sink.ready(*this);
          }
        } else if (stream == posting_ && (flags & kEndStream)) {
          post_done();
        }
        break;
      case kSettings:
        if (!(flags & kAck)) frame(out, kSettings, kAck, 0, "");
        break;
      case kPing:
        if (!(flags & kAck)) frame(out, kPing, kAck, 0, payload);
        break;
      case kRstStream:
        return fail("RST_STREAM on stream " + std::to_string(stream));
      case kGoaway:
        return fail("GOAWAY");
      default:
        break;
    }
    if (!out.empty()) conn_->send(out);
  }

  // The stream's body is lines of JSON; a line may be split across DATA frames.
  void on_lines(std::string_view data) {
    if (!partial_.empty()) {
      partial_.append(data);
      std::string whole = std::move(partial_);
      partial_.clear();
      return split(whole);
    }
    split(data);
  }

  void split(std::string_view data) {
    size_t start = 0;
    for (;;) {
      size_t nl = data.find('\n', start);
      if (nl == std::string_view::npos) break;
      each_message(data.substr(start, nl - start), [&](uint64_t, std::string_view text) {
        if (subscribed_) env_.sink.message(*this, text);
      });
      start = nl + 1;
    }
    if (start < data.size()) partial_.assign(data.substr(start));
  }

  void post_done() {
    posting_ = 0;
    if (!queue_.empty()) queue_.pop_front();
    env_.sink.posted(*this);
    if (!queue_.empty() && !dead_) send_post();
  }

  std::shared_ptr<net::Connection> conn_;
  bool subscribed_ = false;
  uint32_t next_stream_ = 3;
  uint32_t posting_ = 0;
  uint64_t consumed_ = 0;
  std::string partial_;
  std::deque<std::string> queue_;
};

}  // namespace

std::unique_ptr<Client> make_h2_client(Env& env, int index) {
  return std::make_unique<H2Client>(env, index);
}

}  // namespace bench
