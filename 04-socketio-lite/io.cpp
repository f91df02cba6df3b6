// The session side of Socket.IO: one Client per Engine.IO session decodes its
// packets, connects it to namespaces, and routes what follows to its sockets.
#include "io.h"

#include <random>

#include "common/log.h"

namespace sio {

// 20 characters of base64url from 15 random bytes, like the reference's ids:
// an id is also a room name, so it must not be guessable.
static std::string new_id() {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static std::random_device entropy;  // the system's, not a seeded generator
  std::string id;
  for (int i = 0; i < 5; ++i) {
    uint32_t bits = entropy() & 0xffffff;  // 3 bytes -> 4 characters
    for (int k = 3; k >= 0; --k)
      id += alphabet[(bits >> (6 * k)) & 63];
  }
  return id;
}

// Client
// ------
// Engine.IO hands us whole messages, text or binary, already out of their polling
// payloads or WebSocket frames. Each text message is one Socket.IO packet; a
// binary one is an attachment of the binary packet before it.

void Client::start() {
  // Weak: the Engine.IO socket must not keep its Client alive, or neither dies.
  std::weak_ptr<Client> weak = weak_from_this();
  conn_->on_message = [weak](std::string_view data, bool binary) {
    if (auto self = weak.lock()) self->on_message(data, binary);
  };
  // The session ended below us: "transport close", "ping timeout"...
  conn_->on_close = [weak](const std::string& reason) {
    if (auto self = weak.lock()) self->finish(reason);
  };
  // A client that joins no namespace in time is closed, as the reference does.
  connect_timer_ = server_.loop().after(server_.options().connect_timeout_ms, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->connect_timer_ = 0;
    if (!self->sockets_.empty()) return;
    logs::info("sio %s: no namespace joined in time, closing",
               self->conn_->log_name().c_str());
    self->close("forced server close");
  });
}

// One packet to this session: --trace shows it decoded, then it is encoded.
void Client::write(const Packet& p) {
  if (closed_) return;
  if (logs::tracing())
    logs::trace("sio %s → %s", conn_->id().c_str(), describe(p).c_str());
  write_encoded(encode(p), p.attachments);
}

// A binary packet is its text, then each attachment as a binary message.
void Client::write_encoded(const std::string& text,
                           const std::vector<std::string>& attachments) {
  if (closed_) return;
  // A send may end the session under us (its output over the cap): stay alive.
  auto keep = shared_from_this();
  conn_->send(text);
  for (const auto& a : attachments)
    if (!closed_) conn_->send_binary(a);
}

void Client::on_message(std::string_view data, bool binary) {
  if (closed_) return;  // messages already queued below us when we closed
  Decoder::Result r = binary ? decoder_.add_binary(data) : decoder_.add_text(data);
  if (r.status == Decoder::Status::need_more) return;
  if (r.status == Decoder::Status::error) {
    // A packet that does not parse ends the session, as in the reference.
    logs::warn("sio %s: closing, packet refused: %s (%s)", conn_->log_name().c_str(),
               r.error.c_str(), logs::printable(data, 80).c_str());
    return close("parse error");
  }
  if (logs::tracing())
    logs::trace("sio %s ← %s", conn_->id().c_str(), describe(r.packet).c_str());
  on_packet(r.packet);
}

void Client::on_packet(Packet& p) {
  auto keep = shared_from_this();  // a handler may close the session under us
  if (p.type == Type::connect) return connect(p.nsp, std::move(p.data));
  // Socket.IO v5 "Connection to a namespace": "If the server does not receive a
  // CONNECT packet first, then it MUST close the connection immediately."
  if (!seen_connect_) {
    logs::warn("sio %s: closing, first packet was %s, not CONNECT",
               conn_->log_name().c_str(), type_name(p.type));
    return close("parse error");
  }
  if (p.type == Type::connect_error) {
    logs::warn("sio %s: closing, CONNECT_ERROR is the server's to send",
               conn_->log_name().c_str());
    return close("parse error");
  }
  // A packet for a namespace this client is not in: it may have crossed our
  // DISCONNECT on the way, so it is dropped, not treated as an error.
  auto it = sockets_.find(p.nsp);
  if (it == sockets_.end()) return;
  auto socket = it->second;  // held: the handler may disconnect it
  socket->on_packet(p);
}

