// A WebSocket connection on the event loop: the opening handshake (RFC 6455
// §4.2), then frames in and out through websocket.h's reader and writer, pings
// to find dead peers, and the closing handshake (§7). Lesson 04 reuses it for
// Engine.IO's WebSocket transport.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "common/loop.h"
#include "common/net.h"
#include "websocket.h"

namespace ws {

struct HandshakeOptions {
  std::vector<std::string> allowed_origins;  // cross-origin browsers let in
  std::vector<std::string> subprotocols;  // ours, in order of preference
};

struct SocketOptions {
  size_t max_message = 1 << 20;
  int64_t ping_interval_ms = 30'000;  // 0: never ping (Engine.IO has its own)
  int64_t pong_timeout_ms = 10'000;
  // After our close frame: how long the peer has to answer it (and to read it)
  // before TCP is closed anyway.
  int64_t close_timeout_ms = 5'000;
};

class Socket : public std::enable_shared_from_this<Socket> {
 public:
  // Checks the upgrade request (RFC 6455 §4.2.1). On failure answers the exchange
  // (400, 403 or 426) and returns nullptr; on success sends 101, takes the
  // connection over from the HTTP server and returns the open socket.
  static std::shared_ptr<Socket> upgrade(loop::Loop& loop,
                                         const std::shared_ptr<http::Exchange>& ex,
                                         const HandshakeOptions& handshake,
                                         const SocketOptions& options);

  std::function<void(bool binary, std::string_view payload)> on_message;
  std::function<void(uint16_t code, std::string_view reason)> on_close;  // once

  void send_text(std::string_view text);
  void send_binary(std::string_view bytes);
  // A frame already encoded with write_frame(): a broadcast encodes once.
  void send_frame(std::string_view frame);
  // The same, for a frame in a net::SharedBuffer: queued by reference, not copied
  // (lesson 03's broadcast: one copy of the frame for the whole room).
  void send_frame(const net::SharedSlice& frame);
  // Starts the closing handshake (§7.1.2); on_close follows.
  void close(uint16_t code, std::string_view reason = "");

  bool open() const { return state_ == State::open; }
  uint64_t id() const { return id_; }
  const std::string& protocol() const { return protocol_; }
  const std::string& path() const { return path_; }
  const std::string& query() const { return query_; }
  size_t queued() const;

  Socket(loop::Loop& loop, std::shared_ptr<net::Connection> conn,
         const SocketOptions& options);
  ~Socket();

 private:
  enum class State { open, closing, closed };
  size_t on_input(std::string_view bytes);
  void fail(uint16_t code, const std::string& why);
  void finish(uint16_t code, std::string_view reason);
  void schedule_ping();
  void write(Opcode opcode, std::string_view payload);
  void send_close(uint16_t code, std::string_view reason);
  void close_tcp();

  loop::Loop& loop_;
  std::shared_ptr<net::Connection> conn_;
  SocketOptions options_;
  MessageReader reader_;
  uint64_t id_;
  std::string protocol_, path_, query_;
  State state_ = State::open;
  loop::TimerId ping_timer_ = 0;
  loop::TimerId pong_deadline_ = 0;
  loop::TimerId close_timer_ = 0;
  int64_t ping_sent_ms_ = 0;  // our Ping's payload, in decimal: the Pong must carry it
};

}  // namespace ws
