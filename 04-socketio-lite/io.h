// A small server API in the spirit of socket.io's, on top of Engine.IO sessions:
//
//   sio::Server io(loop, engine, options);
//   io.use([](sio::Socket& s) -> std::optional<sio::ConnectError> { ... });
//   io.on_connection([](const std::shared_ptr<sio::Socket>& socket) {
//     socket->join("general");
//     socket->on("msg:post", [](const sio::Args& args, const sio::Ack& ack) {
//       if (ack) ack(sio::Args{"stored"});
//     });
//   });
//   io.to("general").emit("msg:new", sio::Args{message});
//   io.of("/admin").on_connection(...);
//
// One Engine.IO session ("client") may join several namespaces; in each it has a
// Socket with its own id. Rooms are sets of sockets within a namespace; every
// socket is in the room named after its own id, which is how a private message is
// addressed. What the reference has and this does not: async middleware, acks on
// broadcasts. Connection state recovery: io_recovery.h. Several processes: cluster.h.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/loop.h"
#include "engineio.h"
#include "io_recovery.h"
#include "socketio.h"

namespace sio {

// The arguments of an event or an ack: JSON values in which a binary argument is
// a placeholder {"_placeholder":true,"num":N} and its bytes are buffers[N]. That
// is the wire's own shape, so arguments can be passed on without a copy per byte.
struct Args {
  json::Array values;
  std::vector<std::string> buffers;

  Args() = default;
  Args(std::initializer_list<json::Value> list) : values(list) {}
  Args& add(json::Value value);
  Args& add_binary(std::string bytes);  // appends a placeholder for these bytes
  size_t size() const { return values.size(); }
  const json::Value& operator[](size_t i) const { return values[i]; }
  // The bytes a value stands for, or nullptr when it is not a binary argument.
  const std::string* binary(const json::Value& value) const;
};

// A refused namespace connection: CONNECT_ERROR {"message":...,"data":...}.
struct ConnectError {
  std::string message;
  std::optional<json::Value> data;
};

class Socket;
class Namespace;
class Server;
class Client;

// Answers a client's ack request; empty when the client asked for no ack.
using Ack = std::function<void(const Args& reply)>;
using EventHandler = std::function<void(const Args& args, const Ack& ack)>;
// The answer to a server emit that asked for one. error is "" on success,
// "operation has timed out" or "socket has been disconnected" otherwise.
using AckCallback = std::function<void(const std::string& error, const Args& reply)>;
// Runs before a socket joins its namespace; an error refuses the connection.
// (Synchronous: the reference's middleware may call next() later.)
using Middleware = std::function<std::optional<ConnectError>(Socket& socket)>;
using ConnectionHandler = std::function<void(const std::shared_ptr<Socket>& socket)>;

// A set of recipients: the sockets in any of `rooms` (none named: every socket of
// the namespace), less those in any `except` room. The packet is encoded once.
class BroadcastOperator {
 public:
  BroadcastOperator(Namespace& nsp, std::set<std::string> rooms,
                    std::set<std::string> except)
      : nsp_(&nsp), rooms_(std::move(rooms)), except_(std::move(except)) {}
  BroadcastOperator to(const std::string& room) const;
  BroadcastOperator except(const std::string& room) const;
  // socket.io's .volatile: never replayed by connection state recovery (no offset).
  BroadcastOperator volatile_() const;
  // socket.io's .local: this node's sockets only, never handed to the cluster
  // (and so, as with socket.io's cluster adapters, never given an offset).
  BroadcastOperator local_() const;
  void emit(const std::string& event, const Args& args = {}) const;
  // The recipients, as emit() would reach them.
  std::vector<std::shared_ptr<Socket>> sockets() const;

 private:
  Namespace* nsp_;
  std::set<std::string> rooms_, except_;
  bool is_volatile_ = false;
  bool is_local_ = false;
};

class Socket : public std::enable_shared_from_this<Socket> {
 public:
  const std::string& id() const { return id_; }
  Namespace& nsp() const { return *nsp_; }
  bool connected() const { return client_ != nullptr; }
  // The CONNECT packet's payload ({} when it had none), and the Engine.IO
  // handshake request (headers, query). handshake() must not be used once the
  // socket is disconnected.
  const json::Value& auth() const { return auth_; }
  const http::Request& handshake() const;
  const char* transport() const;
  // Connection state recovery: the socket's private session id ("" when recovery
  // is off), and whether this connection gave an earlier session back.
  const std::string& pid() const { return pid_; }
  bool recovered() const { return recovered_; }
  json::Value data = json::Object{};  // the application's own per-socket state

