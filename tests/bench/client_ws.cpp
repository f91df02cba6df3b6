// The WebSocket client (lesson 03) and the Engine.IO-over-WebSocket client
// (lesson 04). Both use lesson 03's frame code: parse_header() for the server's
// unmasked frames, write_frame() with a masking key for ours (RFC 6455 §5.1:
// a client masks every frame).
#include <string>

#include "03-raw-websocket/websocket.h"
#include "client.h"

namespace bench {

namespace {

// The handshake, then frames. Subclasses say which path to open and what to
// do with each text message.
class WsClientBase : public Client {
 public:
  using Client::Client;

  void start() override {
    conn_ = connect([this](std::string_view in) { return on_input(in); });
    if (!conn_) return;
    // The key is fixed: the bench does not check Sec-WebSocket-Accept.
    conn_->send("GET " + path() +
                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n");
  }

 protected:
  virtual std::string path() const = 0;
  virtual void on_text(std::string_view payload) = 0;

  void send_text(std::string_view payload) { send_frame(ws::Opcode::text, payload); }

  void send_frame(ws::Opcode opcode, std::string_view payload) {
    if (dead_) return;
    out_.clear();
    ws::write_frame(out_, true, opcode, payload, kMask);
    conn_->send(out_);
  }

 private:
  static constexpr uint8_t kMask[4] = {0x12, 0x34, 0x56, 0x78};

  size_t on_input(std::string_view in) {
    size_t used = 0;
    if (!upgraded_) {
      Response r;
      long n = parse_response(in, r);
      if (n == 0) return 0;
      if (n < 0 || r.status != 101) {
        fail("handshake: expected 101, got " + std::to_string(r.status));
        return in.size();
      }
      upgraded_ = true;
      used = static_cast<size_t>(n);
    }
    while (!dead_ && used < in.size()) {
      std::string_view rest = in.substr(used);
      size_t header_length = 0, payload_length = 0;
      if (whole_text_frame(rest, header_length, payload_length)) {
        if (rest.size() - header_length < payload_length) break;
        used += header_length + payload_length;
        on_text(rest.substr(header_length, payload_length));
        continue;
      }
      ws::FrameHeader h;
      std::string reason;
      ws::Status s = ws::parse_header(rest, h, reason);
      if (s == ws::Status::need_more) break;
      if (s == ws::Status::error || h.mask || !h.fin) {
        // The servers send whole, unmasked messages; anything else is a bug here.
        fail("frame: " + (reason.empty() ? std::string("masked or fragmented") : reason));
        return in.size();
      }
      if (rest.size() - h.header_length < h.payload_length) break;
      std::string_view payload = rest.substr(h.header_length, h.payload_length);
      used += h.header_length + h.payload_length;
      switch (static_cast<ws::Opcode>(h.opcode)) {
        case ws::Opcode::text:
          on_text(payload);
          break;
        case ws::Opcode::ping:
          send_frame(ws::Opcode::pong, payload);  // RFC 6455 §5.5.2
          break;
        case ws::Opcode::close:
          fail("the server sent a close frame");
          return in.size();
        default:
          break;
      }
    }
    return used;
  }

  // The frame a chat server sends nearly every time, read without parse_header():
  // 0x81 (FIN, text), unmasked, a 7-bit length or a 16-bit one of 126 or more
  // (RFC 6455 §5.2: the shortest form). Anything else, or a header not yet whole,
  // is left to parse_header(), which checks every rule. Saves ~90 instructions
  // per delivery (tests/bench/README.md, "What the profile says").
  static bool whole_text_frame(std::string_view in, size_t& header_length,
                               size_t& payload_length) {
    if (in.size() < 2 || static_cast<uint8_t>(in[0]) != 0x81) return false;
    auto length7 = static_cast<uint8_t>(in[1]);  // the mask bit is 0 below 126
    if (length7 < 126) {
      header_length = 2;
      payload_length = length7;
      return true;
    }
    if (length7 != 126 || in.size() < 4) return false;
    payload_length = static_cast<size_t>(static_cast<uint8_t>(in[2]) << 8 |
                                         static_cast<uint8_t>(in[3]));
    header_length = 4;
    return payload_length >= 126;
  }

  std::shared_ptr<net::Connection> conn_;
  bool upgraded_ = false;
  std::string out_;
};

// Lesson 03: {"type":"hello",...} and {"type":"history",...} once, then
// {"type":"message",...} per post.
class WsClient : public WsClientBase {
 public:
  using WsClientBase::WsClientBase;

