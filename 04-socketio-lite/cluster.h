// Several lesson-4 processes as one server: socket.io's Redis Streams adapter,
// wire for wire (npm @socket.io/redis-streams-adapter 0.3.1 on socket.io-adapter's
// ClusterAdapter), so a Node socket.io server with that adapter on the same Redis
// is a member of the same cluster.
//
// Every broadcast made here (io.to(room).emit, socket.to(room).emit...) reaches
// this node's sockets at once and is appended to one Redis Stream:
//   XADD socket.io MAXLEN ~ 10000 * uid 3f2a9c01d4e5b687 nsp / type 3
//        data {"packet":{"type":2,"data":["msg:new",{...}]},
//              "opts":{"rooms":["general"],"except":["<sender id>"],"flags":{}}}
// Every node reads the stream (XREAD BLOCK), skips its own entries (its sockets
// have them already) and delivers the others' to its sockets, choosing them by
// rooms and except as it would for its own broadcast. A node that loses Redis
// reads on from the last entry it saw once Redis is back, so nothing is lost.
//
// Requests that need no history go over pub/sub, msgpack-encoded, on
// "socket.io#<nsp>#": a Node member asks every node for its sockets
// (fetchSockets), sends server-side emits, or broadcasts with acks. It counts the
// nodes it waits for with PUBSUB NUMSUB on that channel, so each request gets an
// answer here, on the asker's own channel "socket.io#<nsp>#<its uid>#".
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/chat.h"
#include "common/loop.h"
#include "io.h"
#include "redis.h"

namespace cluster {

// The adapter's defaults (createAdapter's options of the same names).
struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string stream_name = "socket.io";
  int64_t max_len = 10000;  // XADD MAXLEN ~: the stream is trimmed, roughly
  int64_t read_count = 100;  // XREAD COUNT
  int64_t block_ms = 5000;  // XREAD BLOCK
  std::string channel_prefix = "socket.io";
  std::vector<std::string> namespaces = {"/"};  // answered on pub/sub
  int64_t history = 1000;  // messages each room's history stream keeps
};

// socket.io-adapter's MessageType: the values are the stream's "type" field.
enum class MessageType : int {
  initial_heartbeat = 1,
  heartbeat = 2,
  broadcast = 3,
  sockets_join = 4,
  sockets_leave = 5,
  disconnect_sockets = 6,
  fetch_sockets = 7,
  fetch_sockets_response = 8,
  server_side_emit = 9,
  server_side_emit_response = 10,
  broadcast_client_count = 11,
  broadcast_ack = 12,
  adapter_close = 13,
};

// One stream entry's fields, as XADD writes them and XREAD returns them.
struct Entry {
  std::string uid, nsp, type, data;
};

// The entry for a broadcast: data is JSON, or base64 of msgpack when the packet
// carries binary (the adapter's hasBinary() test), as the Node adapter writes it.
Entry broadcast_entry(const std::string& uid, const sio::Packet& packet,
                      const std::set<std::string>& rooms,
                      const std::set<std::string>& except);

// A BROADCAST entry's data back into a packet and its rooms; false with `error`
// set when it is not one (the entry is then skipped and logged).
struct Broadcast {
  sio::Packet packet;
  std::set<std::string> rooms, except;
};
bool read_broadcast(const json::Value& data, std::vector<std::string> buffers,
                    Broadcast& out, std::string& error);
// An entry's data: '{' starts JSON, anything else is base64 of msgpack.
bool read_data(const std::string& data, json::Value& value,
               std::vector<std::string>& buffers, std::string& error);

// opts {"rooms":[...],"except":[...],"flags":{...}} into two sets; false with
// `error` set when it is malformed.
bool read_opts(const json::Value* opts, std::set<std::string>& rooms,
               std::set<std::string>& except, std::string& error);
json::Value string_array(const std::set<std::string>& items);

class Adapter;

// A stream entry id, <ms>-<seq>, as two numbers; nullopt if it is not one.
using StreamId = std::pair<uint64_t, uint64_t>;
std::optional<StreamId> parse_stream_id(const std::string& text);