  void on(const std::string& event, EventHandler handler);
  void on_disconnect(std::function<void(const std::string& reason)> handler);

  void emit(const std::string& event, const Args& args = {});
  // socket.io's socket.volatile.emit: no offset, never replayed by recovery.
  void emit_volatile(const std::string& event, const Args& args = {});
  // Asks for an ack; timeout_ms 0 waits until the socket disconnects.
  void emit(const std::string& event, const Args& args, AckCallback callback,
            int64_t timeout_ms = 0);

  void join(const std::string& room);
  void leave(const std::string& room);
  const std::set<std::string>& rooms() const { return rooms_; }
  // Everyone in the room but this socket; everyone in the namespace but this socket.
  BroadcastOperator to(const std::string& room);
  BroadcastOperator broadcast();

  // Leaves the namespace ("server namespace disconnect"); close also ends the
  // Engine.IO session and with it every other namespace of this client.
  void disconnect(bool close = false);

  Socket(Namespace& nsp, Client& client, std::string id, json::Value auth);

 private:
  friend class BroadcastOperator;
  friend class Client;
  friend class Namespace;
  friend class Recovery;
  void on_packet(Packet& packet);
  void on_event(Packet& packet);
  void on_ack(Packet& packet);
  void send(Packet packet);
  void closed(const std::string& reason);  // leaves everything, tells the handler

  struct PendingAck {
    AckCallback callback;
    loop::TimerId timer = 0;
  };
  Namespace* nsp_;
  Client* client_;  // null once disconnected
  std::shared_ptr<eio::Socket> conn_;
  std::string id_;
  json::Value auth_;
  std::set<std::string> rooms_;
  std::map<std::string, EventHandler> handlers_;
  std::function<void(const std::string&)> on_disconnect_;
  std::map<uint64_t, PendingAck> acks_;
  uint64_t next_ack_ = 0;
  std::string pid_;  // set once the session is saved
  std::string session_offset_;  // where a replay of this session may start
  bool recovered_ = false;
  uint64_t mark_ = 0;  // Namespace::select(): chosen (or excepted) by that pick
};

class Namespace {
 public:
  Namespace(Server& server, std::string name) : server_(server), name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }
  void on_connection(ConnectionHandler handler) { on_connection_ = std::move(handler); }

  void emit(const std::string& event, const Args& args = {}) { all().emit(event, args); }
  BroadcastOperator to(const std::string& room) { return all().to(room); }
  BroadcastOperator except(const std::string& room) { return all().except(room); }
  const std::map<std::string, std::shared_ptr<Socket>>& sockets() const {
    return sockets_;
  }
  // A packet to this node's sockets only, chosen as a broadcast chooses them: the
  // cluster adapter hands over what another node broadcast.
  void deliver(const Packet& packet, const std::set<std::string>& rooms,
               const std::set<std::string>& except);

 private:
  friend class BroadcastOperator;
  friend class Client;
  friend class Recovery;
  friend class Socket;
  BroadcastOperator all() { return BroadcastOperator(*this, {}, {}); }
  // The adapter: which sockets are in which room.
  void add_to_room(const std::string& room, Socket& socket);
  void remove_from_room(const std::string& room, const std::string& id);
  // The recipients by id (Recovery's and fetchSockets' view of select()).
  std::set<std::string> recipients(const std::set<std::string>& rooms,
                                   const std::set<std::string>& except);
  // The same sockets, each once, as pointers: no set, no copy of an id.
  std::vector<Socket*> select(const std::set<std::string>& rooms,
                              const std::set<std::string>& except);
  // The fast path of a broadcast: one encoding, one frame, one pick (socket.cpp).
  // origin goes into the --trace line ("from the cluster ", or "").
  void broadcast_encoded(const Packet& packet, const std::set<std::string>& rooms,
                         const std::set<std::string>& except, const char* origin);

