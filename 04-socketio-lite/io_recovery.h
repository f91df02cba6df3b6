// Connection state recovery (socket.io 4.6 and later, "Connection state
// recovery"): a client whose connection dropped comes back within the window
// with its private session id and the offset of the last event it saw, and gets
// its socket id, rooms and data back, and every event it missed, before its
// CONNECT reply.
//
//   server → 40{"sid":"<public>","pid":"<private>","offset":"<start>"}
//   server → 42["msg:new",{...},"9f2c1e0a7b3d5f61-8"]    the offset is the LAST argument
//   (the transport drops; others post)
//   client → 40{"pid":"<private>","offset":"9f2c1e0a7b3d5f61-8","user":"ada"}
//   server → 42["msg:new",{...},"9f2c1e0a7b3d5f61-9"]    missed, in order
//            40{"sid":"<the same>","pid":"<the same>","offset":"..."}
//
// Two stores behind two small interfaces, so that a cluster can keep both in Redis:
// - ReplayLog: the replayable packets in order, each with its offset. On one node
//   that is a chat::Journal of its own beside the chat's log (JournalReplayLog),
//   durable the same way, so a restart of the node within the window still recovers.
// - SessionStore: {sid, pid, rooms, data, offset, disconnected_at} by pid, saved when
//   the session is created, whenever its rooms change and when it disconnects (not
//   only on a clean close, as socket.io does), so a node that dies hard loses none.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/chat.h"
#include "common/json.h"
#include "common/store.h"
#include "socketio.h"

namespace sio {

class Namespace;
class Server;
class Socket;

// One saved session. disconnected_at is 0 while a socket holds it.
struct Session {
  std::string pid, sid, nsp;
  std::set<std::string> rooms;
  json::Value data = json::Object{};
  std::string offset;  // the log's head when it was created: where a replay may start
  int64_t disconnected_at = 0;  // ms since the epoch
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual void save(const Session& session) = 0;
  virtual std::optional<Session> find(const std::string& pid) const = 0;
  virtual void erase(const std::string& pid) = 0;
  // Forgets every session disconnected before `before` (ms since the epoch).
  virtual void expire(int64_t before) = 0;
  // A reconnection asks for its session: `done` gets it, claimed for this node,
  // or nullopt and why not. The store says whether a connected socket holds the
  // pid (saved with disconnected_at 0), here or, in a cluster, on a live node, so
  // a pid is never given to two sockets. One node answers at once; Redis later.
  using Claimed = std::function<void(std::optional<Session>, const char* refused)>;
  virtual void claim(const std::string& pid, Claimed done);
};

// A replayable packet as it was broadcast: to `rooms` (none: everyone), less `except`.
struct Replayable {
  std::string offset;
  std::string nsp;
  json::Value data;  // [event, ...args], without the offset
  std::set<std::string> rooms, except;
};

class ReplayLog {
 public:
  virtual ~ReplayLog() = default;
  // Stores the packet; `done` gets its offset once it is durable ("" if the store
  // refused it: it is then delivered live only, never replayed).
  virtual void append(Replayable packet,
                      std::function<void(const std::string&)> done) = 0;
  // The offset of the newest durable packet: a session starts there.
  virtual std::string head() const = 0;
  // Every packet after `offset`, oldest first; nullopt when the offset is not one
  // of ours (another history, past the head, malformed) or has fallen out.
  virtual std::optional<std::vector<Replayable>> after(
      const std::string& offset) const = 0;
  // a <= b as positions in the log (both already accepted by after()).
  virtual bool not_after(const std::string& a, const std::string& b) const = 0;
};

// One node: sessions in memory and, with --data FILE, in FILE.sessions beside the
// chat's log (framed as store.h frames it, one JSON record per change, rewritten
// when it holds four times the live sessions). Memory only, a connected session
// is only its pid (its rooms and data are in its socket, saved when it drops).
class FileSessionStore : public SessionStore {
 public:
  // "" or "none": memory only. An error names the file.
  std::string open(const std::string& path);
  void save(const Session& session) override;
  std::optional<Session> find(const std::string& pid) const override;
  void erase(const std::string& pid) override;
  void expire(int64_t before) override;
  size_t size() const { return sessions_.size() + connected_.size(); }

 private:
  void append(const std::string& record);
  std::map<std::string, Session> sessions_;
  // Memory only: the pids that connected sockets hold. A full Session per socket
  // would cost ~600 bytes more each for nothing: with no file to rewrite, nobody
  // reads it before the socket drops and Recovery::closed saves it in full.
  std::unordered_set<std::string> connected_;
  store::File file_;
  uint64_t records_ = 0;
};

// One node: the packets are the records of a chat::Journal (common/chat.h) in
// FILE.replay, a room named "socket.io" in it, so they are group-committed,
// compacted and read back at start-up as the chat's messages are, and a packet
// is sent only once it is on disk. An offset is "<history id>-<record id>": a log
// that was started afresh has another id, so its offsets are not taken for ours.
class JournalReplayLog : public ReplayLog {
 public:
  explicit JournalReplayLog(chat::Journal& journal);
  void append(Replayable packet, std::function<void(const std::string&)> done) override;
  std::string head() const override;
  std::optional<std::vector<Replayable>> after(const std::string& offset) const override;
  bool not_after(const std::string& a, const std::string& b) const override;

 private:
  std::optional<uint64_t> position(const std::string& offset) const;
  chat::Journal& journal_;
  chat::Room& stream_;
};

// JSON of a session record, and back (nullopt: not one).
std::string session_json(const Session& session);
std::optional<Session> read_session(const json::Value& record);

struct RecoveryOptions {
  int64_t window_ms = 120'000;  // maxDisconnectionDuration; 0: recovery off
};

// What the server side of recovery does; sio::Server holds one when it is on.
class Recovery {
 public:
  Recovery(Server& server, RecoveryOptions options, SessionStore& sessions,
           ReplayLog& log);
  // The session a CONNECT asks for, with the packets it missed; nullopt: a new one.
  struct Restored {
    Session session;
    std::vector<Replayable> missed;
  };
  // Answered at once by a store of this node, later by Redis; done may then find
  // the client gone (it checks).
  using RestoreDone = std::function<void(std::optional<Restored>)>;
  void restore(const std::string& nsp, const json::Value& auth, RestoreDone done);
  // Does this CONNECT ask for a session at all ({"pid": string})?
  static bool asks(const json::Value* auth);
  std::string start_session(Socket& socket);  // a new pid, saved
  void save(const Socket& socket);  // rooms changed
  void closed(const Socket& socket, const std::string& reason);
  // THE place where an offset is added: the packet is stored, then, once durable,
  // delivered to its recipients with the offset as its last argument.
  void emit(Namespace& nsp, const Packet& packet, const std::set<std::string>& rooms,
            const std::set<std::string>& except);
  // [event, ...args, offset]
  static Packet with_offset(const Replayable& packet);
  const std::string head() const { return log_.head(); }
  const RecoveryOptions& options() const { return options_; }

 private:
  Session snapshot(const Socket& socket) const;
  void sweep();

  Server& server_;
  RecoveryOptions options_;
  SessionStore& sessions_;
  ReplayLog& log_;
};

}  // namespace sio
