// Lesson 03: a chat over a WebSocket written by hand (RFC 6455).
//
// What this lesson adds
// ---------------------
// Long polling (lesson 01) opens a request per message and the HTTP/2 stream
// (lesson 02) sends one way only. A WebSocket turns one HTTP/1.1 request into a
// two-way channel: the browser asks to "Upgrade", the server answers 101, and
// from then on both sides send frames whenever they like. The handshake and the
// frames are in ws_connection.cpp and websocket.cpp; this file is the chat on top:
// history on connect, posts in, every message broadcast to every socket.

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/assets.h"
#include "common/chat.h"
#include "common/flags.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/trace_page.h"
#include "ws_connection.h"

namespace {

// Wire format
// -----------
// GET /chat?since=7&history=9f2c1e0a7b3d5f61 with Upgrade: websocket, then JSON
// text messages (since and history optional; ids of another history are ignored):
//   server → {"type":"hello","history_id":"9f2c1e0a7b3d5f61"}, then
//            {"type":"history","messages":[...],"missed":0}   once, on connect
//   client → {"type":"post","user":"ada","text":"hi","ref":3,"cid":"k3"}
//            ref: optional, echoed; cid: optional, a repeat is stored once
//   server → {"type":"message","id":8,"user":"ada","text":"hi","time":...}
//            to every socket once it is on disk; the sender's copy ends with
//            ,"ref":3 (a repeated cid gets only that copy, of the stored message)
//   server → {"type":"error","error":"text: must be 1-2000 characters","ref":3}
// GET /echo: every message comes back exactly as it was sent (text or binary).

struct Options {
  int64_t port = 8003;
  int64_t history = 1000;
  int64_t max_message = 1 << 20;
  int64_t ping_interval_ms = 30'000;
  int64_t pong_timeout_ms = 10'000;
  int64_t head_timeout_ms = 10'000;
  int64_t max_connections = 0;
  std::string allow_origin;
  chat::StoreOptions store;
  bool trace = false;
  bool trace_page = false;
};

constexpr size_t kLatest = 50;  // what a client gets before it has seen anything

// Per-connection state
// --------------------
// A WebSocket is a long-lived object: the server keeps every chat socket so that
// a post can be broadcast to all of them.
class SocketChat {
 public:
  SocketChat(loop::Loop& loop, const Options& options, chat::Journal& journal);

  void handle(const std::shared_ptr<http::Exchange>& ex);
  void shutdown();

 private:
  void serve_asset(const std::shared_ptr<http::Exchange>& ex);
  void open_chat(const std::shared_ptr<http::Exchange>& ex);
  void open_echo(const std::shared_ptr<http::Exchange>& ex);
  void on_chat_message(ws::Socket& socket, bool binary, std::string_view text);
  void broadcast(const chat::Message& m, ws::Socket* sender, const json::Value* ref,
                 bool everyone);
  void forget(uint64_t id);  // a socket has closed

