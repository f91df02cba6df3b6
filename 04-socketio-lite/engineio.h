// An Engine.IO v4 server: sessions ("clients" in the protocol document) over HTTP
// long polling or WebSocket, the upgrade from one to the other, the heartbeat.
//
//   eio::Server engine(loop, options);
//   engine.on_connection = [](std::shared_ptr<eio::Socket> socket) {
//     eio::Socket* s = socket.get();  // the server holds the session until it closes
//     s->on_message = [s](std::string_view data, bool binary) {
//       binary ? s->send_binary(data) : s->send(data);  // an echo
//     };
//   };
//   http::Server http(loop, http_options, [&](const auto& ex) {
//     if (engine.handle(ex)) return;
//     ...
//   });
//
// What the reference server has and this does not: protocol v3 clients, the
// WebTransport transport, cookies, allowRequest hooks, compression, and a POST
// read in pieces (the HTTP server hands us whole bodies, at most max_payload).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "03-raw-websocket/ws_connection.h"
#include "common/http_server.h"
#include "common/loop.h"
#include "engineio_packet.h"

namespace eio {

// The reference server's error answers (its Server.errors): a refused request is
// answered 400 (403 for forbidden) with {"code":N,"message":"..."}.
enum ErrorCode {
  kUnknownTransport = 0,
  kUnknownSid = 1,
  kBadHandshakeMethod = 2,
  kBadRequest = 3,
  kForbidden = 4,
  kUnsupportedProtocolVersion = 5,
};

struct Options {
  int64_t ping_interval_ms = 25000, ping_timeout_ms = 20000;
  size_t max_payload = 1000000;
  std::string cors_origin;  // "" = no CORS headers
  std::string path = "/socket.io/";
  int64_t upgrade_timeout_ms = 10000;  // a probe must be followed by 5 within this
  size_t max_sessions = 10000;  // open at once; past it a handshake gets 503 (0: none)
};

// How long a shutdown waits for a polling client's next GET: it sends one as soon
// as it has read the answer to the last, so this is one round trip with room to
// spare. Past it, the session ends without its close packet.
constexpr int64_t kShutdownPollWaitMs = 2'000;

class Server;

// One Engine.IO session. The Server holds it from the handshake until it closes;
// on_close is called once, then the Server lets go of it. Sending after that is
// ignored. on_message is never reset (it may be running when the session ends), so
// it should hold the socket by raw or weak pointer, never by shared_ptr.
class Socket : public std::enable_shared_from_this<Socket> {
 public:
  const std::string& id() const { return id_; }
  // The sid is a bearer credential: logs name a session by its number instead
  // ("session 12"); only --trace shows which sid that is.
  const std::string& log_name() const { return log_name_; }
  const char* transport() const { return websocket_ ? "websocket" : "polling"; }
  const http::Request& handshake() const { return handshake_; }
  bool open() const { return state_ == State::open; }

  void send(std::string_view text);  // a message packet (4...) with text data
  void send_binary(std::string_view bytes);
  // A message packet already framed for WebSocket ("4..." in a text frame),
  // shared with other sessions: queued by reference. False when the transport is
  // not a WebSocket right now (polling, an upgrade under way): then send() it.
  bool send_frame(const net::SharedSlice& frame);
  void close();  // server-initiated close

  std::function<void(std::string_view data, bool binary)> on_message;
  // "transport close", "ping timeout", "forced close", "parse error",
  // "transport error"
  std::function<void(const std::string& reason)> on_close;

  Socket(Server& server, std::string id, http::Request handshake);

 private:
  friend class Server;
  enum class State { open, closing, closed };

