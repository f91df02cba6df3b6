// One Engine.IO session: its two transports, the upgrade between them, the
// heartbeat, and how it ends. engineio.cpp routes requests here.
#include "common/log.h"
#include "engineio.h"

namespace eio {

// A polling client whose session the server closed has this long to come back
// for the close packet (the reference's closeTimeout).
constexpr int64_t kCloseTimeoutMs = 30'000;
// What may wait for a polling client's next GET (as net::Limits's output cap).
constexpr size_t kMaxPendingBytes = 8 << 20;

// A packet with no data: 2 (ping), 1 (close), 6 (noop).
static Packet bare(PacketType type) {
  return Packet{type, "", false};
}

// --trace: one line per packet, "eio <sid> ← polling 4hello".
static void trace_packet(const std::string& sid, const char* arrow, const char* via,
                         const Packet& p) {
  if (!logs::tracing()) return;
  std::string shown = p.binary ? "4<binary, " + std::to_string(p.data.size()) + " bytes>"
                               : encode_for_websocket(p);
  logs::trace("eio %s %s %s %s", sid.c_str(), arrow, via, logs::printable(shown).c_str());
}

// Timers and callbacks hold the session weakly: a session nobody holds is gone,
// and whatever fires for it later finds nothing to do. So the destructor need not
// cancel anything, which matters when the loop is destroyed first.
Socket::Socket(Server& server, std::string id, http::Request handshake)
    : server_(&server),
      loop_(server.loop_),
      options_(server.session_options_),
      id_(std::move(id)),
      handshake_(std::move(handshake)) {}

void Socket::send(std::string_view text) {
  write(Packet{PacketType::message, std::string(text), false});
}

void Socket::send_binary(std::string_view bytes) {
  write(Packet{PacketType::message, std::string(bytes), true});
}

// Over WebSocket nothing waits in pending_ (flush() sends at once), so a shared
// frame keeps the order of packets.
bool Socket::send_frame(const net::SharedSlice& frame) {
  if (state_ != State::open) return true;  // dropped, as write() would
  // --trace shows every packet decoded: the ordinary path does that.
  if (!ws_ || !pending_.empty() || logs::tracing()) return false;
  ws_->send_frame(frame);
  return true;
}

// Sending
// -------
// Packets wait in pending_ until a transport can take them: over WebSocket at
// once, one frame each; over polling when a GET is held, all in its answer.

void Socket::write(Packet packet) {
  if (state_ != State::open) return;  // the reference drops what is sent once closing
  // A polling client that stops fetching would let pending_ grow without end;
  // past the cap a WebSocket connection would be dropped too (net::Limits).
  pending_bytes_ += packet.data.size() + 1;
  pending_.push_back(std::move(packet));
  if (!ws_ && !poll_ && pending_bytes_ > kMaxPendingBytes) {
    logs::warn("eio %s: %zu bytes waiting for a GET; closing the session",
               log_name_.c_str(), pending_bytes_);
    return finish("transport error");
  }
  flush();
}

void Socket::flush() {
  if (pending_.empty()) return;
  if (ws_) {
    // Engine.IO v4 "WebSocket" (Packet encoding): each packet in its own frame;
    // a binary message as a binary frame of its raw bytes.
    for (const Packet& p : pending_) {
      trace_packet(id_, "→", "websocket", p);
      if (p.binary) {
        ws_->send_binary(p.data);
      } else {
        ws_->send_text(encode_for_websocket(p));
      }
    }
    pending_.clear();
    pending_bytes_ = 0;
  } else if (poll_) {
    answer_poll();
  }
}

// Engine.IO v4 "Receiving data": the held GET is answered with every pending
// packet, joined by \x1e. The client sends its next GET as soon as it has read it.
void Socket::answer_poll() {
  std::shared_ptr<http::Exchange> ex = std::move(poll_);
  poll_.reset();
  for (const Packet& p : pending_)
    trace_packet(id_, "→", "polling", p);
  http::Response r;
  r.content_type = "text/plain; charset=UTF-8";
  r.headers.push_back({"Cache-Control", "no-store"});
  r.body = encode_payload(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  Server::add_cors(*options_, ex->request(), r);
  ex->respond(std::move(r));
}

// Receiving
// ---------

void Socket::receive(const Packet& p, const char* via) {
  trace_packet(id_, "←", via, p);
  switch (p.type) {
    case PacketType::pong:
      // Engine.IO v4 "Heartbeat": answered in time; the next ping is due
      // pingInterval from now.
      loop_.cancel(pong_timer_);
      loop_.cancel(ping_timer_);
      schedule_ping();
      break;
    case PacketType::message:
      if (on_message) on_message(p.data, p.binary);
      break;
    case PacketType::close:
      // The client is leaving. A GET still held is ended with a noop, as the
      // reference does, so the close packet is not echoed back.
      if (poll_) {
        pending_.push_back(bare(PacketType::noop));
        answer_poll();
      }
      finish("transport close");
      break;
    case PacketType::ping:
      // Engine.IO v4 "Heartbeat" (and "From v3 to v4"): only the server pings now.
      logs::info("eio %s: a ping from the client (only the server pings in v4)",
                 log_name_.c_str());
      finish("transport error");
      break;
    case PacketType::open:
    case PacketType::upgrade:
    case PacketType::noop:
      break;  // nothing to do on an established transport (the reference ignores them)
  }
}

// Engine.IO v4 "Heartbeat": every pingInterval a ping; no pong within pingTimeout
// and the client is considered gone.
void Socket::schedule_ping() {
  std::weak_ptr<Socket> weak = weak_from_this();
  ping_timer_ = loop_.after(options_->ping_interval_ms, [weak] {
    auto self = weak.lock();
    if (!self || self->state_ != State::open) return;
    self->write(bare(PacketType::ping));
    self->pong_timer_ = self->loop_.after(self->options_->ping_timeout_ms, [weak] {
      auto self = weak.lock();
      if (!self) return;
      logs::info("eio %s: no pong within %lldms", self->log_name_.c_str(),
                 (long long)self->options_->ping_timeout_ms);
      self->finish("ping timeout");
    });
  });
}

// HTTP long polling
// -----------------

void Socket::on_poll(const std::shared_ptr<http::Exchange>& ex) {
  // Engine.IO v4 "Receiving data": "a client MUST NOT have more than one active
  // GET request. Should it happen, the server MUST return an HTTP 400 error status
  // and close the session." Like the reference, the held GET gets the close packet
  // and the second one an empty 400.
  if (poll_) {
    logs::info("eio %s: a second GET while one is held; closing the session",
               log_name_.c_str());
    finish("transport error");
    http::Response r = http::text_response(400, "");
    Server::add_cors(*options_, ex->request(), r);
    ex->respond(std::move(r));
    return;
  }
  poll_ = ex;
  // A held GET the client gives up on (the reference: "poll connection closed
  // prematurely") ends the session.
  std::weak_ptr<Socket> weak = weak_from_this();
  ex->on_gone([weak] {
    if (auto self = weak.lock()) self->finish("transport error");
  });
  if (state_ == State::closing) {
    // close() was waiting for this GET to hand over the close packet.
    pending_.push_back(bare(PacketType::close));
    answer_poll();
    finish("forced close");
  } else if (!pending_.empty()) {
    answer_poll();
  } else if (probed_) {
    // Engine.IO v4 "Upgrade": while upgrading, a GET is ended with a noop at once.
    pending_.push_back(bare(PacketType::noop));
    answer_poll();
  }
}

void Socket::on_post(const std::shared_ptr<http::Exchange>& ex) {
  // There is no second POST to refuse ("a client MUST NOT have more than one
  // active POST request"): the HTTP server hands us a POST only once its whole
  // body is in, and we answer it before returning, so two never overlap.
  const http::Request& req = ex->request();
  // Engine.IO v4 "Packet encoding": v4 bodies are text, binary data is base64 in
  // them; the reference refuses a body sent as application/octet-stream.
  const std::string* type = req.header("content-type");
  if (type && type->compare(0, 24, "application/octet-stream") == 0) {
    logs::info("eio %s: a POST body must be text in v4", log_name_.c_str());
    ex->respond(Server::error_response(*options_, req, kBadRequest));
    finish("transport error");
    return;
  }
  // maxPayload: when the HTTP server's body limit is set to it, this never
  // happens (it answers 413 itself). The reference (engine.io 6.6 polling.js,
  // onDataRequest) answers 413 and keeps the session, as we do; its client, told
  // 413, ends the session itself: "transport error" there, a close packet here.
  if (req.body.size() > options_->max_payload) {
    http::Response r = http::text_response(413, "");
    Server::add_cors(*options_, req, r);
    ex->respond(std::move(r));
    return;
  }
  std::vector<Packet> packets;
  DecodeResult decoded = decode_payload(req.body, packets);
  if (!decoded.ok) {
    logs::info("eio %s: %s; closing the session", log_name_.c_str(),
               decoded.error.c_str());
    ex->respond(Server::error_response(*options_, req, kBadRequest));
    finish("parse error");
    return;
  }
  auto self = shared_from_this();  // on_message may drop the application's hold
  for (const Packet& p : packets) {
    if (state_ == State::closed) break;
    receive(p, "polling");
  }
  // Engine.IO v4 "Sending data": success is a 200 with the body "ok" (text/html in
  // the reference, so that old browsers do not offer a download).
  http::Response r = http::text_response(200, "ok");
  r.content_type = "text/html";
  r.headers.push_back({"Cache-Control", "no-store"});
  Server::add_cors(*options_, req, r);
  ex->respond(std::move(r));
}

// WebSocket
// ---------
// Callbacks name the WebSocket they come from: one we have let go of (a failed
// probe, a closed transport) may still report, and is ignored.

void Socket::attach(const std::shared_ptr<ws::Socket>& ws) {
  std::weak_ptr<Socket> weak = weak_from_this();
  ws::Socket* from = ws.get();
  ws->on_message = [weak, from](bool binary, std::string_view payload) {
    if (auto self = weak.lock()) self->on_ws_message(from, binary, payload);
  };
  ws->on_close = [weak, from](uint16_t code, std::string_view) {
    if (auto self = weak.lock()) self->on_ws_close(from, code);
  };
}

void Socket::use_websocket(std::shared_ptr<ws::Socket> ws) {
  ws_ = std::move(ws);
  websocket_ = true;
  attach(ws_);
  flush();
}

void Socket::on_ws_message(ws::Socket* from, bool binary, std::string_view payload) {
  bool is_probe = probe_ && from == probe_.get();
  if (!is_probe && !(ws_ && from == ws_.get())) return;
  Packet p;
  if (binary) {
    p = binary_packet(payload);
  } else if (DecodeResult r = decode_packet(payload, p); !r.ok) {
    logs::info("eio %s: %s", log_name_.c_str(), r.error.c_str());
    is_probe ? drop_probe() : finish("parse error");
    return;
  }
  is_probe ? on_probe_packet(p) : receive(p, "websocket");
}

void Socket::on_ws_close(ws::Socket* from, uint16_t code) {
  if (probe_ && from == probe_.get()) return drop_probe();
  if (!ws_ || from != ws_.get()) return;
  // RFC 6455 §7.4.1: 1002 protocol error, 1007 bad data, 1009 too big (the
  // maxPayload limit) are errors; anything else is the transport going away.
  bool error = code == 1002 || code == 1007 || code == 1009;
  finish(error ? "transport error" : "transport close");
}

// The upgrade
// -----------
// Engine.IO v4 "Upgrade":
//   client → 2probe     (on the new WebSocket, while polling is paused)
//   server → 3probe     and a noop (6) to any GET still held
//   client → 5          the WebSocket is the transport from now on

void Socket::probe(std::shared_ptr<ws::Socket> ws) {
  probe_ = std::move(ws);
  probed_ = false;
  attach(probe_);
  std::weak_ptr<Socket> weak = weak_from_this();
  upgrade_timer_ = loop_.after(options_->upgrade_timeout_ms, [weak] {
    auto self = weak.lock();
    if (!self || !self->probe_) return;
    logs::info("eio %s: the upgrade was not completed in time", self->log_name_.c_str());
    self->drop_probe();
  });
}

void Socket::on_probe_packet(const Packet& p) {
  trace_packet(id_, "←", "websocket", p);
  if (p.type == PacketType::ping && p.data == "probe" && !p.binary) {
    Packet pong{PacketType::pong, "probe"};
    trace_packet(id_, "→", "websocket", pong);
    probe_->send_text(encode_for_websocket(pong));
    probed_ = true;
    if (poll_) {
      pending_.push_back(bare(PacketType::noop));
      answer_poll();
    }
    return;
  }
  if (p.type != PacketType::upgrade) {
    drop_probe();  // anything else on a probe: this upgrade failed, polling goes on
    return;
  }
  loop_.cancel(upgrade_timer_);
  if (poll_) {
    pending_.push_back(bare(PacketType::noop));
    answer_poll();
  }
  ws_ = std::move(probe_);
  probe_.reset();
  probed_ = false;
  websocket_ = true;
  logs::info("eio %s upgraded to websocket", log_name_.c_str());
  if (state_ == State::closing) return finish("forced close");
  flush();  // what was written during the upgrade
}

void Socket::drop_probe() {
  loop_.cancel(upgrade_timer_);
  probed_ = false;
  release(probe_);
}

// Closing
// -------

void Socket::release(std::shared_ptr<ws::Socket>& slot) {
  if (!slot) return;
  std::shared_ptr<ws::Socket> ws = std::move(slot);
  slot.reset();
  if (server_) return server_->retire(std::move(ws));
  if (ws->open()) ws->close(1000);
  loop_.after(0, [ws] {});  // not inside its own callback
}

// Server-initiated: pending packets go first, then the close packet over polling
// (WebSocket has its own close frame, which the reference sends instead).
void Socket::close() {
  bool shutting_down = server_ && server_->shutting_down_;
  // Already waiting for a GET to hand the close packet to: a shutdown waits less.
  if (state_ == State::closing && shutting_down) wait_for_poll(kShutdownPollWaitMs);
  if (state_ != State::open) return;
  state_ = State::closing;
  if (ws_) {
    // Shutting down, the close packet goes first, as over polling: a client
    // then knows the session is over, not just this connection (the reference
    // sends only the close frame, which the official client takes as either).
    if (shutting_down) {
      Packet p = bare(PacketType::close);
      trace_packet(id_, "→", "websocket", p);
      ws_->send_text(encode_for_websocket(p));
    }
    return finish("forced close");
  }
  if (poll_) {
    pending_.push_back(bare(PacketType::close));
    answer_poll();
    return finish("forced close");
  }
  // No GET is held: the close packet waits for the next one, for a while (less
  // when the whole server is going: a client between two polls is back at once).
  wait_for_poll(shutting_down ? kShutdownPollWaitMs : kCloseTimeoutMs);
}

// Closing, no GET held: the session ends within ms, with or without its GET. A
// later, shorter wait replaces a longer one, never the other way round.
void Socket::wait_for_poll(int64_t ms) {
  int64_t by = loop::Loop::now_ms() + ms;
  if (close_timer_ && by >= close_by_ms_) return;
  loop_.cancel(close_timer_);
  close_by_ms_ = by;
  logs::info("eio %s: no GET held; the close packet waits %lldms for the next one",
             log_name_.c_str(), (long long)ms);
  std::weak_ptr<Socket> weak = weak_from_this();
  close_timer_ = loop_.after(ms, [weak] {
    if (auto self = weak.lock()) self->finish("forced close");
  });
}

// Every end of a session comes here, once: timers stop, a held GET gets the close
// packet, the WebSockets close, the Server forgets the sid, on_close is told.
void Socket::finish(const std::string& reason) {
  if (state_ == State::closed) return;
  auto self = shared_from_this();
  state_ = State::closed;
  for (loop::TimerId t : {ping_timer_, pong_timer_, upgrade_timer_, close_timer_})
    loop_.cancel(t);
  pending_.clear();
  pending_bytes_ = 0;
  if (poll_) {
    pending_.push_back(bare(PacketType::close));
    answer_poll();
  }
  release(ws_);
  release(probe_);
  if (server_) server_->forget(id_);
  logs::info("eio %s closed (%s)", log_name_.c_str(), reason.c_str());
  // on_close is called once and then dropped, with whatever it holds; on_message
  // stays, since this may be running inside it.
  std::function<void(const std::string&)> callback;
  callback.swap(on_close);
  if (callback) callback(reason);
}

}  // namespace eio
