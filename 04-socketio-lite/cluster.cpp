// The Redis Streams adapter: broadcasts out to the stream, the others' back in
// (the entry's format is cluster_wire.cpp, pub/sub requests cluster_requests.cpp).
#include "cluster.h"

#include <charconv>
#include <random>

#include "common/log.h"

namespace cluster {

// 8 random bytes in hex, as socket-io-adapter's randomId(): a node's uid.
static std::string random_uid() {
  static std::random_device entropy;
  static const char hex[] = "0123456789abcdef";
  std::string uid;
  for (int i = 0; i < 8; ++i) {
    unsigned byte = entropy() & 0xff;
    uid += hex[byte >> 4];
    uid += hex[byte & 15];
  }
  return uid;
}

// Adapter
// -------

Adapter::Adapter(loop::Loop& loop, sio::Server& io, Options options)
    : loop_(loop),
      io_(io),
      options_(std::move(options)),
      uid_(random_uid()),
      commands_(loop, "redis", options_.host, options_.port),
      reader_(loop, "redis xread", options_.host, options_.port),
      subscriber_(loop, "redis pubsub", options_.host, options_.port) {}

Adapter::~Adapter() {
  io_.on_broadcast = nullptr;
  io_.cluster_connected = true;
  if (read_retry_) loop_.cancel(read_retry_);
  if (loading_retry_) loop_.cancel(loading_retry_);
  if (presence_timer_) loop_.cancel(presence_timer_);
  for (auto& pending : in_doubt_)
    if (pending->timer) loop_.cancel(pending->timer);
}

void Adapter::start() {
  logs::info("cluster: node uid %s, stream \"%s\" on redis %s:%d", uid_.c_str(),
             options_.stream_name.c_str(), options_.host.c_str(), options_.port);
  io_.on_broadcast = [this](sio::Namespace& nsp, const sio::Packet& packet,
                            const std::set<std::string>& rooms,
                            const std::set<std::string>& except) {
    publish(nsp, packet, rooms, except, nullptr);
  };
  io_.cluster_connected = false;
  commands_.on_disconnect = [this] { io_.cluster_connected = false; };
  commands_.on_connect = [this] {
    if (unpublished_)
      logs::warn("cluster: %llu broadcast(s) made while cut off reached this node only",
                 (unsigned long long)unpublished_);
    unpublished_ = 0;
    load_post_script();  // first: every post on this connection comes after it
    load_history_id();
    resolve_in_doubt();
    recover();
  };
  reader_.on_connect = [this] { start_reading(); };
  subscriber_.on_connect = [this] { subscribe(); };
  subscriber_.on_push = [this](const redis::Reply& r) {
    // ["message", channel, payload]
    if (r.type == redis::Type::array && r.elements.size() == 3 &&
        r.elements[2].type == redis::Type::bulk)
      receive_message(r.elements[2].str);
  };
  commands_.start();
  reader_.start();
  subscriber_.start();
  presence_timer_ = loop_.after(kPresenceRefreshMs, [this] { presence_tick(); });
}

// XADD socket.io MAXLEN ~ 10000 * uid <uid> nsp <nsp> type 3 data <data>: "*" lets
// Redis pick the id (<ms>-<seq>, always growing), so the stream's order is the
// order Redis received the broadcasts in.
void Adapter::publish(sio::Namespace& nsp, const sio::Packet& packet,
                      const std::set<std::string>& rooms,
                      const std::set<std::string>& except,
                      std::function<void(const std::string&)> done) {
  if (!commands_.connected() || recovering_) {
    ++unpublished_;  // the client has logged that it is cut off
    if (done) done("");
    return;
  }
  sio::Packet p = packet;
  p.nsp = nsp.name();
  Entry e = broadcast_entry(uid_, p, rooms, except);
  send_xadd(
      {"XADD", options_.stream_name, "MAXLEN", "~", std::to_string(options_.max_len), "*",
       "uid", e.uid, "nsp", e.nsp, "type", e.type, "data", e.data},
      std::move(done));
}

// Replies come in the order of the commands: the oldest XADD in flight is the
// one answered. One lost with the connection stays in flight for recover().
// `done` (recovery: the packet waits for its offset) gets the id, or "" when the
// reply was lost: the packet then goes out live only, without an offset.
void Adapter::send_xadd(std::vector<std::string> command,
                        std::function<void(const std::string&)> done) {
  in_flight_.push_back(command);
  commands_.command(std::move(command), [this, done](const redis::Reply& r) {
    if (r.is_error() && !commands_.connected()) {  // kept for recover()
      if (done) done("");
      return;
    }
    in_flight_.pop_front();
    if (r.is_error()) {
      ++unpublished_;
      logs::warn("cluster: XADD refused: %s", r.str.c_str());
      if (done) done("");
      return;
    }
    last_published_ = r.str;  // the entry's id, <ms>-<seq>
    if (done) done(r.str);
  });
}

// Connected (again). XADDs that were in flight when the connection dropped may be
// in the stream or not: our entries after the last id Redis confirmed say which
// ("(" makes the start exclusive), and only the missing ones are sent again, in
// their order. Without this a post acknowledged just before Redis went away
// could reach this node's sockets only; with a blind resend, some twice. Posts
// are refused until it is done (cluster_connected).
void Adapter::recover() {
  if (in_flight_.empty()) {
    io_.cluster_connected = true;
    return;
  }
  recovering_ = true;
  auto unsure = std::move(in_flight_);
  in_flight_.clear();
  std::string start = last_published_.empty() ? "-" : "(" + last_published_;
  commands_.command(
      {"XRANGE", options_.stream_name, start, "+"},
      [this, unsure = std::move(unsure)](const redis::Reply& r) mutable {
        recovering_ = false;
        if (r.is_error()) {
          // Cut off again: still unsure, asked again at the next connection.
          if (!commands_.connected()) {
            in_flight_ = std::move(unsure);
            return;
          }
          logs::warn("cluster: XRANGE failed (%s); %zu broadcast(s) not sent again",
                     r.str.c_str(), unsure.size());
          io_.cluster_connected = true;
          return;
        }
        // [[id, [field, value...]]...]: the data of every entry of ours.
        std::set<std::string> there;
        for (const auto& item : r.elements) {
          if (item.elements.size() != 2) continue;
          const auto& fields = item.elements[1].elements;
          std::string uid, data;
          for (size_t i = 0; i + 1 < fields.size(); i += 2) {
            if (fields[i].str == "uid") uid = fields[i + 1].str;
            if (fields[i].str == "data") data = fields[i + 1].str;
          }
          if (uid == uid_) there.insert(data);
        }
        size_t again = 0;
        for (auto& command : unsure) {
          if (there.count(command.back())) continue;  // data is the last argument
          send_xadd(std::move(command));
          ++again;
        }
        logs::info(
            "cluster: of %zu broadcast(s) in flight when cut off, %zu were in the"
            " stream, %zu sent again",
            unsure.size(), unsure.size() - again, again);
        io_.cluster_connected = true;
      });
}

// Reading
// -------
// The first read starts from the stream's last entry, asked for explicitly
// (XREVRANGE socket.io + - COUNT 1) rather than "$": "$" means "whatever is last
// when this XREAD runs", and after a blip that would skip what came meanwhile.

void Adapter::start_reading() {
  if (reading_) return;
  if (last_id_ != "$") {
    logs::info("cluster: reading \"%s\" on after entry %s", options_.stream_name.c_str(),
               last_id_.c_str());
    return read_next();
  }
  reading_ = true;
  reader_.command({"XREVRANGE", options_.stream_name, "+", "-", "COUNT", "1"},
                  [this](const redis::Reply& r) {
                    reading_ = false;
                    if (r.is_error()) return;  // cut off: on_connect starts again
                    // [[id, [field, value...]]], or [] for no stream yet.
                    if (r.type == redis::Type::array && !r.elements.empty() &&
                        !r.elements[0].elements.empty())
                      last_id_ = r.elements[0].elements[0].str;
                    else
                      last_id_ = "0-0";
                    // Recovery: offsets from here on are known to this node.
                    if (read_from_.empty()) read_from_ = last_id_;
                    logs::info("cluster: reading \"%s\" after entry %s",
                               options_.stream_name.c_str(), last_id_.c_str());
                    read_next();
                  });
}

// XREAD BLOCK 5000 COUNT 100 STREAMS socket.io <last id>: waits up to 5 s for
// entries after the last one seen (then answers *-1), and is sent again at once.
void Adapter::read_next() {
  if (reading_ || !reader_.connected()) return;
  reading_ = true;
  reader_.command(
      {"XREAD", "BLOCK", std::to_string(options_.block_ms), "COUNT",
       std::to_string(options_.read_count), "STREAMS", options_.stream_name, last_id_},
      [this](const redis::Reply& r) {
        reading_ = false;
        if (r.is_error()) {
          if (!reader_.connected()) return;  // on_connect reads on
          // Connected but refused (a key of another type...): not
          // in a tight loop.
          logs::warn("cluster: XREAD failed: %s; again in 1 s", r.str.c_str());
          read_retry_ = loop_.after(1000, [this] {
            read_retry_ = 0;
            read_next();
          });
          return;
        }
        on_entries(r);
        read_next();
      });
}

// [[stream, [[id, [field, value, ...]], ...]]], or null when BLOCK timed out.
void Adapter::on_entries(const redis::Reply& r) {
  if (r.type != redis::Type::array) return;
  for (const auto& stream : r.elements) {
    if (stream.elements.size() != 2) continue;
    for (const auto& item : stream.elements[1].elements) {
      if (item.elements.size() != 2) continue;
      Entry e;
      const auto& fields = item.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        const std::string& name = fields[i].str;
        const std::string& value = fields[i + 1].str;
        if (name == "uid")
          e.uid = value;
        else if (name == "nsp")
          e.nsp = value;
        else if (name == "type")
          e.type = value;
        else if (name == "data")
          e.data = value;
      }
      receive_entry(item.elements[0].str, e);
    }
  }
}