  void post(std::string text) override {
    send_text("{\"type\":\"post\",\"user\":\"" + env_.user + "\",\"text\":\"" + text +
              "\"}");
    // The server has no acknowledgement but the broadcast itself.
    env_.sink.posted(*this);
  }

 private:
  std::string path() const override { return "/chat"; }

  void on_text(std::string_view payload) override {
    if (payload.starts_with("{\"type\":\"message\"")) {
      if (std::string_view text = chat_text(payload); !text.empty())
        env_.sink.message(*this, text);
    } else if (payload.starts_with("{\"type\":\"history\"")) {
      env_.sink.ready(*this);
    } else if (!payload.starts_with("{\"type\":\"hello\"")) {  // the history's id
      fail("unexpected message: " + std::string(payload.substr(0, 80)));
    }
  }
};

// Lesson 04: Engine.IO v4 packets in WebSocket text frames, Socket.IO v5
// packets inside Engine.IO message packets (type 4):
//   ← 0{"sid":...}                     Engine.IO open
//   → 40{"user":"bench"}               Socket.IO CONNECT to "/" with auth
//   ← 40{"sid":...}
//   → 420["room:join","general"]       ← 430[{"room":"general"}]
//   → 42N["msg:post",{...}]            ← 43N[{"id":...}]  the sender's copy
//   ← 42["msg:new",{...}]              everyone else's copy
//   ← 2  → 3                           Engine.IO heartbeat
class SioClient : public WsClientBase {
 public:
  using WsClientBase::WsClientBase;

  void post(std::string text) override {
    send_text("42" + std::to_string(++next_ack_) + "[\"msg:post\",{\"user\":\"" +
              env_.user + "\",\"text\":\"" + text + "\"}]");
  }

 private:
  std::string path() const override { return "/socket.io/?EIO=4&transport=websocket"; }

  void on_text(std::string_view p) override {
    if (p.starts_with("42[\"msg:new\"")) {
      if (std::string_view text = chat_text(p); !text.empty())
        env_.sink.message(*this, text);
    } else if (p.starts_with("42[")) {
      // "online" and other events: not chat messages
    } else if (p.starts_with("43")) {
      size_t at = 2;
      uint64_t id = read_uint(p, at);
      if (id == 0) {  // the room:join answer
        env_.sink.ready(*this);
        return;
      }
      if (p.find("\"error\"") != std::string_view::npos) {
        fail("post refused: " + std::string(p.substr(0, 120)));
        return;
      }
      if (std::string_view text = chat_text(p); !text.empty())
        env_.sink.message(*this, text);
      env_.sink.posted(*this);
    } else if (p == "2") {
      send_text("3");
    } else if (p.starts_with("40")) {
      if (env_.join_room)
        send_text("420[\"room:join\",\"general\"]");
      else
        env_.sink.ready(*this);
    } else if (p.starts_with("0")) {
      send_text("40{\"user\":\"" + env_.user + "\"}");
    } else {
      fail("unexpected packet: " + std::string(p.substr(0, 80)));
    }
  }

  uint64_t next_ack_ = 0;  // 0 is room:join's
};

}  // namespace

std::unique_ptr<Client> make_ws_client(Env& env, int index) {
  return std::make_unique<WsClient>(env, index);
}

std::unique_ptr<Client> make_sio_client(Env& env, int index) {
  return std::make_unique<SioClient>(env, index);
}

}  // namespace bench
