// Lesson 04: a chat over Socket.IO (v5, on Engine.IO v4), written by hand.
//
// What this lesson adds
// ---------------------
// Lesson 03's WebSocket is a pipe of messages; everything else was ours to invent.
// Socket.IO is a common answer to "everything else", in two layers. Engine.IO
// (engineio.cpp) keeps one session alive whatever the network allows: long polling
// first or WebSocket, the upgrade between them, its own heartbeat. Socket.IO
// (socketio.cpp for the packets, io.cpp and socket.cpp for the server API) adds
// named events, acknowledgements, binary attachments, namespaces and rooms. This
// file is the chat written against that API, the way a socket.io application
// would be: middleware checks the user, each room is a Socket.IO room, a post is
// acknowledged with the stored message, and plain HTTP can post too.

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "cluster.h"
#include "common/assets.h"
#include "common/chat.h"
#include "common/flags.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/trace_page.h"
#include "common/utf8.h"
#include "conformance.h"
#include "engineio.h"
#include "io.h"

namespace {

// Wire format
// -----------
// An Engine.IO session at /socket.io/ carries Socket.IO packets; the first digit
// is Engine.IO's (4 = message), the second Socket.IO's (0 CONNECT, 2 EVENT, 3 ACK,
// 4 CONNECT_ERROR), then an optional ack id, then JSON:
//   client → 40{"user":"ada"}                        CONNECT with the auth payload
//   server → 40{"sid":"..."}
//            or 44{"message":"user: must be a string","data":{...}}
//   client → 420["room:join","general"]              → 430[{"room":"general"}]
//   server → 42["online",{"room":"general","users":["ada","bob"]}]   to the room
//   client → 421["msg:get",{"room":"general","since":7}]
//                                       → 431[{"messages":[...],"missed":0}]
//   client → 421["msg:get",{"room":"general"}], or with "history":"9f2c1e0a7b3d5f61"
//                                       → 431[{"messages":[...],"missed":0,
//                                              "history_id":"9f2c1e0a7b3d5f61"}]
//            since from another history (the server started afresh) is ignored
//   client → 422["msg:post",{"user":"ada","text":"hi","cid":"k3"}]
//                                       → 432[{"id":8,...}] or 432[{"error":"..."}]
//            once it is on disk; a repeated cid gets the message already stored
//   server → 42["msg:new",{"id":8,"user":"ada","text":"hi","time":...}]  to the others
//   POST /api/messages {"room":"general","user":"ada","text":"hi"}
//                                       → 201 {"id":8,...}, and msg:new to the room
// With connection state recovery on (--recovery-window, io_recovery.h) the CONNECT
// reply also holds a private session id and the log's offset, and every msg:new
// ends with its offset: 42["msg:new",{...},"9f2c1e0a7b3d5f61-9"]; a client that
// comes back with 40{"pid":"...","offset":"...","user":"ada"} gets its socket,
// room and missed messages back. "online" is volatile: never replayed, since a
// recovered socket hears the current list anyway.
// "missed" counts messages after `since` that fell out of the bounded history.

struct Options {
  int64_t port = 8004;
  int64_t history = 1000;
  int64_t ping_interval_ms = 25'000;
  int64_t ping_timeout_ms = 20'000;
  int64_t max_payload = 1'000'000;
  int64_t connect_timeout_ms = 45'000;
  int64_t max_sessions = 10'000;
  int64_t head_timeout_ms = 10'000;
  int64_t max_connections = 0;
  std::string cors_origin;
  chat::StoreOptions store;
  std::string redis;  // HOST:PORT: join the cluster of nodes on this Redis
  std::string node;  // a name the page shows: which node of the cluster serves it
  int64_t recovery_window_ms = 120'000;  // connection state recovery; 0: off
  bool protocol_echo = false;
  bool trace = false;
  bool trace_page = false;
};

constexpr size_t kLatest = 50;  // what a client gets before it has seen anything
const char* const kRooms[] = {"general", "random"};
const char* const kNoSuchRoom = "room: must be \"general\" or \"random\"";

// A Socket.IO string may hold a lone surrogate: socketio.cpp reads "\ud83d" as
// JSON.parse does, since a JavaScript client that cuts a string by UTF-16 code
// units sends one. The chat stores only text, so such a post is answered, not
// dropped: {"error":"text: must be valid Unicode"}.
static std::optional<std::string> not_unicode(const json::Value& post) {
  for (const char* field : {"user", "text"}) {
    const json::Value* v = post.find(field);
    if (v && v->is_string() && !utf8::is_valid(v->as_string()))
      return std::string(field) + ": must be valid Unicode";
  }
  return std::nullopt;
}

// Per-connection state
// --------------------
// Engine.IO keeps the sessions and Socket.IO the sockets and rooms (io.cpp). What
// the chat adds is two fields in each socket's data: {"user":"ada","room":"general"}.
class SocketIoChat {
 public:
  SocketIoChat(const Options& options, eio::Server& engine, sio::Server& io,
               chat::Journal& journal);