// Socket.IO v5 "Connection to a namespace": CONNECT {"sid"} or CONNECT_ERROR.
void Client::connect(const std::string& name, std::optional<json::Value> auth) {
  seen_connect_ = true;
  auto n = server_.nsps_.find(name);
  if (n == server_.nsps_.end()) {
    // Refused, but the session stays open for other namespaces.
    Packet refusal;
    refusal.type = Type::connect_error;
    refusal.nsp = name;
    refusal.data = json::Value(json::Object{{"message", "Invalid namespace"}});
    return write(refusal);
  }
  // Connection state recovery: 40{"pid":"...","offset":"..."} within the window
  // gives the old socket id, rooms and data back (io_recovery.cpp says when). The
  // session store may be Redis (--redis): the socket is made once it answered.
  if (server_.recovery && auth && Recovery::asks(&*auth)) {
    std::weak_ptr<Client> weak = shared_from_this();
    json::Value asked = *auth;
    return server_.recovery->restore(
        name, asked, [weak, name, auth = std::move(auth)](auto restored) mutable {
          auto self = weak.lock();
          if (!self || self->closed_) return;  // gone while the store answered
          self->open_socket(name, std::move(auth), std::move(restored));
        });
  }
  open_socket(name, std::move(auth), std::nullopt);
}

void Client::open_socket(const std::string& name, std::optional<json::Value> auth,
                         std::optional<Recovery::Restored> restored) {
  auto n = server_.nsps_.find(name);
  if (n == server_.nsps_.end()) return;  // namespaces are never removed
  Namespace& nsp = *n->second;
  // Connecting again to a namespace it is in: the old socket makes way.
  if (auto old = sockets_.find(name); old != sockets_.end())
    old->second->closed("client namespace disconnect");
  // The socket's id is not the session's: each namespace gets its own, and the
  // Engine.IO sid (which can post to the session) is never shown to others.
  auto socket =
      std::make_shared<Socket>(nsp, *this, restored ? restored->session.sid : new_id(),
                               auth ? std::move(*auth) : json::Object{});
  // Middleware in order; the first refusal is sent as CONNECT_ERROR
  // {"message":...,"data":...} and the socket is thrown away, never connected.
  // A recovered session passed them when it was new (socket.io's skipMiddlewares).
  for (const auto& middleware : nsp.middlewares_) {
    if (restored) break;
    if (auto error = middleware(*socket)) {
      // Whatever the middleware joined is left; the socket never connected.
      for (const auto& room : socket->rooms_)
        nsp.remove_from_room(room, socket->id());
      socket->client_ = nullptr;
      Packet refusal;
      refusal.type = Type::connect_error;
      refusal.nsp = name;
      json::Value data(json::Object{{"message", error->message}});
      if (error->data) data.set("data", *error->data);
      refusal.data = std::move(data);
      return write(refusal);
    }
    if (closed_) return;  // the middleware closed the whole session
  }
  sockets_[name] = socket;
  nsp.sockets_[socket->id()] = socket;
  // Every socket is in the room named after its id: io.to(id) reaches it alone.
  socket->join(socket->id());
  if (connect_timer_) server_.loop().cancel(connect_timer_);
  connect_timer_ = 0;
  Packet ok;
  ok.type = Type::connect;
  ok.nsp = name;
  ok.data = json::Value(json::Object{{"sid", socket->id()}});
  if (Recovery* recovery = server_.recovery) {
    if (restored) {
      socket->data = std::move(restored->session.data);
      for (const auto& room : restored->session.rooms)
        socket->join(room);
      socket->recovered_ = true;
      socket->pid_ = restored->session.pid;
      socket->session_offset_ = restored->session.offset;
      logs::info("sio %s: session %s recovered, %zu missed packet(s) replayed",
                 conn_->log_name().c_str(), socket->id().c_str(),
                 restored->missed.size());
      // The missed packets first, each with its offset: the client holds them
      // until the CONNECT reply, then hands them to the application in order.
      for (const auto& missed : restored->missed)
        write(Recovery::with_offset(missed));
    } else {
      socket->pid_ = new_id();
      socket->session_offset_ = recovery->head();
    }
    recovery->start_session(*socket);
    // 40{"sid":"...","pid":"...","offset":"..."}: the offset is this lesson's own
    // (the official client ignores it): where the session starts in the log.
    ok.data->set("pid", socket->pid_);
    ok.data->set("offset", socket->session_offset_);
  }
  // 40{"sid":"..."} first, then the application's handler, which may emit.
  write(ok);
  if (socket->connected() && nsp.on_connection_) nsp.on_connection_(socket);
  // Saved again with what the handler put in its data (a user name...).
  if (server_.recovery && socket->connected()) server_.recovery->save(*socket);
}