  void write(Packet packet);
  void flush();
  void receive(const Packet& packet, const char* via);
  void schedule_ping();
  void finish(const std::string& reason);
  void wait_for_poll(int64_t ms);
  // HTTP long polling
  void on_poll(const std::shared_ptr<http::Exchange>& ex);
  void on_post(const std::shared_ptr<http::Exchange>& ex);
  void answer_poll();
  // WebSocket, and the upgrade to it
  void attach(const std::shared_ptr<ws::Socket>& ws);
  void use_websocket(std::shared_ptr<ws::Socket> ws);
  void probe(std::shared_ptr<ws::Socket> ws);
  void on_ws_message(ws::Socket* from, bool binary, std::string_view payload);
  void on_ws_close(ws::Socket* from, uint16_t code);
  void on_probe_packet(const Packet& packet);
  void drop_probe();
  void release(std::shared_ptr<ws::Socket>& ws);

  Server* server_;  // nullptr once the Server is gone
  loop::Loop& loop_;
  // The server's, shared by every session (and kept if the server goes first):
  // 16 bytes a session instead of a copy of ~110.
  std::shared_ptr<const Options> options_;
  std::string id_;
  std::string log_name_;
  http::Request handshake_;
  State state_ = State::open;
  std::vector<Packet> pending_;  // written, not sent yet (polling)
  size_t pending_bytes_ = 0;
  std::shared_ptr<http::Exchange> poll_;  // the GET being held
  std::shared_ptr<ws::Socket> ws_;  // once the transport is WebSocket
  std::shared_ptr<ws::Socket> probe_;  // a WebSocket being upgraded to
  bool probed_ = false;  // 2probe answered on probe_
  bool websocket_ = false;  // the transport is (or was) WebSocket
  loop::TimerId ping_timer_ = 0, pong_timer_ = 0, upgrade_timer_ = 0, close_timer_ = 0;
  int64_t close_by_ms_ = 0;  // closing: when close_timer_ ends the session
};

class Server {
 public:
  Server(loop::Loop& loop, Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Takes the exchange if its path starts with options.path and returns true.
  bool handle(const std::shared_ptr<http::Exchange>& ex);
  std::function<void(std::shared_ptr<Socket>)> on_connection;
  // Closes every session, each with the close packet on its own transport. A
  // polling client with no GET held (between two polls) is given
  // kShutdownPollWaitMs to send its next one, so it is told too; done is called
  // once no session is left.
  void shutdown(std::function<void()> done = {});
  // From now on a server-side close is a shutdown's, even before shutdown():
  // over WebSocket the close packet, then close code 1001.
  void going_away() { shutting_down_ = true; }

  const Options& options() const { return options_; }
  size_t session_count() const { return sessions_.size(); }

 private:
  friend class Socket;
  void handshake(const std::shared_ptr<http::Exchange>& ex, bool websocket);
  void upgrade(const std::shared_ptr<http::Exchange>& ex, Socket& session);
  std::shared_ptr<ws::Socket> accept_websocket(const std::shared_ptr<http::Exchange>& ex);
  void refuse(const std::shared_ptr<http::Exchange>& ex, int code, bool websocket);
  void refuse_busy(const std::shared_ptr<http::Exchange>& ex, bool websocket);
  static void add_cors(const Options& options, const http::Request& req,
                       http::Response& response);
  static http::Response error_response(const Options& options, const http::Request& req,
                                       int code);
  void forget(const std::string& sid);
  void shut_down();
  void retire(std::shared_ptr<ws::Socket> ws);

  loop::Loop& loop_;
  Options options_;
  std::shared_ptr<const Options> session_options_;  // the same, for the sessions
  std::map<std::string, std::shared_ptr<Socket>> sessions_;
  uint64_t sessions_opened_ = 0;  // numbers the sessions for the logs
  struct Retired {
    int64_t until;
    std::shared_ptr<ws::Socket> ws;
  };
  std::vector<Retired> retired_;
  bool shutting_down_ = false;  // WebSockets close with 1001, "going away"
  std::function<void()> shutdown_done_;  // called once the last session is gone
  uint64_t busy_refused_ = 0;  // handshakes refused since the last log line
  int64_t busy_logged_ms_ = INT64_MIN / 2;  // when that line was written
};

}  // namespace eio