  loop::Loop& loop_;
  Options options_;
  chat::Room& room_;
  const chat::Journal& journal_;  // for the history's id
  ws::HandshakeOptions handshake_;
  ws::SocketOptions socket_options_;
  std::unordered_map<uint64_t, std::shared_ptr<ws::Socket>> sockets_;  // chat and echo
  std::unordered_map<uint64_t, ws::Socket*> chat_;  // chat only
  net::SharedBuffer frames_;  // broadcast frames, shared by every socket's queue
  bool broadcasting_ = false;
  std::vector<uint64_t> closed_;  // closed during a broadcast, forgotten after it
};

SocketChat::SocketChat(loop::Loop& loop, const Options& options, chat::Journal& journal)
    : loop_(loop), options_(options), room_(journal.room("")), journal_(journal) {
  // Browsers send a "json" subprotocol offer only if our client.js asks for it.
  handshake_.subprotocols = {"json"};
  std::string_view list = options.allow_origin;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view origin = list.substr(0, comma);
    // "a, b" as well as "a,b"
    while (!origin.empty() && origin.front() == ' ')
      origin.remove_prefix(1);
    if (!origin.empty()) handshake_.allowed_origins.emplace_back(origin);
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  socket_options_.max_message = static_cast<size_t>(options.max_message);
  socket_options_.ping_interval_ms = options.ping_interval_ms;
  socket_options_.pong_timeout_ms = options.pong_timeout_ms;
}

// Handlers
// --------

void SocketChat::handle(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  if (req.path == "/chat" || req.path == "/echo") {
    // RFC 6455 §4.1: the opening handshake is a GET.
    if (req.method != "GET") return ex->respond(http::method_not_allowed("GET"));
    return req.path == "/chat" ? open_chat(ex) : open_echo(ex);
  }
  if (assets::find(req.path)) {
    if (req.method == "GET" || req.method == "HEAD") return serve_asset(ex);
    return ex->respond(http::method_not_allowed("GET, HEAD"));
  }
  // Only the few paths above exist; nothing is ever looked up on disk.
  ex->respond(http::text_response(404, "not found\n"));
}

void SocketChat::serve_asset(const std::shared_ptr<http::Exchange>& ex) {
  ex->respond(http::asset_response(*assets::find(ex->request().path)));
}

// {"type":"history","messages":[{...},{...}],"missed":0}
static std::string history_json(const chat::Page& page) {
  std::string out = "{\"type\":\"history\",\"messages\":[";
  for (size_t i = 0; i < page.messages.size(); ++i) {
    if (i) out += ',';
    chat::append_json(out, *page.messages[i]);
  }
  out += "],\"missed\":" + std::to_string(page.missed) + "}";
  return out;
}

// Reads ?since=ID: absent means "I have nothing yet"; anything but digits is a 400.
static bool read_since(const http::Request& req, std::optional<uint64_t>& since) {
  auto raw = req.param("since");
  if (!raw) return true;
  since = chat::parse_id(*raw);
  return since.has_value();
}

void SocketChat::open_chat(const std::shared_ptr<http::Exchange>& ex) {
  // Read ?since= before the upgrade, so a bad one is still an HTTP 400.
  std::optional<uint64_t> since;
  if (!read_since(ex->request(), since))
    return ex->respond(http::json_response(
        400, chat::error_json("since: must be a message id (a whole number >= 0)")));
  // Ids from another history (the server started afresh) mean nothing here.
  auto history = ex->request().param("history");
  if (history && *history != journal_.id()) since.reset();
  auto socket = ws::Socket::upgrade(loop_, ex, handshake_, socket_options_);
  if (!socket) return;  // refused: upgrade() answered with 400, 403 or 426
  uint64_t id = socket->id();
  sockets_[id] = socket;
  chat_[id] = socket.get();
  ws::Socket* raw = socket.get();
  socket->on_message = [this, raw](bool binary, std::string_view payload) {
    on_chat_message(*raw, binary, payload);
  };
  socket->on_close = [this, id](uint16_t, std::string_view) { forget(id); };
  // The history first, so the client starts where it left off.
  // The history's id first: a client from another history starts over.
  socket->send_text(json::stringify(
      json::Value(json::Object{{"type", "hello"}, {"history_id", journal_.id()}})));
  socket->send_text(history_json(since ? room_.after(*since) : room_.latest(kLatest)));
}

void SocketChat::open_echo(const std::shared_ptr<http::Exchange>& ex) {
  auto socket = ws::Socket::upgrade(loop_, ex, handshake_, socket_options_);
  if (!socket) return;
  uint64_t id = socket->id();
  sockets_[id] = socket;
  ws::Socket* raw = socket.get();
  // Exactly as received: text as text, binary as binary, any size up to the limit.
  socket->on_message = [raw](bool binary, std::string_view payload) {
    binary ? raw->send_binary(payload) : raw->send_text(payload);
  };
  socket->on_close = [this, id](uint16_t, std::string_view) { sockets_.erase(id); };
}

void SocketChat::on_chat_message(ws::Socket& socket, bool binary, std::string_view text) {
  // RFC 6455 §7.4.1: 1003 is for data of a type the endpoint cannot accept.
  if (binary) return socket.close(1003, "the chat takes JSON text messages only");
  json::ParseResult parsed = json::parse(text);
  const json::Value* ref = parsed.value ? parsed.value->find("ref") : nullptr;
  auto refuse = [&](const std::string& error) {
    // A bad post is answered and the socket stays open: it is a chat error, not a
    // protocol error.
    json::Value reply(json::Object{{"type", "error"}, {"error", error}});
    if (ref) reply.set("ref", *ref);
    socket.send_text(json::stringify(reply));
  };
  if (!parsed.value) return refuse("malformed JSON: " + parsed.error);
  const json::Value* type = parsed.value->find("type");
  if (!type || !type->is_string() || type->as_string() != "post")
    return refuse("type: expected \"post\"");
  std::string error;
  auto post = chat::read_post(*parsed.value, error);
  if (!post) return refuse(error);
  // Sent at the end of this turn, once the message is on disk (common/chat.h); by
  // then the sender may have gone.
  std::optional<json::Value> kept;
  if (ref) kept = *ref;
  const uint64_t id = socket.id();
  room_.post(std::move(*post), [this, id, kept](const chat::Posted& posted) {
    auto it = chat_.find(id);
    ws::Socket* sender = it == chat_.end() ? nullptr : it->second;
    const json::Value* ref = kept ? &*kept : nullptr;
    if (posted.error.empty()) return broadcast(posted.message, sender, ref, posted.fresh);
    if (!sender) return;
    json::Value reply(json::Object{{"type", "error"}, {"error", posted.error}});
    if (ref) reply.set("ref", *ref);
    sender->send_text(json::stringify(reply));
  });
}

// The frame is encoded once, copied once into frames_ (a net::SharedBuffer), and
// every socket queues a reference to those same bytes: no copy, allocation or
// encoding per recipient, and the frames of one turn's posts sit side by side, so
// each socket sends them all with one send(). With a copy per socket, the
// server spent ~420 instructions per delivery of its own; now ~150
// (tests/bench/README.md, "What the profile says").
// everyone = false: a repeated post, only the sender hears of it again.
void SocketChat::broadcast(const chat::Message& m, ws::Socket* sender,
                           const json::Value* ref, bool everyone) {
  std::string json = chat::to_json(m);  // {"id":8,...}
  json.insert(1, "\"type\":\"message\",");  // {"type":"message","id":8,...}
  if (everyone) {
    std::string frame;
    ws::write_frame(frame, true, ws::Opcode::text, json);
    net::SharedSlice shared = frames_.append(frame);
    // A socket whose reader has fallen too far behind is closed inside
    // send_frame(); its on_close waits until the loop is over (closed_).
    broadcasting_ = true;
    for (auto& [id, socket] : chat_)
      if (socket != sender || !ref) socket->send_frame(shared);
    broadcasting_ = false;
    for (uint64_t id : std::exchange(closed_, {}))
      forget(id);
  }
  if (ref && sender) {
    // The sender's copy carries its ref, so its page can settle the pending post.
    json.pop_back();
    json += ",\"ref\":" + json::stringify(*ref) + "}";
    sender->send_text(json);
  }
}

void SocketChat::forget(uint64_t id) {
  if (broadcasting_) return closed_.push_back(id);
  chat_.erase(id);
  sockets_.erase(id);
}

// SIGTERM or Ctrl-C: RFC 6455 §7.4.1 code 1001, "going away".
void SocketChat::shutdown() {
  auto all = sockets_;
  for (auto& [id, socket] : all)
    socket->close(1001, "server shutting down");
}

}  // namespace