// The server ends the session: parse error, connect timeout, disconnect(true),
// shutdown. Engine.IO then sends its close packet where the transport allows.
void Client::close(const std::string& reason) {
  if (closed_) return;
  auto keep = shared_from_this();
  finish(reason);
  conn_->close();
}

// Every socket of the session is disconnected with the same reason.
void Client::finish(const std::string& reason) {
  if (closed_) return;
  auto keep = shared_from_this();
  closed_ = true;
  if (connect_timer_) server_.loop().cancel(connect_timer_);
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [nsp, socket] : sockets)
    socket->closed(reason);
  server_.clients_.erase(conn_.get());
}

// Server
// ------
// Namespaces by name, and the Clients by Engine.IO session. "/" always exists; any
// other namespace exists once of() has named it (no dynamic namespaces).

Server::Server(loop::Loop& loop, eio::Server& engine, Options options)
    : loop_(loop), engine_(engine), options_(options) {
  of("/");
  engine_.on_connection = [this](std::shared_ptr<eio::Socket> conn) {
    auto client = std::make_shared<Client>(*this, conn);
    clients_[conn.get()] = client;
    client->start();
  };
}

// The Engine.IO sockets may outlive us (the engine is destroyed after): their
// callbacks must not reach a Client that is gone.
Server::~Server() {
  engine_.on_connection = nullptr;
  for (auto& [conn, client] : clients_) {
    client->conn()->on_message = nullptr;
    client->conn()->on_close = nullptr;
  }
  if (registry::io() == this) registry::install(nullptr);
}

Namespace& Server::of(const std::string& name) {
  auto& nsp = nsps_[name];
  if (!nsp) nsp = std::make_unique<Namespace>(*this, name);
  return *nsp;
}

Namespace* Server::find(const std::string& name) {
  auto it = nsps_.find(name);
  return it == nsps_.end() ? nullptr : it->second.get();
}

// What another node broadcast, to the sockets here that it is for; it is not
// passed on again (on_broadcast is not called), or the nodes would echo forever.
void Namespace::deliver(const Packet& packet, const std::set<std::string>& rooms,
                        const std::set<std::string>& except) {
  broadcast_encoded(packet, rooms, except, "from the cluster ");
}

// A broadcast writes the same text to every recipient. Over WebSocket its frame
// ("4" + text in a text frame) is built here once and copied once into a
// net::SharedBuffer, and every WebSocket session queues a reference to it
// (eio::Socket::send_frame) instead of an Engine.IO packet, "4" + text, a frame
// string and a copy into its own output: three allocations and three copies per
// recipient saved (tests/bench/README.md, lesson 04).
net::SharedSlice Server::shared_frame(const std::string& text) {
  std::string frame;
  ws::write_frame(frame, true, ws::Opcode::text, "4" + text);
  return frames_.append(frame);
}

// Shutdown: a copy, since each close removes its Client from the map. Each
// session then ends as the server is going away (the close packet, then 1001).
void Server::close() {
  engine_.going_away();
  auto clients = clients_;
  for (auto& [conn, client] : clients)
    client->close("server shutting down");
}

// registry
// --------

// A pointer, set once in main. It is the reference course's registry module: a
// controller that has no socket can still emit, after it has stored its data.

namespace registry {
static Server* installed = nullptr;
void install(Server* server) {
  installed = server;
}
Server* io() {
  return installed;
}
}  // namespace registry

}  // namespace sio
