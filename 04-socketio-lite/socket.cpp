// The application's side of Socket.IO: a socket's events and acks, the rooms of
// a namespace (the reference calls this part the adapter), and broadcasts.
#include "io.h"

#include "common/log.h"

namespace sio {

// Args
// ----
// The arguments keep the wire's own shape: a binary argument is a placeholder
// object in the JSON, its bytes sit in `buffers` under the placeholder's num.

Args& Args::add(json::Value value) {
  values.push_back(std::move(value));
  return *this;
}

// ["photo", <bytes>] is sent as 51-["photo",{"_placeholder":true,"num":0}]
// and then the bytes as a binary Engine.IO message.
Args& Args::add_binary(std::string bytes) {
  values.push_back(placeholder(buffers.size()));
  buffers.push_back(std::move(bytes));
  return *this;
}

const std::string* Args::binary(const json::Value& value) const {
  auto num = placeholder_num(value);
  return num && *num < buffers.size() ? &buffers[*num] : nullptr;
}

// [event, ...args]: an EVENT's payload; BINARY_EVENT when an argument is binary.
static Packet event_packet(const std::string& event, const Args& args) {
  Packet p;
  p.type = args.buffers.empty() ? Type::event : Type::binary_event;
  json::Array data;
  data.reserve(args.values.size() + 1);
  data.emplace_back(event);
  data.insert(data.end(), args.values.begin(), args.values.end());
  p.data = json::Value(std::move(data));
  p.attachments = args.buffers;
  return p;
}

// BroadcastOperator
// -----------------
// io.to("a").to("b").except("c") builds a value, like the reference's chain; the
// sockets are chosen only when emit() is called.

BroadcastOperator BroadcastOperator::to(const std::string& room) const {
  BroadcastOperator b = *this;
  b.rooms_.insert(room);
  return b;
}

BroadcastOperator BroadcastOperator::except(const std::string& room) const {
  BroadcastOperator b = *this;
  b.except_.insert(room);
  return b;
}

BroadcastOperator BroadcastOperator::volatile_() const {
  BroadcastOperator b = *this;
  b.is_volatile_ = true;
  return b;
}

BroadcastOperator BroadcastOperator::local_() const {
  BroadcastOperator b = *this;
  b.is_local_ = true;
  return b;
}

// The reference's fetchSockets(), without the promise: everything is local here.
std::vector<std::shared_ptr<Socket>> BroadcastOperator::sockets() const {
  std::vector<std::shared_ptr<Socket>> out;
  for (const auto& id : nsp_->recipients(rooms_, except_))
    if (auto it = nsp_->sockets_.find(id); it != nsp_->sockets_.end())
      out.push_back(it->second);
  return out;
}

// Encoded once; the same text and attachments go to every recipient. With 100
// sockets in a room that is one JSON serialization instead of 100.
void BroadcastOperator::emit(const std::string& event, const Args& args) const {
  Packet p = event_packet(event, args);
  p.nsp = nsp_->name();
  // Connection state recovery: a replayable packet goes through Recovery::emit,
  // which stores it and sends it with its offset as the last argument.
  if (Recovery* recovery = nsp_->server_.recovery;
      recovery && !is_volatile_ && !is_local_ && p.type == Type::event)
    return recovery->emit(*nsp_, p, rooms_, except_);
  nsp_->broadcast_encoded(p, rooms_, except_, "");
  // With --redis, the other nodes deliver it to their sockets too (cluster.cpp).
  if (nsp_->server_.on_broadcast && !is_local_)
    nsp_->server_.on_broadcast(*nsp_, p, rooms_, except_);
}

// What a broadcast costs per recipient, and what this saves: the packet is
// encoded once here, its WebSocket frame built once (Server::shared_frame), and
// the recipients are picked by select() into a vector of pointers, not a
// std::set of id strings (an allocation and a copy of each 20-character id, then a
// map lookup per id to find the socket). A WebSocket session is then handed the
// shared frame directly: no Client call, no compare, no copy (~300 instructions a
// recipient, from ~2,500 with the set; tests/bench/README.md, item 14).
void Namespace::broadcast_encoded(const Packet& packet,
                                  const std::set<std::string>& rooms,
                                  const std::set<std::string>& except,
                                  const char* origin) {
  std::string text = encode(packet);
  std::vector<Socket*> chosen = select(rooms, except);
  if (logs::tracing())
    logs::trace("sio → %zu socket(s) %s%s", chosen.size(), origin,
                describe(packet).c_str());
  // A binary packet is several Engine.IO messages, and --trace shows each packet:
  // both take the ordinary path, Client::write_encoded.
  bool shared = packet.attachments.empty() && !logs::tracing() && !chosen.empty();
  net::SharedSlice frame = shared ? server_.shared_frame(text) : net::SharedSlice{};
  // A write may close a socket (its reader too far behind), and its disconnect
  // handler may close others: closed() parks them in held_ until the loop ends.
  ++broadcasting_;
  for (Socket* socket : chosen) {
    if (!socket->client_) continue;  // closed by an earlier write of this loop
    // False when the session is not on WebSocket now (polling, mid-upgrade).
    if (shared && socket->conn_->send_frame(frame)) continue;
    socket->client_->write_encoded(text, packet.attachments);
  }
  if (--broadcasting_ == 0) held_.clear();
}

// Namespace: the adapter (rooms)
// ------------------------------
// A room is a set of socket ids, and nothing else: no object to create, no owner.
// Joining inserts, leaving erases, and a room nobody is in does not exist. The
// reference keeps the same two maps (room -> ids here, id -> rooms in the socket).

void Namespace::add_to_room(const std::string& room, Socket& socket) {
  rooms_[room][socket.id()] = &socket;
}

void Namespace::remove_from_room(const std::string& room, const std::string& id) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  it->second.erase(id);
  // A room exists while someone is in it: an empty one is forgotten.
  if (it->second.empty()) rooms_.erase(it);
}