  Server& server_;
  std::string name_;
  std::vector<Middleware> middlewares_;
  ConnectionHandler on_connection_;
  std::map<std::string, std::shared_ptr<Socket>> sockets_;  // by socket id
  // room -> its sockets by id (a socket leaves every room before it is freed)
  std::map<std::string, std::map<std::string, Socket*>> rooms_;
  uint64_t pick_ = 0;  // select()'s generation: a socket marked with it is taken
  int broadcasting_ = 0;  // > 0 while a broadcast loop runs (nested ones count)
  std::vector<std::shared_ptr<Socket>> held_;  // closed during it, freed after
};

struct Options {
  int64_t connect_timeout_ms = 45'000;  // a client must join a namespace by then
  Limits limits;  // attachments per packet, namespace length
};

class Server {
 public:
  Server(loop::Loop& loop, eio::Server& engine, Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A namespace, created on first use. "/" always exists.
  Namespace& of(const std::string& name);
  // The main namespace's, as io.use() / io.on("connection") / io.emit() are.
  void use(Middleware middleware) { of("/").use(std::move(middleware)); }
  void on_connection(ConnectionHandler handler) {
    of("/").on_connection(std::move(handler));
  }
  void emit(const std::string& event, const Args& args = {}) {
    of("/").emit(event, args);
  }
  BroadcastOperator to(const std::string& room) { return of("/").to(room); }
  BroadcastOperator except(const std::string& room) { return of("/").except(room); }
  // Disconnects every client ("server shutting down").
  void close();
  // A namespace that exists, or nullptr (of() would create it).
  Namespace* find(const std::string& name);
  // Set by the cluster adapter (cluster.h): told of every broadcast once it has
  // reached this node's own sockets, so the other nodes can deliver it to theirs.
  std::function<void(Namespace& nsp, const Packet& packet,
                     const std::set<std::string>& rooms,
                     const std::set<std::string>& except)>
      on_broadcast;
  // False while the cluster adapter is cut off from Redis, when a broadcast would
  // reach this node's sockets only; always true without one.
  bool cluster_connected = true;
  // Connection state recovery, when on (set in main; io_recovery.h).
  Recovery* recovery = nullptr;

  loop::Loop& loop() { return loop_; }
  const Options& options() const { return options_; }

 private:
  friend class Client;
  friend class Namespace;
  loop::Loop& loop_;
  eio::Server& engine_;
  Options options_;
  std::map<std::string, std::unique_ptr<Namespace>> nsps_;
  // By Engine.IO session: a pointer is a smaller key than a copy of its sid.
  std::map<const eio::Socket*, std::shared_ptr<Client>> clients_;
  // A broadcast's WebSocket frame, "4" + text, built once (broadcast_encoded()).
  net::SharedSlice shared_frame(const std::string& text);
  net::SharedBuffer frames_;
};

// Internals
// ---------

// One Engine.IO session seen from Socket.IO: it decodes packets, routes them to
// the session's socket in each namespace, and writes packets out. The reference
// calls it "Client" too (socket.io/lib/client.ts).
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Server& server, std::shared_ptr<eio::Socket> conn)
      : server_(server), conn_(std::move(conn)), decoder_(server.options().limits) {}
  void start();
  void write(const Packet& packet);
  void write_encoded(const std::string& text,
                     const std::vector<std::string>& attachments);
  // Server-side end: every socket gets `reason`, then the session is closed.
  void close(const std::string& reason);
  const std::shared_ptr<eio::Socket>& conn() const { return conn_; }

 private:
  friend class Socket;
  void on_message(std::string_view data, bool binary);
  void on_packet(Packet& packet);
  void connect(const std::string& nsp, std::optional<json::Value> auth);
  void open_socket(const std::string& nsp, std::optional<json::Value> auth,
                   std::optional<Recovery::Restored> restored);
  void finish(const std::string& reason);

  Server& server_;
  std::shared_ptr<eio::Socket> conn_;
  Decoder decoder_;
  std::map<std::string, std::shared_ptr<Socket>> sockets_;  // by namespace
  loop::TimerId connect_timer_ = 0;
  bool seen_connect_ = false;
  bool closed_ = false;
};

// Lets any part of the program reach the sockets without being handed the server:
// an HTTP controller stores a message, then emits it through registry::io().
namespace registry {
void install(Server* server);  // nullptr uninstalls
Server* io();  // nullptr before install
}  // namespace registry

}  // namespace sio
