#include "ws_connection.h"

#include <algorithm>
#include <optional>

#include "common/log.h"

namespace ws {

// The opening handshake
// ---------------------
// RFC 6455 §4.2.1 lists what a server reads in the client's request; each check
// below names its item. A request that fails one is answered over HTTP and the
// connection stays HTTP.

struct Refusal {
  int status;
  std::string why;
};

// RFC 6455 §4.2.1 item 7 / §10.2: a browser always sends Origin; another site's
// page must not open a socket with this user's cookies (cross-site WebSocket
// hijacking). Same origin means Origin's host:port is the Host we were asked as.
static bool origin_allowed(const http::Request& req, const HandshakeOptions& options) {
  const std::string* origin = req.header("origin");
  if (!origin) return true;  // not a browser: curl, ws, python clients
  for (const std::string& allowed : options.allowed_origins)
    if (http::iequals(*origin, allowed)) return true;
  const std::string* host = req.header("host");
  std::string_view o = *origin;
  for (std::string_view scheme : {"http://", "https://"})
    if (o.substr(0, scheme.size()) == scheme)
      return host && http::iequals(o.substr(scheme.size()), *host);
  return false;
}

static std::optional<Refusal> check(const http::Request& req,
                                    const HandshakeOptions& options) {
  // RFC 6455 §4.2.1 item 1: an HTTP/1.1 or higher GET request.
  if (req.method != "GET") return Refusal{400, "RFC 6455 §4.2.1: the handshake is a GET"};
  if (req.minor_version < 1)
    return Refusal{400, "RFC 6455 §4.2.1: a WebSocket handshake needs HTTP/1.1"};
  // Item 2: a Host header field.
  if (!req.header("host"))
    return Refusal{400, "RFC 6455 §4.2.1: the Host field is missing"};
  // Item 3: an Upgrade header field containing "websocket", case-insensitively.
  const std::string* upgrade = req.header("upgrade");
  if (!upgrade || !http::has_token(*upgrade, "websocket"))
    return Refusal{400,
                   "RFC 6455 §4.2.1: not a WebSocket handshake: no 'Upgrade: websocket'"};
  // Item 4: a Connection header field that includes the token "Upgrade".
  const std::string* connection = req.header("connection");
  if (!connection || !http::has_token(*connection, "upgrade"))
    return Refusal{400, "RFC 6455 §4.2.1: Connection must include the 'Upgrade' token"};
  // Item 5: Sec-WebSocket-Key, base64 of 16 bytes.
  const std::string* key = req.header("sec-websocket-key");
  if (!key || !key_is_valid(*key))
    return Refusal{400, "RFC 6455 §4.2.1: Sec-WebSocket-Key must be base64 of 16 bytes"};
  // Item 6: Sec-WebSocket-Version 13; §4.4 answers another version with 426.
  const std::string* version = req.header("sec-websocket-version");
  if (!version || *version != "13")
    return Refusal{426, "RFC 6455 §4.4: only Sec-WebSocket-Version 13 is spoken"};
  // Item 7: Origin, checked against the host we were asked as (§10.2).
  if (!origin_allowed(req, options))
    return Refusal{403, "RFC 6455 §10.2: Origin " + *req.header("origin") +
                            " is not allowed (see --allow-origin)"};
  return std::nullopt;
}

// RFC 6455 §4.2.2 item 5.5: at most one subprotocol, one the client offered.
static std::string choose_protocol(const http::Request& req,
                                   const HandshakeOptions& options) {
  std::string offered;
  for (const http::Header& h : req.headers)
    if (h.name == "sec-websocket-protocol") offered += h.value + ",";
  for (const std::string& ours : options.subprotocols)
    if (http::has_token(offered, ours)) return ours;
  return "";
}

std::shared_ptr<Socket> Socket::upgrade(loop::Loop& loop,
                                        const std::shared_ptr<http::Exchange>& ex,
                                        const HandshakeOptions& handshake,
                                        const SocketOptions& options) {
  const http::Request& req = ex->request();
  if (auto refusal = check(req, handshake)) {
    logs::info("#%llu WebSocket handshake refused with %d: %s",
               (unsigned long long)ex->connection_id(), refusal->status,
               refusal->why.c_str());
    http::Response r = http::text_response(refusal->status, refusal->why + "\n");
    if (refusal->status == 426) r.headers.push_back({"Sec-WebSocket-Version", "13"});
    ex->respond(std::move(r));
    return nullptr;
  }
  // RFC 6455 §4.2.2 item 5: 101, Upgrade, Connection, and the accept key.
  http::Response r;
  r.status = 101;
  r.headers = {{"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Accept", accept_key(*req.header("sec-websocket-key"))}};
  std::string protocol = choose_protocol(req, handshake);
  if (!protocol.empty()) r.headers.push_back({"Sec-WebSocket-Protocol", protocol});
  std::string bytes = http::serialize(r, true);
  std::string path = req.path, query = req.query;
  uint64_t id = ex->connection_id();
  std::shared_ptr<net::Connection> conn = ex->take_over();
  if (!conn || !conn->open()) return nullptr;
  http::trace_message(id, "→", bytes);
  conn->send(bytes);
  auto socket = std::make_shared<Socket>(loop, conn, options);
  socket->protocol_ = protocol;
  socket->path_ = path;
  socket->query_ = query;
  std::weak_ptr<Socket> weak = socket;
  // From here on the connection's bytes are WebSocket frames. Frames that came in
  // the same read as the request are still buffered: take_over() resumed the
  // connection, so they reach the new handler from the loop.
  conn->set_input_handler([weak](std::string_view in) -> size_t {
    auto self = weak.lock();
    return self ? self->on_input(in) : in.size();
  });
  conn->set_close_handler([weak] {
    if (auto self = weak.lock()) self->finish(close_code::abnormal, "");
  });
  socket->schedule_ping();
  return socket;
}

// Frames in --trace
// -----------------
// Each frame decoded, then its first bytes as they were on the wire:
//   #7 ← FIN=1 text MASK=1 key=37fa213d len=5 "Hello"
//   #7 ←   81 85 37 fa 21 3d | 7f 9f 4d 51 58
//   #7 → FIN=1 close MASK=0 len=2 code=1000 (normal closure) reason=""

static std::string hex(const uint8_t* bytes, size_t n, const char* separator = " ") {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += separator;
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xF];
  }
  return out;
}