// main
// ----

int main(int argc, char** argv) {
  Options options;
  options.store.data = store::beside_binary(argv[0], "lesson-3.log");
  flags::Flags f("lesson-3", "A chat over a WebSocket written by hand (RFC 6455).");
  f.add("--port", &options.port, "port to listen on, 0 picks a free one");
  f.add("--trace", &options.trace, "print every handshake and frame as it crosses");
  f.add("--trace-page", &options.trace_page,
        "let a page that asks (its switch) see --trace lines of its own connections");
  f.add("--history", &options.history, "messages the room keeps");
  f.add("--max-message", &options.max_message, "largest message in bytes (else 1009)");
  f.add("--ping-interval", &options.ping_interval_ms, "ms between pings to each client");
  f.add("--pong-timeout", &options.pong_timeout_ms, "ms a client has to answer a ping");
  f.add("--allow-origin", &options.allow_origin,
        "other origins allowed to connect, comma-separated (e.g. http://localhost:3000)");
  f.add("--head-timeout", &options.head_timeout_ms, "ms a request head may take");
  f.add("--max-connections", &options.max_connections,
        "connections open at once, past it 503 (0: up to the open-file limit)");
  chat::add_store_flags(f, options.store);
  f.parse(argc, argv);
  if (options.trace) logs::enable_trace();
  if (options.trace_page) trace_page::enable();
  if (options.max_message < 1) {
    std::fprintf(stderr, "lesson-3: --max-message must be at least 1 byte\n");
    return 2;
  }

  loop::Loop loop;
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  if (std::string error = journal.open(options.store); !error.empty()) {
    std::fprintf(stderr, "lesson-3: %s\n", error.c_str());
    return 1;
  }
  SocketChat app(loop, options, journal);
  http::ServerOptions server_options;
  server_options.head_timeout_ms = options.head_timeout_ms;
  http::Server server(loop, server_options, [&app](const auto& ex) { app.handle(ex); });
  net::Limits limits;
  limits.max_connections = static_cast<size_t>(options.max_connections);
  limits.refusal = http::busy_response();
  net::Listener listener(loop, limits);
  listener.on_accept([&server](const auto& conn) { server.serve(conn); });
  if (std::string error = listener.listen(static_cast<int>(options.port));
      !error.empty()) {
    std::fprintf(stderr, "lesson-3: %s\n", error.c_str());
    return 1;
  }
  // Installed before the URL is printed: whoever read the URL may signal at once.
  net::on_shutdown_signal(loop, [&] {
    logs::info("shutting down: closing every WebSocket with 1001");
    app.shutdown();
    listener.shutdown(2000, [&loop] { loop.stop(); });
  });
  // The URL is the first line on stdout: tests and scripts read the port from it.
  std::printf("http://localhost:%d/\n", listener.port());
  std::fflush(stdout);
  logs::info("lesson-3 listening on 127.0.0.1 and ::1 port %d (%s back end)",
             listener.port(), loop::Loop::backend());
  loop.run();
  return 0;
}