// Who a broadcast reaches: the union of the rooms named (or every socket of the
// namespace), less every socket in an excepted room, each socket once. Instead
// of a set, each pick has a new number, pick_: a socket marked with it is
// already taken or excepted.
std::vector<Socket*> Namespace::select(const std::set<std::string>& rooms,
                                       const std::set<std::string>& except) {
  // EXERCISE room-broadcast: the rooms' sockets (all if none), less the except rooms'
  uint64_t mark = ++pick_;
  for (const auto& room : except)
    if (auto it = rooms_.find(room); it != rooms_.end())
      for (const auto& [id, excepted] : it->second)
        excepted->mark_ = mark;
  std::vector<Socket*> chosen;
  auto take = [&](Socket* socket) {
    if (socket->mark_ == mark) return;
    socket->mark_ = mark;
    chosen.push_back(socket);
  };
  if (rooms.empty()) {
    chosen.reserve(sockets_.size());
    for (const auto& [id, socket] : sockets_)
      take(socket.get());
  } else {
    for (const auto& room : rooms)
      if (auto it = rooms_.find(room); it != rooms_.end())
        for (const auto& [id, socket] : it->second)
          take(socket);
  }
  return chosen;
  // END EXERCISE room-broadcast
}

std::set<std::string> Namespace::recipients(const std::set<std::string>& rooms,
                                            const std::set<std::string>& except) {
  std::set<std::string> ids;
  for (Socket* socket : select(rooms, except))
    ids.insert(socket->id());
  return ids;
}

// Socket
// ------
// One client in one namespace. It lives in its namespace's map while connected;
// the application may hold it longer, but a disconnected socket sends nothing.

Socket::Socket(Namespace& nsp, Client& client, std::string id, json::Value auth)
    : nsp_(&nsp),
      client_(&client),
      conn_(client.conn()),
      id_(std::move(id)),
      auth_(std::move(auth)) {}