static void trace_frame(uint64_t id, const char* arrow, const FrameHeader& h,
                        std::string_view payload) {
  if (!logs::tracing()) return;
  std::string rsv, key;
  if (h.rsv1 || h.rsv2 || h.rsv3)
    rsv = " RSV=" + std::to_string(h.rsv1) + std::to_string(h.rsv2) +
          std::to_string(h.rsv3);
  if (h.mask) key = " key=" + hex(h.masking_key, 4, "");
  std::string body;
  if (h.opcode == static_cast<uint8_t>(Opcode::close) && payload.size() >= 2) {
    auto code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                      static_cast<uint8_t>(payload[1]));
    body = "code=" + std::to_string(code) + " (" + close_code_name(code) + ") reason=\"" +
           logs::printable(payload.substr(2), 60) + "\"";
  } else {
    bool binary = h.opcode == static_cast<uint8_t>(Opcode::binary);
    body = "\"" + logs::printable(payload, binary ? 12 : 40) + "\"";
  }
  logs::trace("#%llu %s FIN=%d%s %s MASK=%d%s len=%llu %s", (unsigned long long)id, arrow,
              h.fin ? 1 : 0, rsv.c_str(), opcode_name(h.opcode), h.mask ? 1 : 0,
              key.c_str(), (unsigned long long)h.payload_length, body.c_str());
  // The payload's first bytes as sent: masked again with the key, if it had one.
  uint8_t wire[16];
  size_t n = std::min<size_t>(payload.size(), sizeof wire);
  for (size_t i = 0; i < n; ++i)
    wire[i] = static_cast<uint8_t>(payload[i]) ^ (h.mask ? h.masking_key[i % 4] : 0);
  logs::trace("#%llu %s   %s%s%s%s", (unsigned long long)id, arrow,
              hex(h.bytes, h.header_length).c_str(), n ? " | " : "", hex(wire, n).c_str(),
              n < payload.size() ? " ..." : "");
}

