// Connection state recovery in the cluster (cluster.h): the sessions in Redis,
// the socket.io stream as the replay log.
//
//   client ↔ node A: 40{"sid":"s1","pid":"p1","offset":"1733061000000-4"}
//     A: SET sio:session:p1 <base64 msgpack {sid,pid,rooms,data,...}> PX 120000
//        SET sio:held:p1 socket.io#/#<A's uid># PX 120000      (A's socket holds it)
//   A: XADD socket.io ... data {"packet":...}  → 1733061000123-0, the offset
//   client ← A: 42["msg:new",{...},"1733061000123-0"]
//   (A is killed: nothing more is saved, but sio:session:p1 is there)
//   client → node B: 40{"pid":"p1","offset":"1733061000123-0","user":"ada"}
//     B: EVAL claim: the session; sio:held:p1 names A, and
//        PUBSUB NUMSUB socket.io#/#<A's uid># is 0 (A's connections are gone):
//        so it is B's now (sio:held:p1 ← B's channel)
//     B: what B read of the stream after 1733061000123-0, for p1's rooms
//   client ← B: the missed events, each with its entry id, then 40{"sid":"s1",...}
#include <charconv>

#include "cluster.h"
#include "common/log.h"
#include "engineio_packet.h"
#include "msgpack.h"

namespace cluster {

std::optional<StreamId> parse_stream_id(const std::string& text) {
  size_t dash = text.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == text.size())
    return std::nullopt;
  StreamId id;
  const char* end = text.data() + text.size();
  auto a = std::from_chars(text.data(), text.data() + dash, id.first);
  auto b = std::from_chars(text.data() + dash + 1, end, id.second);
  if (a.ec != std::errc() || a.ptr != text.data() + dash || b.ec != std::errc() ||
      b.ptr != end)
    return std::nullopt;
  return id;
}

static std::string stream_id_text(const StreamId& id) {
  return std::to_string(id.first) + "-" + std::to_string(id.second);
}

void Adapter::enable_recovery(int64_t window_ms) {
  recovery_ = true;
  sessions_.window_ms = window_ms;
}

// socket.io-adapter's addOffsetIfNecessary(): an EVENT without ack id, not
// volatile, gets the entry id as its last argument.
void Adapter::add_offset(sio::Packet& packet, const json::Value& opts,
                         const std::string& id) const {
  if (!recovery_ || id.empty() || packet.type != sio::Type::event || packet.id ||
      !packet.data || !packet.data->is_array())
    return;
  const json::Value* flags = opts.find("flags");
  if (flags && flags->find("volatile")) return;
  packet.data->as_array().emplace_back(id);
}

// Every entry read is kept (its id is an offset a client may hold); a
// replayable broadcast with its packet. Bounded like the stream (MAXLEN).
void Adapter::remember(const std::string& text, const Entry& e) {
  auto id = parse_stream_id(text);
  if (!id) return;
  std::optional<sio::Replayable> packet;
  json::Value data;
  std::vector<std::string> buffers;
  std::string error;
  Broadcast b;
  if (e.type == "3" && read_data(e.data, data, buffers, error) && buffers.empty() &&
      read_broadcast(data, {}, b, error) && b.packet.type == sio::Type::event &&
      !b.packet.id && b.packet.data && b.packet.data->is_array()) {
    const json::Value* opts = data.find("opts");
    const json::Value* flags = opts ? opts->find("flags") : nullptr;
    if (!flags || !flags->find("volatile"))
      packet = sio::Replayable{text, e.nsp, *b.packet.data, b.rooms, b.except};
  }
  read_[*id] = std::move(packet);
  while (read_.size() > static_cast<size_t>(options_.max_len)) {
    // Fallen out: a session at or before it is not recovered (after() says).
    read_from_ = stream_id_text(read_.begin()->first);
    read_.erase(read_.begin());
  }
}

// StreamReplayLog
// ---------------

// The broadcast's XADD is the append: its id comes back as the offset, and the
// other nodes deliver the entry with that same id as the offset.
void StreamReplayLog::append(sio::Replayable p,
                             std::function<void(const std::string&)> done) {
  sio::Namespace* nsp = adapter_.io_.find(p.nsp);
  if (!nsp) return done("");
  sio::Packet packet;
  packet.type = sio::Type::event;
  packet.nsp = p.nsp;
  packet.data = std::move(p.data);
  adapter_.publish(*nsp, packet, p.rooms, p.except, std::move(done));
}

// The last entry this node has read: every packet after it reaches this node's
// sockets with its offset, live or (once dropped) replayed.
std::string StreamReplayLog::head() const {
  return adapter_.last_id_ == "$" ? "" : adapter_.last_id_;
}

std::optional<std::vector<sio::Replayable>> StreamReplayLog::after(
    const std::string& offset) const {
  auto id = parse_stream_id(offset);
  if (!id || adapter_.read_from_.empty()) return std::nullopt;
  auto it = adapter_.read_.begin();
  if (offset != adapter_.read_from_) {
    // An entry this node read (XRANGE off off in the Node adapter): nothing
    // older than its start, nothing it has not read yet, no made-up id.
    it = adapter_.read_.find(*id);
    if (it == adapter_.read_.end()) return std::nullopt;
    ++it;
  }
  std::vector<sio::Replayable> out;
  for (; it != adapter_.read_.end(); ++it)
    if (it->second) out.push_back(*it->second);
  return out;
}