void Adapter::receive_entry(const std::string& id, const Entry& e) {
  // Offsets move on past every entry, delivered or not.
  last_id_ = id;
  if (recovery_) remember(last_id_, e);
  on_entry(last_id_, e);
}

void Adapter::on_entry(const std::string& id, const Entry& e) {
  if (e.uid == uid_) return;  // our own: delivered here when it was made
  sio::Namespace* nsp = io_.find(e.nsp);
  if (!nsp) return;  // a namespace this node does not have
  int type = 0;
  auto r = std::from_chars(e.type.data(), e.type.data() + e.type.size(), type);
  if (r.ec != std::errc() || r.ptr != e.type.data() + e.type.size()) {
    logs::warn("cluster: entry %s skipped: type \"%s\" is not a number", id.c_str(),
               logs::printable(e.type, 20).c_str());
    return;
  }
  json::Value data;
  std::vector<std::string> buffers;
  std::string error;
  if (!e.data.empty() && !read_data(e.data, data, buffers, error)) {
    logs::warn("cluster: entry %s skipped: %s", id.c_str(), error.c_str());
    return;
  }
  apply(*nsp, static_cast<MessageType>(type), data, std::move(buffers), id);
}

// What another node asked of every node, done here for this node's sockets.
void Adapter::apply(sio::Namespace& nsp, MessageType type, const json::Value& data,
                    std::vector<std::string> buffers, const std::string& id) {
  std::string error;
  switch (type) {
    case MessageType::broadcast: {
      Broadcast b;
      if (!read_broadcast(data, std::move(buffers), b, error)) break;
      b.packet.nsp = nsp.name();
      // Recovery: the entry id is the packet's offset, on every node the same.
      add_offset(b.packet, data.find("opts") ? *data.find("opts") : json::Value(), id);
      nsp.deliver(b.packet, b.rooms, b.except);
      return;
    }
    // io.in(room).socketsJoin(rooms) / socketsLeave / disconnectSockets:
    // {"opts":{...},"rooms":[...]} or {"opts":{...},"close":false}.
    case MessageType::sockets_join:
    case MessageType::sockets_leave:
    case MessageType::disconnect_sockets: {
      std::set<std::string> rooms, except, targets;
      if (!read_opts(data.find("opts"), rooms, except, error)) break;
      auto sockets = sio::BroadcastOperator(nsp, rooms, except).sockets();
      if (type == MessageType::disconnect_sockets) {
        const json::Value* close = data.find("close");
        for (auto& s : sockets)
          s->disconnect(close && close->is_bool() && close->as_bool());
        return;
      }
      const json::Value* list = data.find("rooms");
      if (list && list->is_array())
        for (const auto& room : list->as_array())
          if (room.is_string()) targets.insert(room.as_string());
      for (auto& s : sockets)
        for (const auto& room : targets)
          type == MessageType::sockets_join ? s->join(room) : s->leave(room);
      return;
    }
    default:
      return;  // responses and heartbeats are not for a node that asks nothing
  }
  logs::warn("cluster: message of type %d skipped: %s", static_cast<int>(type),
             error.c_str());
}

}  // namespace cluster