// An encoded frame of ours, decoded again for the trace.
static void trace_sent(uint64_t id, std::string_view frame) {
  if (!logs::tracing()) return;
  FrameHeader h;
  std::string reason;
  if (parse_header(frame, h, reason) == Status::done)
    trace_frame(id, "→", h, frame.substr(h.header_length));
}

// The socket
// ----------

Socket::Socket(loop::Loop& loop, std::shared_ptr<net::Connection> conn,
               const SocketOptions& options)
    : loop_(loop),
      conn_(std::move(conn)),
      options_(options),
      reader_(options.max_message),
      id_(conn_ ? conn_->id() : 0) {
  reader_.on_frame = [this](const FrameHeader& h, std::string_view payload) {
    trace_frame(id_, "←", h, payload);
  };
}

Socket::~Socket() {
  loop_.cancel(ping_timer_);
  loop_.cancel(pong_deadline_);
  // Let go of the connection: whatever is queued (a close frame) is still sent.
  if (conn_ && conn_->open()) {
    conn_->set_input_handler(nullptr);
    conn_->set_close_handler(nullptr);
    conn_->close_after_flush();
  }
}

size_t Socket::queued() const {
  return conn_ ? conn_->queued() : 0;
}

// Every byte the client sends, as it arrives; returns how much was used (a
// partial frame header is left for the next call).
size_t Socket::on_input(std::string_view in) {
  auto keep = weak_from_this().lock();  // on_message may drop the last owner
  size_t used = 0;
  while (state_ != State::closed && conn_->open()) {
    Event e = reader_.read(in.substr(used));
    used += e.consumed;
    switch (e.kind) {
      case Event::Kind::need_more:
        return used;
      case Event::Kind::message:
        // RFC 6455 §5.5.1: after our close frame we send no more data, so a
        // message that crossed it is read and dropped.
        if (state_ == State::open && on_message) on_message(e.binary, e.payload);
        break;
      case Event::Kind::ping:
        // RFC 6455 §5.5.3: a Pong carries the Ping's application data.
        if (state_ == State::open) write(Opcode::pong, e.payload);
        break;
      case Event::Kind::pong:
        // RFC 6455 §5.5.3: an unsolicited Pong is ignored; the one we wait for
        // carries our Ping's payload.
        if (pong_deadline_ && e.payload == std::to_string(ping_sent_ms_)) {
          loop_.cancel(pong_deadline_);
          pong_deadline_ = 0;
          schedule_ping();
        }
        break;
      case Event::Kind::close:
        // RFC 6455 §5.5.1: answer a close with a close (the same code), unless
        // we sent ours first; then the server closes TCP (§7.1.1).
        // EXERCISE close-handshake: answer a close frame with one (RFC 6455 §5.5.1)
        if (state_ == State::open) send_close(e.code, "");
        // END EXERCISE close-handshake
        finish(e.code, e.reason);
        close_tcp();
        return in.size();
      case Event::Kind::error:
        logs::trace("#%llu ← (refused: %s)", (unsigned long long)id_, e.reason.c_str());
        fail(e.code, e.reason);
        return in.size();
    }
  }
  return in.size();
}

void Socket::send_text(std::string_view text) {
  if (state_ == State::open) write(Opcode::text, text);
}

void Socket::send_binary(std::string_view bytes) {
  if (state_ == State::open) write(Opcode::binary, bytes);
}

void Socket::send_frame(std::string_view frame) {
  if (state_ != State::open || !conn_->open()) return;
  auto keep = weak_from_this().lock();  // a full output buffer closes, and reports
  trace_sent(id_, frame);
  conn_->send(frame);
}

// A broadcast's delivery, so the cheapest path: unlike the other senders it takes
// no owning reference to this socket for the call (two atomic operations, ~35
// instructions per delivery). None is needed: a full output buffer closes the
// connection inside conn_->send(), whose close handler holds the socket while
// it reports, and nothing here touches the socket after that call.
void Socket::send_frame(const net::SharedSlice& frame) {
  if (state_ != State::open || !conn_->open()) return;
  if (logs::tracing()) trace_sent(id_, frame.view());
  conn_->send(frame);
}