const http::Request& Socket::handshake() const {
  return conn_->handshake();
}
const char* Socket::transport() const {
  return conn_->transport();
}

// One handler per event name, as the reference's typical use; a second on() for
// the same name replaces the first.
void Socket::on(const std::string& event, EventHandler handler) {
  handlers_[event] = std::move(handler);
}

void Socket::on_disconnect(std::function<void(const std::string&)> handler) {
  on_disconnect_ = std::move(handler);
}

// Every packet of this socket carries its namespace ("/admin,..."); the Client
// encodes it and hands it to Engine.IO.
void Socket::send(Packet packet) {
  if (!client_) return;  // disconnected: nothing goes out any more
  packet.nsp = nsp_->name();
  client_->write(packet);
}

// 42["event",...args]: fire and forget. With recovery on it is replayable, so it
// goes through the log too, addressed to the room named after this socket's id.
void Socket::emit(const std::string& event, const Args& args) {
  Packet p = event_packet(event, args);
  if (Recovery* recovery = nsp_->server_.recovery;
      recovery && client_ && p.type == Type::event) {
    p.nsp = nsp_->name();
    return recovery->emit(*nsp_, p, {id_}, {});
  }
  send(std::move(p));
}

void Socket::emit_volatile(const std::string& event, const Args& args) {
  send(event_packet(event, args));
}

// Socket.IO v5 "Acknowledgement": the packet carries an id; the client answers
// with an ACK bearing the same id, and the callback waiting under it is called.
void Socket::emit(const std::string& event, const Args& args, AckCallback callback,
                  int64_t timeout_ms) {
  if (!client_) return callback("socket has been disconnected", Args{});
  Packet p = event_packet(event, args);
  // Ids count up from 0 per socket, as the reference's; the client echoes them.
  uint64_t id = next_ack_++;
  p.id = id;
  PendingAck& pending = acks_[id];
  pending.callback = std::move(callback);
  // Without a timeout an ack that never comes waits until the socket disconnects.
  if (timeout_ms > 0) {
    std::weak_ptr<Socket> weak = weak_from_this();
    pending.timer = nsp_->server_.loop().after(timeout_ms, [weak, id] {
      auto self = weak.lock();
      if (!self) return;
      auto it = self->acks_.find(id);
      if (it == self->acks_.end()) return;
      AckCallback cb = std::move(it->second.callback);
      self->acks_.erase(it);
      // The ack may still come; it is ignored then (no id waits for it).
      cb("operation has timed out", Args{});
    });
  }
  send(std::move(p));
}

// Both sides of the membership change together: the socket's set and the room's.
// With recovery on, the session is saved at once: a node killed right after still
// gives the rooms back.
void Socket::join(const std::string& room) {
  if (!client_) return;  // a gone socket joins nothing: it would never leave
  if (!rooms_.insert(room).second) return;
  nsp_->add_to_room(room, *this);
  if (!pid_.empty()) nsp_->server_.recovery->save(*this);
}

void Socket::leave(const std::string& room) {
  if (!rooms_.erase(room)) return;
  nsp_->remove_from_room(room, id_);
  if (!pid_.empty() && client_) nsp_->server_.recovery->save(*this);
}

// Leaving out this socket = excepting the room named after its id.
BroadcastOperator Socket::to(const std::string& room) {
  return broadcast().to(room);
}
BroadcastOperator Socket::broadcast() {
  return BroadcastOperator(*nsp_, {}, {id_});
}

// The server ends this namespace only, or (close) the whole session.
void Socket::disconnect(bool close) {
  if (!client_) return;
  if (close) {
    // Every namespace of the session is told, then the session itself ends.
    Client* client = client_;
    auto all = client->sockets_;
    for (auto& [nsp, socket] : all)
      socket->disconnect(false);
    return client->close("server namespace disconnect");
  }
  // Socket.IO v5 "Disconnection from a namespace": DISCONNECT, no answer expected.
  Packet p;
  p.type = Type::disconnect;
  send(std::move(p));
  closed("server namespace disconnect");
}

