// An HTTP/1.1 server on the event loop: parses requests from each connection,
// hands each to a handler as an Exchange, and writes the answer back in order.
//
// An exchange may be answered later (a held long poll): until it is, the
// connection reads no further requests, so pipelined responses stay in order
// (RFC 9112 §9.3.2). Limits and timeouts are answered here, with their status:
// head over 8 KiB 431, body over 64 KiB 413, head not complete in time 408,
// malformed 400 - each then closes the connection and logs the rule broken.
// A request with `Expect: 100-continue` gets 100 Continue as soon as its head is
// read (RFC 9110 §10.1.1). A HEAD reaches the handler as HEAD; its answer is
// written without the content (RFC 9110 §9.3.2), so a handler that serves GET
// serves HEAD by answering both the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "assets.h"
#include "http1.h"
#include "loop.h"
#include "net.h"

namespace http {

class Server;
struct Session;

// A response serialized once and sent unchanged to many exchanges: one answer for
// every client woken in a turn (a long-polling broadcast), or a file that never
// changes. respond(Response) builds, serializes and copies the whole answer into
// each connection's output; respond(SharedResponse&) queues a reference to bytes
// made once (a net::SharedSlice). Serializing and copying were a quarter of lesson
// 01's instructions per answer (tests/bench/README.md, item 10). The bytes are
// made again when the Date changes (once a second). An exchange they do not fit
// as they are (HEAD, HTTP/1.0, Connection: close) is answered from a copy of the
// Response instead.
class SharedResponse {
 public:
  SharedResponse() = default;
  explicit SharedResponse(Response response) : response_(std::move(response)) {}
  const Response& response() const { return response_; }
  // The whole answer to a keep-alive HTTP/1.1 exchange, with the current Date.
  const net::SharedSlice& bytes();

 private:
  Response response_;
  net::SharedSlice bytes_;
  std::string date_;  // the Date in bytes_
};

class Exchange {
 public:
  const Request& request() const { return request_; }
  // Writes the response. Later calls are ignored; so is a connection that is gone.
  void respond(Response response);
  // The same answer as respond(shared.response()), without serializing it again.
  void respond(SharedResponse& shared);
  bool answered() const { return answered_; }
  bool connected() const;
  // Called once if the client goes away before the exchange is answered.
  void on_gone(std::function<void()> callback) { on_gone_ = std::move(callback); }
  // For upgrades: the server lets go of the connection (after any bytes already
  // sent); the caller installs its own handlers on it.
  std::shared_ptr<net::Connection> take_over();
  uint64_t connection_id() const { return connection_id_; }

 private:
  friend class Server;
  friend struct Session;
  Request request_;
  std::weak_ptr<Session> session_;
  uint64_t connection_id_ = 0;
  bool head_only_ = false;
  bool answered_ = false;
  std::function<void()> on_gone_;
};

using Handler = std::function<void(const std::shared_ptr<Exchange>&)>;

struct ServerOptions {
  Limits limits;
  int64_t head_timeout_ms = 10'000;  // a started request head must finish within this
  int64_t idle_timeout_ms = 60'000;  // a keep-alive connection may sit idle this long
};

class Server {
 public:
  Server(loop::Loop& loop, ServerOptions options, Handler handler)
      : loop_(loop), options_(options), handler_(std::move(handler)) {}
  // Takes a freshly accepted connection (from net::Listener::on_accept).
  void serve(const std::shared_ptr<net::Connection>& conn);

 private:
  friend class Exchange;
  friend struct Session;
  loop::Loop& loop_;
  ServerOptions options_;
  Handler handler_;
};

// --trace: an HTTP message as lines, "#7 ← GET / HTTP/1.1" (arrow ← in, → out).
void trace_message(uint64_t connection_id, const char* arrow, std::string_view bytes);

// Common answers.
Response text_response(int status, std::string body);
Response json_response(int status, std::string body);
// A page file, with headers that keep the page strict: no type sniffing, and a
// Content-Security-Policy that runs only our own scripts (no inline code).
Response asset_response(const assets::Asset& asset);
// 405 with the Allow header listing what the resource supports (RFC 9110 §15.5.6).
Response method_not_allowed(std::string allow);

}  // namespace http