void Socket::write(Opcode opcode, std::string_view payload) {
  if (!conn_->open()) return;
  auto keep = weak_from_this().lock();
  std::string frame;
  write_frame(frame, true, opcode, payload);
  trace_sent(id_, frame);
  conn_->send(frame);
}

// RFC 6455 §5.5: a control frame's payload is at most 125 bytes, so the reason is
// cut to 123 (after the 2-byte code), at a character boundary: it must stay UTF-8.
void Socket::send_close(uint16_t code, std::string_view reason) {
  if (reason.size() > 123) {
    reason = reason.substr(0, 123);
    while (!reason.empty() && !utf8::is_valid(reason))
      reason.remove_suffix(1);
  }
  write(Opcode::close, close_payload(code, reason));
}

// RFC 6455 §7.1.2: start the closing handshake; the peer answers with its close
// frame, and on_input() then closes TCP. A peer that never answers is cut off
// after close_timeout_ms.
void Socket::close(uint16_t code, std::string_view reason) {
  if (state_ != State::open) return;
  auto keep = weak_from_this().lock();
  state_ = State::closing;
  loop_.cancel(ping_timer_);
  loop_.cancel(pong_deadline_);
  ping_timer_ = pong_deadline_ = 0;
  send_close(code, reason);
  close_tcp();
}

// RFC 6455 §7.1.7 "Fail the WebSocket Connection": the close frame with the code
// that names the problem (§7.4.1), then close TCP. Nothing more is read.
void Socket::fail(uint16_t code, const std::string& why) {
  if (state_ == State::closed) return;
  logs::info("#%llu WebSocket failed with %u (%s): %s", (unsigned long long)id_, code,
             close_code_name(code), why.c_str());
  if (state_ == State::open) send_close(code, why);
  finish(code, why);
  close_tcp();
}

// Closes TCP once what is queued is written, and for certain after
// close_timeout_ms: a peer that reads nothing must not keep the socket.
// When we are still waiting for the peer's close frame, reading goes on.
void Socket::close_tcp() {
  if (!conn_->open()) return;
  if (state_ == State::closed) conn_->close_after_flush();
  if (close_timer_) return;
  std::weak_ptr<net::Connection> weak = conn_;
  close_timer_ = loop_.after(options_.close_timeout_ms, [weak] {
    if (auto conn = weak.lock()) conn->close_now();
  });
}

// The socket is closed, one way or another: on_close runs once.
void Socket::finish(uint16_t code, std::string_view reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  loop_.cancel(ping_timer_);
  loop_.cancel(pong_deadline_);
  ping_timer_ = pong_deadline_ = 0;
  auto keep = weak_from_this().lock();
  if (auto callback = std::exchange(on_close, nullptr)) callback(code, reason);
}

// Keepalive: a Ping every ping_interval_ms; a peer that has not answered within
// pong_timeout_ms is gone (a laptop lid shut, a cable pulled: TCP alone would not
// notice for hours), and its socket is closed.
void Socket::schedule_ping() {
  if (options_.ping_interval_ms <= 0 || state_ != State::open) return;
  loop_.cancel(ping_timer_);
  std::weak_ptr<Socket> weak = weak_from_this();
  ping_timer_ = loop_.after(options_.ping_interval_ms, [weak] {
    auto self = weak.lock();
    if (!self || self->state_ != State::open) return;
    self->ping_timer_ = 0;
    // Kept as a number, not a string: 24 bytes less on every idle socket.
    self->ping_sent_ms_ = loop::Loop::now_ms();
    self->write(Opcode::ping, std::to_string(self->ping_sent_ms_));
    self->pong_deadline_ = self->loop_.after(self->options_.pong_timeout_ms, [weak] {
      auto self = weak.lock();
      if (!self || self->state_ != State::open) return;
      self->pong_deadline_ = 0;
      logs::info("#%llu WebSocket: no pong within %lld ms, closing",
                 (unsigned long long)self->id_,
                 (long long)self->options_.pong_timeout_ms);
      // RFC 6455 §7.4.1: 1001, we are going away. The peer is likely gone, so TCP is
      // closed now rather than after the frame is read.
      self->send_close(close_code::going_away, "no pong");
      self->finish(close_code::abnormal, "no pong");
      self->conn_->close_now();
    });
  });
}

}  // namespace ws