// A packet the Client routed here by its namespace.
void Socket::on_packet(Packet& p) {
  switch (p.type) {
    case Type::event:
    case Type::binary_event:
      return on_event(p);
    case Type::ack:
    case Type::binary_ack:
      return on_ack(p);
    case Type::disconnect:
      return closed("client namespace disconnect");
    default:
      return;  // CONNECT and CONNECT_ERROR are the Client's
  }
}

// 2["msg:post",{...}] or 213["msg:post",{...}] (with ack id 13): the handler gets
// the arguments after the name, and an Ack when the client asked for one.
void Socket::on_event(Packet& p) {
  json::Array& data = p.data->as_array();  // the decoder checked: [name, ...]
  // 2[42,"x"] (socket.emit(42, "x")): a number names the event "42", as in the
  // reference, whose listeners are looked up by property key.
  std::string name = event_name(data[0]);
  Args args;
  args.values.assign(std::make_move_iterator(data.begin() + 1),
                     std::make_move_iterator(data.end()));
  args.buffers = std::move(p.attachments);
  Ack ack;
  if (p.id) {
    // The handler may answer later, or never; only its first answer is sent.
    std::weak_ptr<Socket> weak = weak_from_this();
    auto answered = std::make_shared<bool>(false);
    uint64_t id = *p.id;
    ack = [weak, id, answered](const Args& reply) {
      auto self = weak.lock();
      if (!self || *answered) return;
      *answered = true;
      // 313[...] or, with binary in the reply, 61-13[...] and the attachment.
      Packet a;
      a.type = reply.buffers.empty() ? Type::ack : Type::binary_ack;
      a.id = id;
      a.data = json::Value(reply.values);
      a.attachments = reply.buffers;
      self->send(std::move(a));
    };
  }
  auto it = handlers_.find(name);
  if (it == handlers_.end()) return;  // nobody listens: dropped, as the reference does
  EventHandler handler = it->second;  // a copy: the handler may replace itself
  auto keep = shared_from_this();  // and may disconnect this socket
  handler(args, ack);
}

// 313[...]: the answer to our emit with id 13. Its callback runs once; the id is
// forgotten, so a second ACK with it is ignored like any unknown id.
void Socket::on_ack(Packet& p) {
  auto it = acks_.find(*p.id);
  if (it == acks_.end()) return;  // unknown or timed out: ignored
  PendingAck pending = std::move(it->second);
  acks_.erase(it);
  nsp_->server_.loop().cancel(pending.timer);
  Args reply;
  reply.values = std::move(p.data->as_array());
  reply.buffers = std::move(p.attachments);
  pending.callback("", reply);
}

// Out of every room, out of the namespace, then the handler hears why.
void Socket::closed(const std::string& reason) {
  if (!client_) return;
  auto keep = shared_from_this();
  // Saved with its rooms and the time, or forgotten if it left on purpose.
  if (!pid_.empty()) nsp_->server_.recovery->closed(*this, reason);
  for (const auto& room : rooms_)
    nsp_->remove_from_room(room, id_);
  rooms_.clear();
  if (nsp_->broadcasting_) nsp_->held_.push_back(keep);  // select() points at it
  nsp_->sockets_.erase(id_);
  if (auto it = client_->sockets_.find(nsp_->name());
      it != client_->sockets_.end() && it->second.get() == this)
    client_->sockets_.erase(it);
  client_ = nullptr;
  // Whoever waits for an ack from this socket hears now that none will come.
  auto acks = std::move(acks_);
  acks_.clear();
  for (auto& [id, pending] : acks) {
    nsp_->server_.loop().cancel(pending.timer);
    pending.callback("socket has been disconnected", Args{});
  }
  // Handlers often hold the socket itself: dropping them breaks that cycle.
  auto on_disconnect = std::move(on_disconnect_);
  on_disconnect_ = nullptr;
  handlers_.clear();
  if (on_disconnect) on_disconnect(reason);
}

}  // namespace sio
