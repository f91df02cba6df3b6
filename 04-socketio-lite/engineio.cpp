#include "engineio.h"

#include <random>

#include "common/json.h"
#include "common/log.h"
#include "common/trace_page.h"

namespace eio {

// The reference server's errorMessages, by code.
static const char* error_message(int code) {
  static const char* const messages[] = {
      "Transport unknown", "Session ID unknown", "Bad handshake method",
      "Bad request",       "Forbidden",          "Unsupported protocol version"};
  return messages[code];
}

// How long a closed WebSocket is kept for its closing handshake.
constexpr int64_t kRetireMs = 5'000;

// 15 random bytes as 20 characters of URL-safe base64, like the reference's
// base64id: unguessable, since knowing a sid is enough to speak for its client.
static std::string new_sid() {
  static std::random_device random;
  std::string bytes;
  for (int i = 0; i < 15; ++i)
    bytes += char(random() & 0xff);
  std::string sid = base64_encode(bytes);
  for (char& c : sid)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return sid;
}

// Server
// ------

Server::Server(loop::Loop& loop, Options options)
    : loop_(loop),
      options_(options),
      session_options_(std::make_shared<const Options>(std::move(options))) {}

Server::~Server() {
  // Sessions the application still holds outlive us: they must not call back.
  for (auto& [sid, session] : sessions_)
    session->server_ = nullptr;
}

// Like the reference's close(): a held GET gets the close packet, a WebSocket its
// close frame (1001, after the close packet: see Socket::close). A polling client
// between two GETs is waited for (kShutdownPollWaitMs), where the reference
// discards its session at once and the client finds out from a failed request.
void Server::shutdown(std::function<void()> done) {
  shutting_down_ = true;
  auto sessions = sessions_;  // a copy: each close removes its session
  for (auto& [sid, session] : sessions)
    session->close();
  shutdown_done_ = std::move(done);
  if (sessions_.empty()) shut_down();
}

void Server::forget(const std::string& sid) {
  sessions_.erase(sid);
  if (sessions_.empty()) shut_down();
}

// The last session is gone: whoever waits for the shutdown is told, once.
void Server::shut_down() {
  if (!shutdown_done_) return;
  std::function<void()> done;
  done.swap(shutdown_done_);
  done();
}

// A WebSocket we are done with is closed, and held while its closing handshake
// runs (RFC 6455 §7.1.1: the server closes TCP after it). Never released inside
// its own callback: old ones are let go only here, or when the Server goes.
void Server::retire(std::shared_ptr<ws::Socket> ws) {
  // RFC 6455 §7.4.1: 1001 "going away", such as a server going down.
  if (ws->open() && shutting_down_) ws->close(1001, "server shutting down");
  if (ws->open()) ws->close(1000);
  int64_t now = loop::Loop::now_ms();
  std::erase_if(retired_,
                [now](const Retired& r) { return r.until < now && !r.ws->open(); });
  retired_.push_back({now + kRetireMs, std::move(ws)});
}

// CORS (the reference runs the `cors` middleware before anything else, so every
// polling answer carries these, errors included). "*" cannot go with credentials.
void Server::add_cors(const Options& options, const http::Request& req,
                      http::Response& r) {
  if (options.cors_origin.empty()) return;
  r.headers.push_back({"Access-Control-Allow-Origin", options.cors_origin});
  if (options.cors_origin != "*") {
    r.headers.push_back({"Access-Control-Allow-Credentials", "true"});
    r.headers.push_back({"Vary", "Origin"});
  }
  if (req.method == "OPTIONS") {
    r.headers.push_back({"Access-Control-Allow-Methods", "GET, POST"});
    if (const std::string* asked = req.header("access-control-request-headers"))
      r.headers.push_back({"Access-Control-Allow-Headers", *asked});
  }
}

// The reference answers a refused request with {"code":N,"message":"..."} (403 for
// Forbidden, else 400); a refused WebSocket upgrade gets the bare message.
void Server::refuse(const std::shared_ptr<http::Exchange>& ex, int code, bool websocket) {
  const http::Request& req = ex->request();
  // The path only: the query may carry a sid, a credential.
  std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  logs::info("#%llu eio refused %s %.*s: %d %s", (unsigned long long)ex->connection_id(),
             req.method.c_str(), (int)path.size(), path.data(), code,
             error_message(code));
  if (websocket) {
    http::Response r =
        http::text_response(code == kForbidden ? 403 : 400, error_message(code));
    r.content_type = "text/html";
    ex->respond(std::move(r));
    return;
  }
  ex->respond(error_response(options_, req, code));
}

// Past max_sessions: every session holds memory until it ends, and a handshake
// costs the client one request, so without a cap a flood of handshakes grows the
// server without bound. The protocol's error codes (the reference's six) have
// none for "busy", so the body says 3 "Bad request", and the status says what is
// meant: RFC 9110 §15.6.4, 503 is "temporarily overloaded", with Retry-After
// (§10.2.3). A client treats any failed handshake as a reason to retry later.
void Server::refuse_busy(const std::shared_ptr<http::Exchange>& ex, bool websocket) {
  const http::Request& req = ex->request();
  ++busy_refused_;
  // One line a second at most, however fast the handshakes come.
  if (int64_t now = loop::Loop::now_ms(); now - busy_logged_ms_ >= 1000) {
    if (shutting_down_)
      logs::warn("eio refused %llu handshake(s): shutting down",
                 (unsigned long long)busy_refused_);
    else
      logs::warn("eio refused %llu handshake(s): --max-sessions %zu are open",
                 (unsigned long long)busy_refused_, options_.max_sessions);
    busy_logged_ms_ = now;
    busy_refused_ = 0;
  }
  http::Response r;
  if (websocket) {
    r = http::text_response(503, error_message(kBadRequest));
    r.content_type = "text/html";
  } else {
    r = error_response(options_, req, kBadRequest);
    r.status = 503;
  }
  r.headers.push_back({"Retry-After", "1"});
  ex->respond(std::move(r));
}

http::Response Server::error_response(const Options& options, const http::Request& req,
                                      int code) {
  json::Object body{{"code", code}, {"message", error_message(code)}};
  http::Response r = http::json_response(code == kForbidden ? 403 : 400,
                                         json::stringify(json::Value(body)));
  add_cors(options, req, r);
  return r;
}

// The reference leaves this to an allowRequest hook, which answers Forbidden; ours
// is one rule, lesson 03's for WebSockets: a page from another origin (a browser
// always sends Origin on a cross-origin request) is refused unless --cors-origin
// names it. Clients that are not browsers send no Origin and are let in.
static bool origin_allowed(const Options& options, const http::Request& req) {
  const std::string* origin = req.header("origin");
  if (!origin || options.cors_origin == "*") return true;
  if (!options.cors_origin.empty() && http::iequals(*origin, options.cors_origin))
    return true;
  const std::string* host = req.header("host");
  std::string_view o = *origin;
  for (std::string_view scheme : {"http://", "https://"})
    if (o.substr(0, scheme.size()) == scheme)
      return host && http::iequals(o.substr(scheme.size()), *host);
  return false;  // "null" (a sandboxed page, a file), or not an origin at all
}

bool Server::handle(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  if (req.path.compare(0, options_.path.size(), options_.path) != 0) return false;
  // A CORS preflight is answered before any Engine.IO rule is checked.
  if (req.method == "OPTIONS" && !options_.cors_origin.empty()) {
    http::Response r;
    r.status = 204;
    add_cors(options_, req, r);
    ex->respond(std::move(r));
    return true;
  }
  // Unknown query parameters (the client's cache-busting t=...) are ignored.
  std::string_view transport = req.param("transport").value_or("");
  const std::string* upgrade_header = req.header("upgrade");
  bool upgrade = upgrade_header && http::has_token(*upgrade_header, "websocket");
  // Engine.IO v4 "Transports": polling or websocket, nothing else.
  if (transport != "polling" && transport != "websocket")
    return refuse(ex, kUnknownTransport, upgrade), true;
  // A WebSocket handshake with transport=polling: the polling transport cannot
  // take an upgraded connection.
  if (upgrade && transport != "websocket") return refuse(ex, kBadRequest, true), true;
  if (!origin_allowed(options_, req)) return refuse(ex, kForbidden, upgrade), true;

  if (auto sid = req.param("sid")) {
    auto it = sessions_.find(std::string(*sid));
    // Engine.IO v4 "Sending data" / "Receiving data": an unknown sid is a 400.
    if (it == sessions_.end()) return refuse(ex, kUnknownSid, upgrade), true;
    std::shared_ptr<Socket> session = it->second;
    if (upgrade) return this->upgrade(ex, *session), true;
    // Only the session's current transport may send plain HTTP requests: after
    // the upgrade, polling with this sid is refused.
    if (transport != session->transport()) return refuse(ex, kBadRequest, false), true;
    if (req.method == "GET") {
      session->on_poll(ex);
    } else if (req.method == "POST") {
      session->on_post(ex);
    } else {
      // The reference answers 500 here; 405 says what is wrong.
      http::Response r = http::method_not_allowed("GET, POST");
      add_cors(options_, req, r);
      ex->respond(std::move(r));
    }
    return true;
  }
  // Engine.IO v4 "Handshake": a new session starts with a GET ...
  if (req.method != "GET") return refuse(ex, kBadHandshakeMethod, upgrade), true;
  // ... a WebSocket one with a real WebSocket handshake ...
  if (transport == "websocket" && !upgrade) return refuse(ex, kBadRequest, false), true;
  // ... and EIO=4 (Engine.IO v4 "Query parameters": mandatory).
  if (req.param("EIO") != std::optional<std::string_view>("4"))
    return refuse(ex, kUnsupportedProtocolVersion, upgrade), true;
  // Every handshake would be a session held for a while: past max_sessions, none;
  // and none once shutting down, while the last sessions are told.
  if (shutting_down_ ||
      (options_.max_sessions && sessions_.size() >= options_.max_sessions))
    return refuse_busy(ex, upgrade), true;
  handshake(ex, upgrade);
  return true;
}

std::shared_ptr<ws::Socket> Server::accept_websocket(
    const std::shared_ptr<http::Exchange>& ex) {
  ws::HandshakeOptions handshake;
  // handle() has checked the Origin already (origin_allowed, "*" included).
  if (const std::string* origin = ex->request().header("origin"))
    handshake.allowed_origins.push_back(*origin);
  ws::SocketOptions socket;
  socket.max_message = options_.max_payload;
  socket.ping_interval_ms = 0;  // Engine.IO v4 "Heartbeat" is ours, in packets
  return ws::Socket::upgrade(loop_, ex, handshake, socket);
}

// Engine.IO v4 "Handshake": the open packet, then the heartbeat starts.
//   0{"sid":"...","upgrades":["websocket"],"pingInterval":25000,
//     "pingTimeout":20000,"maxPayload":1000000}
void Server::handshake(const std::shared_ptr<http::Exchange>& ex, bool websocket) {
  std::shared_ptr<ws::Socket> ws;
  if (websocket && !(ws = accept_websocket(ex))) return;  // upgrade() answered
  auto session = std::make_shared<Socket>(*this, new_sid(), ex->request());
  session->log_name_ = "session " + std::to_string(++sessions_opened_);
  // --trace-page: the session's "eio <sid>" lines go to this connection's page.
  trace_page::alias(session->id(), ex->connection_id());
  json::Array upgrades;
  // A WebSocket session has nothing better to upgrade to.
  if (!websocket) upgrades.push_back("websocket");
  json::Object open{{"sid", session->id()},
                    {"upgrades", upgrades},
                    {"pingInterval", options_.ping_interval_ms},
                    {"pingTimeout", options_.ping_timeout_ms},
                    {"maxPayload", uint64_t(options_.max_payload)}};
  sessions_[session->id()] = session;
  session->write(Packet{PacketType::open, json::stringify(json::Value(open))});
  if (websocket) {
    session->use_websocket(ws);
  } else {
    session->on_poll(ex);  // answered at once: the open packet is waiting
  }
  session->schedule_ping();
  logs::trace("eio %s opened over %s as %s", session->id().c_str(), session->transport(),
              session->log_name().c_str());
  if (on_connection) on_connection(session);
}

// Engine.IO v4 "Upgrade": a WebSocket with the sid of a polling session. One try at
// a time, and none once upgraded ("A client MUST NOT open more than one WebSocket
// connection per session. Should it happen, the server MUST close [it]").
void Server::upgrade(const std::shared_ptr<http::Exchange>& ex, Socket& session) {
  std::shared_ptr<ws::Socket> ws = accept_websocket(ex);
  if (!ws) return;
  if (session.ws_ || session.probe_ || !session.open()) {
    logs::info("eio %s: a second WebSocket for the session, closed",
               session.log_name().c_str());
    retire(std::move(ws));
    return;
  }
  session.probe(std::move(ws));
}

}  // namespace eio