  void handle(const std::shared_ptr<http::Exchange>& ex);
  // --redis: the history is the cluster's, in Redis (cluster_history.cpp).
  // And the online lists are the cluster's (cluster_presence.cpp).
  void share_history(cluster::Adapter* adapter);
  void shutdown(std::function<void()> done);

 private:
  void serve_asset(const std::shared_ptr<http::Exchange>& ex);
  void post_message(const std::shared_ptr<http::Exchange>& ex);
  void on_connection(const std::shared_ptr<sio::Socket>& socket);
  void join_room(sio::Socket& socket, const sio::Args& args, const sio::Ack& ack);
  void get_messages(sio::Socket& socket, const sio::Args& args, const sio::Ack& ack);
  void send_message(sio::Socket& socket, const sio::Args& args, const sio::Ack& ack);
  void announce_online(const std::string& room);
  void tell_online(const std::string& room, std::set<std::string> users);
  std::set<std::string> online_here(const std::string& room);
  chat::Room* find_room(const std::string& name);

  Options options_;
  eio::Server& engine_;
  sio::Server& io_;
  // Each room keeps its own history, all of them in one log (common/chat.h).
  std::map<std::string, chat::Room*> rooms_;
  const chat::Journal& journal_;  // for the history's id
  cluster::Adapter* shared_ = nullptr;  // with --redis, instead of the rooms above
};

SocketIoChat::SocketIoChat(const Options& options, eio::Server& engine, sio::Server& io,
                           chat::Journal& journal)
    : options_(options), engine_(engine), io_(io), journal_(journal) {
  for (const char* name : kRooms)
    rooms_.emplace(name, &journal.room(name));
  if (options.protocol_echo) {
    sio::install_protocol_echo(io_);
    return;
  }

  // Middleware: a socket joins "/" only with a valid user name in its auth
  // payload; a refusal reaches the client as CONNECT_ERROR (connect_error there).
  io_.use([](sio::Socket& socket) -> std::optional<sio::ConnectError> {
    std::string error;
    const json::Value* user = socket.auth().find("user");
    if (!user || !user->is_string())
      error = "user: must be a string";
    else if (auto e = not_unicode(socket.auth()))
      error = *e;
    else if (auto e = chat::validate(user->as_string(), "-"))
      error = *e;
    if (error.empty()) return std::nullopt;
    return sio::ConnectError{
        error,
        json::Value(json::Object{{"field", "user"}, {"example", "{\"user\":\"ada\"}"}})};
  });
  io_.on_connection([this](const auto& socket) { on_connection(socket); });
}

// Handlers
// --------

void SocketIoChat::handle(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  // /socket.io/ belongs to Engine.IO: its handshake, polls, posts and upgrades.
  if (engine_.handle(ex)) return;
  if (req.path == "/api/messages") {
    if (req.method == "POST") return post_message(ex);
    // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
    return ex->respond(http::method_not_allowed("POST"));
  }
  if (assets::find(req.path)) {
    if (req.method == "GET" || req.method == "HEAD") return serve_asset(ex);
    return ex->respond(http::method_not_allowed("GET, HEAD"));
  }
  // Only the few paths above exist; nothing is ever looked up on disk.
  ex->respond(http::text_response(404, "not found\n"));
}

void SocketIoChat::serve_asset(const std::shared_ptr<http::Exchange>& ex) {
  ex->respond(http::asset_response(*assets::find(ex->request().path)));
}

chat::Room* SocketIoChat::find_room(const std::string& name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second;
}

// {"messages":[{...},{...}],"missed":0}, then "history_id":"..." if given
static json::Value page_value(const chat::Page& page,
                              const std::string* history = nullptr) {
  json::Array messages;
  for (const chat::Message* m : page.messages)
    messages.push_back(chat::to_value(*m));
  json::Value v(json::Object{{"messages", std::move(messages)},
                             {"missed", json::Value(page.missed)}});
  if (history) v.set("history_id", *history);
  return v;
}

static sio::Args error_reply(const std::string& error) {
  return sio::Args{json::Value(json::Object{{"error", error}})};
}

// Plain HTTP, no socket: the message is stored first, then pushed to its room
// through the registry, which any part of the program can reach.
void SocketIoChat::post_message(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  const std::string* type = req.header("content-type");
  if (!type || !http::iequals(type->substr(0, type->find(';')), "application/json"))
    return ex->respond(http::json_response(
        415, chat::error_json("body: Content-Type must be application/json")));
  json::ParseResult body = json::parse(req.body);
  if (!body.value)
    return ex->respond(http::json_response(
        400, chat::error_json("body: malformed JSON: " + body.error)));
  const json::Value* room = body.value->find("room");
  chat::Room* target = room && room->is_string() ? find_room(room->as_string()) : nullptr;
  if (!target)
    return ex->respond(http::json_response(400, chat::error_json(kNoSuchRoom)));
  std::string error;
  auto post = chat::read_post(*body.value, error);
  if (!post) return ex->respond(http::json_response(400, chat::error_json(error)));
  if (shared_) {  // stored in Redis and sent to every node's room at once
    return shared_->post(room->as_string(), std::move(*post), "", [ex](const auto& p) {
      if (!p.error.empty())
        return ex->respond(http::json_response(503, chat::error_json(p.error)));
      ex->respond(http::json_response(201, chat::to_json(p.message)));
    });
  }
  // Answered at the end of this turn, once the message is on disk (common/chat.h).
  target->post(std::move(*post), [ex, name = room->as_string()](const chat::Posted& p) {
    if (!p.error.empty())
      return ex->respond(http::json_response(503, chat::error_json(p.error)));
    ex->respond(http::json_response(201, chat::to_json(p.message)));
    if (sio::Server* io = sio::registry::io(); io && p.fresh)
      io->to(name).emit("msg:new", sio::Args{chat::to_value(p.message)});
  });
}

void SocketIoChat::on_connection(const std::shared_ptr<sio::Socket>& socket) {
  sio::Socket* s = socket.get();  // the API drops these handlers on disconnect
  // A recovered socket skipped the middleware: its data (user, room) is the saved
  // one. A session saved before this handler ran (the node died right after the
  // CONNECT) has no user yet: the auth must give a valid one, as the middleware asks.
  const json::Value* saved = s->data.find("user");
  if (!s->recovered() || !saved || !saved->is_string()) {
    const json::Value* user = s->auth().find("user");
    if (!user || !user->is_string() || not_unicode(s->auth()) ||
        chat::validate(user->as_string(), "-")) {
      logs::info("%s: recovered without a user name, disconnected", s->id().c_str());
      return s->disconnect();
    }
    s->data.set("user", user->as_string());
  }
  // 42["node","a"]: behind a front (make lesson-4-cluster), the page shows its node.
  // Volatile: sent again on every connection, so never worth replaying (and with
  // --redis a replayable emit would cost an XADD per connection).
  if (!options_.node.empty())
    s->emit_volatile("node", sio::Args{json::Value(options_.node)});
  s->on("room:join",
        [this, s](const auto& args, const auto& ack) { join_room(*s, args, ack); });
  s->on("msg:get",
        [this, s](const auto& args, const auto& ack) { get_messages(*s, args, ack); });
  s->on("msg:post",
        [this, s](const auto& args, const auto& ack) { send_message(*s, args, ack); });
  s->on_disconnect([this, s](const std::string& reason) {
    logs::info("%s (%s) left: %s", s->id().c_str(),
               s->data.find("user")->as_string().c_str(), reason.c_str());
    // It has already left every room: the others hear who is still there.
    if (const json::Value* room = s->data.find("room"))
      announce_online(room->as_string());
  });
  // Back in its room: the others hear it is there again.
  if (const json::Value* room = s->data.find("room"); room && s->recovered())
    announce_online(room->as_string());
}

// 2["room:join","random"]: leaves the current room (a socket is in one chat room
// at a time, plus the room named after its id) and joins the other.
void SocketIoChat::join_room(sio::Socket& socket, const sio::Args& args,
                             const sio::Ack& ack) {
  std::string name = args.size() && args[0].is_string() ? args[0].as_string() : "";
  if (!find_room(name)) {
    if (ack) ack(error_reply(kNoSuchRoom));
    return;
  }
  const json::Value* current = socket.data.find("room");
  std::string old = current ? current->as_string() : "";
  if (old != name) {
    // The data first: with recovery on, join() saves the session, data included.
    socket.data.set("room", name);
    if (!old.empty()) socket.leave(old);
    socket.join(name);
    if (!old.empty()) announce_online(old);
    announce_online(name);
  }
  if (ack) ack(sio::Args{json::Value(json::Object{{"room", name}})});
}

// 2["msg:get",{"room":"general","since":7}]: what came after id 7 (or the latest
// 50 without since), in the ack. After a reconnect the client asks from the last
// id it saw, so nothing is lost and nothing shown twice.
void SocketIoChat::get_messages(sio::Socket& socket, const sio::Args& args,
                                const sio::Ack& ack) {
  if (!ack) return;  // a question nobody waits for
  const json::Value* query = args.size() ? &args[0] : nullptr;
  const json::Value* room = query ? query->find("room") : nullptr;
  const json::Value* since = query ? query->find("since") : nullptr;
  const json::Value* history = query ? query->find("history") : nullptr;
  std::string name = room && room->is_string() ? room->as_string() : "";
  if (!room) name = socket.data.find("room") ? socket.data.find("room")->as_string() : "";
  chat::Room* target = find_room(name);
  if (!target) return ack(error_reply(kNoSuchRoom));
  const std::string& history_id = shared_ ? shared_->history_id() : journal_.id();
  // --redis: the page comes from the room's stream in Redis, the same on every node.
  auto shared_page = [&](std::optional<uint64_t> from, bool with_id) {
    shared_->page(name, from, kLatest, [ack, with_id, this](auto& error, auto page) {
      if (!error.empty()) return ack(error_reply(error));
      if (with_id) page.set("history_id", shared_->history_id());
      ack(sio::Args{std::move(page)});
    });
  };
  // A since from another history means nothing here: that client starts over.
  bool other = history && !(history->is_string() && history->as_string() == history_id);
  if (!since || since->is_null() || other) {
    if (shared_) return shared_page(std::nullopt, true);
    return ack(sio::Args{page_value(target->latest(kLatest), &journal_.id())});
  }
  double n = since->is_number() ? since->as_number() : -1;
  if (n < 0 || n > 9007199254740991.0 ||
      n != static_cast<double>(static_cast<uint64_t>(n)))
    return ack(error_reply("since: must be a message id (a whole number >= 0)"));
  if (shared_) return shared_page(static_cast<uint64_t>(n), history != nullptr);
  ack(sio::Args{page_value(target->after(static_cast<uint64_t>(n)),
                           history ? &journal_.id() : nullptr)});
}

// 2["msg:post",{"user":"ada","text":"hi"}]: stored in the socket's room, answered
// in the ack with the stored message, pushed as msg:new to the rest of the room.
void SocketIoChat::send_message(sio::Socket& socket, const sio::Args& args,
                                const sio::Ack& ack) {
  const json::Value* room = socket.data.find("room");
  std::string error = "room: join a room first";
  std::optional<chat::Post> post;
  if (room && args.size()) {
    if (auto e = not_unicode(args[0]))
      error = *e;
    else
      post = chat::read_post(args[0], error);
  }
  // --redis: a post the other nodes could not be told of is refused, not lost.
  if (post && !io_.cluster_connected) {
    error = "cluster: cut off from redis, not sent; try again";
    post.reset();
  }
  if (!room || !post) {
    logs::info("%s msg:post refused: %s", socket.id().c_str(), error.c_str());
    if (ack) ack(error_reply(error));
    return;
  }
  // The name in the post is the one shown; the online list follows a rename.
  bool renamed = socket.data.find("user")->as_string() != post->user;
  socket.data.set("user", post->user);
  // Answered at the end of this turn, once the message is on disk (common/chat.h);
  // by then the socket may have gone, so it is left out of msg:new by its id (the
  // room every socket is in) rather than through the socket.
  const std::string name = room->as_string();
  if (shared_) {  // stored in Redis and sent to every node's room in one step
    return shared_->post(name, std::move(*post), socket.id(),
                         [this, ack, name, renamed](const chat::Posted& p) {
                           if (ack)
                             ack(p.error.empty() ? sio::Args{chat::to_value(p.message)}
                                                 : error_reply(p.error));
                           if (p.error.empty() && renamed) announce_online(name);
                         });
  }
  find_room(name)->post(std::move(*post), [this, ack, name, id = socket.id(),
                                           renamed](const chat::Posted& p) {
    if (!p.error.empty()) {
      if (ack) ack(error_reply(p.error));
      return;
    }
    json::Value value = chat::to_value(p.message);
    if (ack) ack(sio::Args{value});
    // .except(id) leaves the sender out: it has its copy in the ack.
    if (p.fresh) io_.to(name).except(id).emit("msg:new", sio::Args{value});
    if (renamed) announce_online(name);
  });
}

void SocketIoChat::share_history(cluster::Adapter* adapter) {
  shared_ = adapter;
  adapter->presence_room = [this](const std::string& room) { return find_room(room); };
  // Another node's users in the room changed: this node's sockets there hear it.
  adapter->on_presence = [this](const std::string& room) {
    tell_online(room, online_here(room));
  };
}

// The users of this node's sockets in the room: sorted, and one entry for a user
// with two tabs.
std::set<std::string> SocketIoChat::online_here(const std::string& room) {
  std::set<std::string> users;
  for (const auto& socket : io_.to(room).sockets())
    users.insert(socket->data.find("user")->as_string());
  return users;
}

// The room's users changed here: the room hears who is in it. With --redis the
// other nodes hear this node's list and tell their own sockets.
void SocketIoChat::announce_online(const std::string& room) {
  std::set<std::string> users = online_here(room);
  if (shared_) shared_->share_presence(room, users);
  tell_online(room, std::move(users));
}

// 2["online",{"room":"general","users":["ada","bob"]}] to this node's sockets in
// the room: local, as every node tells its own, with the other nodes' users added.
void SocketIoChat::tell_online(const std::string& room, std::set<std::string> users) {
  if (users.empty()) return;  // nobody here to tell
  if (shared_) users.merge(shared_->remote_users(room));
  json::Array list(users.begin(), users.end());
  io_.to(room).local_().volatile_().emit(
      "online",
      sio::Args{json::Value(json::Object{{"room", room}, {"users", std::move(list)}})});
}

// SIGTERM or Ctrl-C: every socket hears "server shutting down", every session
// gets Engine.IO's close packet (a WebSocket then close code 1001); done once the
// last session is gone (a polling client is waited for: eio::kShutdownPollWaitMs).
void SocketIoChat::shutdown(std::function<void()> done) {
  io_.close();
  engine_.shutdown(std::move(done));
}

}  // namespace