// Connection state recovery in the cluster (cluster_recovery.cpp), the streams
// adapter's way: offsets are the socket.io stream's entry ids, the same on every
// node; sessions are SET sio:session:<pid> <base64 msgpack {sid,pid,rooms,data,...}>
// PX <window>, readable by a Node member. Unlike the Node adapter, a session is
// saved when it is created and whenever its rooms change, and the node holding it
// is named in sio:held:<pid>, so a node killed outright leaves its sessions to
// the others, and a pid held by a live node is never given to a second socket.
class RedisSessionStore : public sio::SessionStore {
 public:
  explicit RedisSessionStore(Adapter& adapter) : adapter_(adapter) {}
  void save(const sio::Session& session) override;
  std::optional<sio::Session> find(const std::string& pid) const override;
  void erase(const std::string& pid) override;
  void expire(int64_t before) override;
  void claim(const std::string& pid, Claimed done) override;
  int64_t window_ms = 120'000;

 private:
  Adapter& adapter_;
  // The sessions this node's sockets hold now: a pid of ours is checked here.
  std::map<std::string, sio::Session> held_;
};

// The socket.io stream as the replay log. Each node keeps what it read of the
// stream (XREAD) since it started, at most max_len entries, so after() answers
// at once; an append is the broadcast's XADD itself.
class StreamReplayLog : public sio::ReplayLog {
 public:
  explicit StreamReplayLog(Adapter& adapter) : adapter_(adapter) {}
  void append(sio::Replayable packet,
              std::function<void(const std::string&)> done) override;
  std::string head() const override;
  std::optional<std::vector<sio::Replayable>> after(
      const std::string& offset) const override;
  bool not_after(const std::string& a, const std::string& b) const override;

 private:
  Adapter& adapter_;
};

class Adapter {
 public:
  Adapter(loop::Loop& loop, sio::Server& io, Options options);
  ~Adapter();
  void start();
  // Can this node publish right now? (A post made while cut off is refused.)
  bool connected() const { return commands_.connected(); }
  const std::string& uid() const { return uid_; }

  // The rooms' history, in Redis (cluster_history.cpp). A post is stored and
  // broadcast to the room (except the socket `except`) in one step; done gets
  // the stored message, or an error when Redis could not be asked.
  using PostDone = std::function<void(const chat::Posted&)>;
  void post(const std::string& room, chat::Post post, const std::string& except,
            PostDone done);
  // msg:get's {"messages":[...],"missed":n}: after `since`, or the latest n.
  using PageDone = std::function<void(const std::string& error, json::Value page)>;
  void page(const std::string& room, std::optional<uint64_t> since, size_t latest,
            PageDone done);
  // The cluster's history id, kept in Redis; empty until Redis has said it.
  const std::string& history_id() const { return history_id_; }

  // Connection state recovery over Redis (cluster_recovery.cpp): call before
  // start(); the stores are then the server's (server.cpp).
  void enable_recovery(int64_t window_ms);
  sio::SessionStore& sessions() { return sessions_; }
  sio::ReplayLog& replay_log() { return replay_; }
  // socket.io#/#<uid>#: subscribed while this node is alive (PUBSUB NUMSUB).
  std::string liveness_channel() const {
    return options_.channel_prefix + "#" + options_.namespaces.front() + "#" + uid_ + "#";
  }

  // What Redis sends, handed in: a pub/sub message's payload, and one stream
  // entry as XREAD returns it. The replies' handlers call these, and so does
  // tests/fuzz/lesson4_cluster.cpp, with no Redis at all.
  void receive_message(const std::string& payload) { on_request(payload); }
  void receive_entry(const std::string& id, const Entry& entry);

  // Who is online, cluster-wide (cluster_presence.cpp): this node's users in a
  // room go to the other nodes whenever they change (and every 5 s); theirs
  // are kept as they sent them, per node, until 12 s after a node's last word.
  void share_presence(const std::string& room, const std::set<std::string>& users);
  std::set<std::string> remote_users(const std::string& room) const;
  std::function<void(const std::string& room)> on_presence;  // another node's changed
  std::function<bool(const std::string& room)> presence_room;  // a room of the chat's

 private:
  friend class RedisSessionStore;
  friend class StreamReplayLog;
  // The broadcast's XADD; done gets its entry id, or "" when it could not be sent.
  void publish(sio::Namespace& nsp, const sio::Packet& packet,
               const std::set<std::string>& rooms, const std::set<std::string>& except,
               std::function<void(const std::string&)> done);
  // Every entry read, for the replay log: a replayable broadcast, or nothing.
  void remember(const std::string& id, const Entry& entry);
  // [event, ...args] + the entry id, when recovery is on and the packet is one
  // that is replayed (an EVENT without ack id, not volatile).
  void add_offset(sio::Packet& packet, const json::Value& opts,
                  const std::string& id) const;