bool StreamReplayLog::not_after(const std::string& a, const std::string& b) const {
  auto x = parse_stream_id(a), y = parse_stream_id(b);
  return x && y && *x <= *y;
}

// RedisSessionStore
// -----------------
// The record is the Node adapter's (base64 of msgpack {sid, pid, rooms, data})
// with this lesson's nsp, offset and disconnected_at beside them, which a Node
// member ignores.

static std::string session_key(const std::string& pid) {
  return "sio:session:" + pid;
}
static std::string held_key(const std::string& pid) {
  return "sio:held:" + pid;
}

// KEYS: the session, its holder. ARGV: this node's channel, the window.
// {0}: no such session; {2}: held by a node whose channel has a subscriber (it
// is alive, so its socket still holds the pid); {1, record}: claimed for us.
static const char kClaimScript[] = R"lua(
local v = redis.call('GET', KEYS[1])
if not v then return {0} end
local h = redis.call('GET', KEYS[2])
if h and h ~= ARGV[1] then
  local n = redis.call('PUBSUB', 'NUMSUB', h)
  if n[2] > 0 then return {2} end
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {1, v}
)lua";

void RedisSessionStore::save(const sio::Session& s) {
  json::ParseResult record = json::parse(sio::session_json(s));
  std::string value = eio::base64_encode(msgpack::encode(*record.value));
  std::string px = std::to_string(window_ms);
  redis::Client& redis = adapter_.commands_;
  auto warn = [](const redis::Reply& r) {
    if (r.is_error())
      logs::warn("recovery: session not saved in redis: %s", r.str.c_str());
  };
  redis.command({"SET", session_key(s.pid), value, "PX", px}, warn);
  if (!s.disconnected_at) {
    held_[s.pid] = s;
    redis.command({"SET", held_key(s.pid), adapter_.liveness_channel(), "PX", px});
  } else {
    held_.erase(s.pid);
    redis.command({"DEL", held_key(s.pid)});
  }
}

std::optional<sio::Session> RedisSessionStore::find(const std::string& pid) const {
  auto it = held_.find(pid);
  if (it == held_.end()) return std::nullopt;
  return it->second;
}

void RedisSessionStore::erase(const std::string& pid) {
  held_.erase(pid);
  adapter_.commands_.command({"DEL", session_key(pid), held_key(pid)});
}

// Redis forgets them itself (PX): only the held ones are here, until they close.
void RedisSessionStore::expire(int64_t) {}

// A record of ours, or of a Node member ({sid, pid, rooms, data} only).
static std::optional<sio::Session> read_record(const std::string& value) {
  std::string bytes;
  if (!eio::base64_decode(value, bytes)) return std::nullopt;
  msgpack::Result m = msgpack::decode(bytes);
  if (m.status != msgpack::Status::done || !m.value.is_object()) return std::nullopt;
  const json::Value* pid = m.value.find("pid");
  const json::Value* sid = m.value.find("sid");
  const json::Value* rooms = m.value.find("rooms");
  if (!pid || !pid->is_string() || !sid || !sid->is_string() || !rooms ||
      !rooms->is_array())
    return std::nullopt;
  sio::Session s;
  s.pid = pid->as_string();
  s.sid = sid->as_string();
  for (const auto& room : rooms->as_array()) {
    if (!room.is_string()) return std::nullopt;
    s.rooms.insert(room.as_string());
  }
  if (const json::Value* data = m.value.find("data")) s.data = *data;
  const json::Value* nsp = m.value.find("nsp");
  s.nsp = nsp && nsp->is_string() ? nsp->as_string() : "/";  // Node's: one adapter
  if (const json::Value* offset = m.value.find("offset"); offset && offset->is_string())
    s.offset = offset->as_string();
  if (const json::Value* at = m.value.find("disconnected_at"); at && at->is_number())
    s.disconnected_at = static_cast<int64_t>(at->as_number());
  return s;
}

void RedisSessionStore::claim(const std::string& pid, Claimed done) {
  if (held_.count(pid)) return done(std::nullopt, "pid already in use (replayed?)");
  adapter_.commands_.command(
      {"EVAL", kClaimScript, "2", session_key(pid), held_key(pid),
       adapter_.liveness_channel(), std::to_string(window_ms)},
      [this, pid, done = std::move(done)](const redis::Reply& r) {
        if (r.is_error()) {
          logs::warn("recovery: redis: %s", r.str.c_str());
          return done(std::nullopt, "redis could not be asked");
        }
        int64_t state = r.elements.empty() ? -1 : r.elements[0].integer;
        if (state == 0) return done(std::nullopt, "unknown pid");
        if (state == 2)
          return done(std::nullopt, "pid held by a socket on another node (replayed?)");
        // A socket of ours took it meanwhile (two CONNECTs with one pid at once).
        if (held_.count(pid)) return done(std::nullopt, "pid already in use (replayed?)");
        std::optional<sio::Session> s;
        if (state == 1 && r.elements.size() == 2) s = read_record(r.elements[1].str);
        if (!s || s->pid != pid) return done(std::nullopt, "not a session record");
        done(std::move(s), nullptr);
      });
}

}  // namespace cluster