// main
// ----

int main(int argc, char** argv) {
  Options options;
  options.store.data = store::beside_binary(argv[0], "lesson-4.log");
  flags::Flags f("lesson-4",
                 "A chat over Socket.IO (v5, on Engine.IO v4) written by hand.");
  f.add("--port", &options.port, "port to listen on, 0 picks a free one");
  f.add("--trace", &options.trace, "print every Engine.IO and Socket.IO packet");
  f.add("--trace-page", &options.trace_page,
        "let a page that asks (its switch) see --trace lines of its own connections");
  f.add("--history", &options.history, "messages each room keeps");
  f.add("--ping-interval", &options.ping_interval_ms, "ms between Engine.IO pings");
  f.add("--ping-timeout", &options.ping_timeout_ms, "ms a client has to answer a ping");
  f.add("--max-payload", &options.max_payload, "largest Engine.IO payload in bytes");
  f.add("--connect-timeout", &options.connect_timeout_ms,
        "ms a client has to join a namespace before it is closed");
  f.add("--cors-origin", &options.cors_origin,
        "an origin allowed to make cross-origin requests (e.g. http://localhost:3000)");
  f.add("--max-sessions", &options.max_sessions,
        "Engine.IO sessions open at once, past it a handshake gets 503 (0: no cap)");
  f.add("--head-timeout", &options.head_timeout_ms, "ms a request head may take");
  f.add("--max-connections", &options.max_connections,
        "connections open at once, past it 503 (0: up to the open-file limit)");
  f.add("--redis", &options.redis,
        "HOST:PORT of a Redis: broadcasts reach every node on it (cluster.h)");
  f.add("--node", &options.node, "this node's name, sent to each socket as \"node\"");
  f.add("--recovery-window", &options.recovery_window_ms,
        "ms a dropped client may come back in and get its session and missed events "
        "back (0: off)");
  f.add("--protocol-echo", &options.protocol_echo,
        "serve what the Engine.IO and Socket.IO protocol test suites expect");
  chat::add_store_flags(f, options.store);
  f.parse(argc, argv);
  if (options.trace) logs::enable_trace();
  if (options.trace_page) trace_page::enable();

  loop::Loop loop;
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  if (std::string error = journal.open(options.store); !error.empty()) {
    std::fprintf(stderr, "lesson-4: %s\n", error.c_str());
    return 1;
  }
  eio::Options engine_options;
  engine_options.ping_interval_ms = options.ping_interval_ms;
  engine_options.ping_timeout_ms = options.ping_timeout_ms;
  engine_options.max_payload = static_cast<size_t>(options.max_payload);
  engine_options.cors_origin = options.cors_origin;
  engine_options.max_sessions = static_cast<size_t>(options.max_sessions);
  eio::Server engine(loop, engine_options);
  sio::Options io_options;
  io_options.connect_timeout_ms = options.connect_timeout_ms;
  // Each attachment is an Engine.IO message, as large as the transport lets it
  // be; all of a packet's together stay within Limits::max_packet_bytes (10 MB).
  io_options.limits.max_attachment_bytes = static_cast<size_t>(options.max_payload);
  sio::Server io(loop, engine, io_options);
  sio::registry::install(&io);
  SocketIoChat app(options, engine, io, journal);
  if (options.recovery_window_ms < 0) {
    std::fprintf(stderr, "lesson-4: --recovery-window: must be 0 (off) or more\n");
    return 2;
  }
  bool recover = options.recovery_window_ms > 0 && !options.protocol_echo;
  // --redis: this node joins the others on that Redis (socket.io's streams adapter).
  std::unique_ptr<cluster::Adapter> adapter;
  if (!options.redis.empty()) {
    cluster::Options cluster_options;
    cluster_options.history = options.history;
    if (std::string error = redis::parse_address(options.redis, cluster_options.host,
                                                 cluster_options.port);
        !error.empty()) {
      std::fprintf(stderr, "lesson-4: %s\n", error.c_str());
      return 2;
    }
    adapter = std::make_unique<cluster::Adapter>(loop, io, cluster_options);
    if (recover) adapter->enable_recovery(options.recovery_window_ms);
    adapter->start();
    app.share_history(adapter.get());
  }
  // Connection state recovery (io_recovery.h). One node: sessions and the
  // replayable packets beside the log. --redis: both in Redis, the offsets the
  // socket.io stream's entry ids (cluster_recovery.cpp).
  sio::FileSessionStore sessions;
  chat::Journal replay_journal(loop, static_cast<size_t>(options.history));
  sio::JournalReplayLog replay(replay_journal);
  std::unique_ptr<sio::Recovery> recovery;
  if (recover && adapter) {
    recovery = std::make_unique<sio::Recovery>(
        io, sio::RecoveryOptions{options.recovery_window_ms}, adapter->sessions(),
        adapter->replay_log());
    io.recovery = recovery.get();
  } else if (recover) {
    // FILE.replay: the replayable packets, a chat::Journal of their own (the same
    // records, group commit, compaction and crash rules as FILE), so FILE itself
    // holds only messages. FILE.sessions: the sessions (io_recovery.h).
    const std::string& data = options.store.data;
    bool memory = data.empty() || data == "none";
    chat::StoreOptions replay_store{memory ? "none" : data + ".replay",
                                    options.store.fsync};
    std::string error = replay_journal.open(replay_store);
    if (error.empty()) error = sessions.open(memory ? "none" : data + ".sessions");
    if (!error.empty()) {
      std::fprintf(stderr, "lesson-4: %s\n", error.c_str());
      return 1;
    }
    recovery = std::make_unique<sio::Recovery>(
        io, sio::RecoveryOptions{options.recovery_window_ms}, sessions, replay);
    io.recovery = recovery.get();
  }

  // --protocol-echo also serves a raw Engine.IO echo at /engine.io/.
  engine_options.path = "/engine.io/";
  eio::Server echo_engine(loop, engine_options);
  if (options.protocol_echo) {
    sio::install_test_namespace(io);
    sio::install_engine_echo(echo_engine);
  }

  http::ServerOptions server_options;
  // A polling POST carries up to max_payload bytes of packets.
  server_options.limits.max_body = static_cast<size_t>(options.max_payload);
  server_options.head_timeout_ms = options.head_timeout_ms;
  http::Server server(loop, server_options, [&](const auto& ex) {
    if (options.protocol_echo && echo_engine.handle(ex)) return;
    app.handle(ex);
  });
  net::Limits limits;
  limits.max_connections = static_cast<size_t>(options.max_connections);
  limits.refusal = http::busy_response();
  net::Listener listener(loop, limits);
  listener.on_accept([&server](const auto& conn) { server.serve(conn); });
  if (std::string error = listener.listen(static_cast<int>(options.port));
      !error.empty()) {
    std::fprintf(stderr, "lesson-4: %s\n", error.c_str());
    return 1;
  }
  // Installed before the URL is printed: whoever read the URL may signal at once.
  net::on_shutdown_signal(loop, [&] {
    logs::info("shutting down: disconnecting every socket, closing every session");
    // Connections close only once both engines have told every session.
    auto engines = std::make_shared<int>(2);
    auto told = [&listener, &loop, engines] {
      if (--*engines == 0) listener.shutdown(2000, [&loop] { loop.stop(); });
    };
    app.shutdown(told);
    echo_engine.shutdown(told);
  });
  // The URL is the first line on stdout: tests and scripts read the port from it.
  std::printf("http://localhost:%d/\n", listener.port());
  std::fflush(stdout);
  logs::info("lesson-4 listening on 127.0.0.1 and ::1 port %d (%s back end)%s",
             listener.port(), loop::Loop::backend(),
             options.protocol_echo ? ", protocol echo mode" : "");

  loop.run();
  return 0;
}