  void publish(sio::Namespace& nsp, const sio::Packet& packet,
               const std::set<std::string>& rooms, const std::set<std::string>& except);
  void send_xadd(std::vector<std::string> command,
                 std::function<void(const std::string&)> done = nullptr);
  void recover();
  void start_reading();
  void read_next();
  void on_entries(const redis::Reply& reply);
  void on_entry(const std::string& id, const Entry& entry);
  void apply(sio::Namespace& nsp, MessageType type, const json::Value& data,
             std::vector<std::string> buffers, const std::string& id);
  struct Pending {  // a post sent as a script whose answer has not come
    std::vector<std::string> args;  // numkeys, KEYS, ARGV (after EVAL or EVALSHA)
    std::string token;  // in the entry's "tok" field: this post's, none other's
    std::string room;
    std::set<std::string> except;
    PostDone done;
    loop::TimerId timer = 0;
  };
  void load_history_id();
  void load_post_script();
  // EVALSHA of the loaded script, or EVAL with its text when Redis has not said
  // its SHA1 yet or answered NOSCRIPT (`by_text`).
  void run_post(const std::shared_ptr<Pending>& pending, bool by_text = false);
  void resolve_in_doubt();
  void subscribe();
  void on_request(const std::string& payload);
  // io.serverSideEmit(...packet): PUBLISH on socket.io#/#, no ack asked.
  void server_side_emit(json::Array packet);
  void publish_presence(const std::string& room, const std::set<std::string>& users);
  void publish_all_presence();
  void ask_presence();
  void presence_tick();
  bool on_presence_packet(const std::string& from, const json::Value& packet);
  void respond(const std::string& nsp, const std::string& requester, MessageType type,
               json::Value data);
  void publish_message(const std::string& channel, const std::string& nsp,
                       MessageType type, json::Value data);

  loop::Loop& loop_;
  sio::Server& io_;
  Options options_;
  std::string uid_;
  redis::Client commands_;  // XADD, PUBLISH
  redis::Client reader_;  // XREAD BLOCK holds its connection: one of its own
  redis::Client subscriber_;  // SUBSCRIBE turns a connection into pub/sub only
  std::string last_id_ = "$";  // the last entry read; "$" until one is known
  bool reading_ = false;  // an XREAD is out
  uint64_t unpublished_ = 0;  // broadcasts lost to other nodes while cut off
  // XADDs sent whose reply has not come: when the connection drops, Redis may or
  // may not have appended them. After reconnecting, the stream says which.
  std::deque<std::vector<std::string>> in_flight_;
  std::string last_published_;  // the id Redis gave our last XADD
  bool recovering_ = false;
  loop::TimerId read_retry_ = 0;
  std::string history_id_;
  std::string post_sha_;  // SCRIPT LOAD's answer: the post script's SHA1, in hex
  uint64_t posts_ = 0;  // numbers this node's post tokens
  // Posts whose script reply was lost with the connection: asked again once
  // Redis is back; their posters are answered by then, or after kInDoubtMs.
  std::deque<std::shared_ptr<Pending>> in_doubt_;
  static constexpr int64_t kInDoubtMs = 8000;
  // A Redis that restarted answers LOADING until its data is read back: the posts
  // in doubt are asked again after this long.
  loop::TimerId loading_retry_ = 0;
  static constexpr int64_t kLoadingRetryMs = 200;

  // Recovery (off until enable_recovery).
  bool recovery_ = false;
  RedisSessionStore sessions_{*this};
  StreamReplayLog replay_{*this};
  // What was read of the stream: id → the replayable broadcast, or nullopt for
  // an entry that is not one (its id is still an offset a client may hold).
  std::map<StreamId, std::optional<sio::Replayable>> read_;
  std::string read_from_;  // the entry reading started after: an offset too

  // Presence (cluster_presence.cpp).
  struct Presence {
    std::set<std::string> users;
    int64_t seen_ms = 0;  // loop::Loop::now_ms() when the node last sent it
  };
  std::map<std::string, std::set<std::string>> own_presence_;  // room → users here
  // room → the other nodes' uids → their lists
  std::map<std::string, std::map<std::string, Presence>> remote_presence_;
  loop::TimerId presence_timer_ = 0;
  static constexpr int64_t kPresenceRefreshMs = 5000;
  static constexpr int64_t kPresenceExpiryMs = 12000;  // over two refreshes missed
  static constexpr size_t kMaxPresenceUsers = 10000;  // in one node's list for a room
  static constexpr size_t kMaxPresenceNodes = 64;  // lists kept per room
};

}  // namespace cluster
