// Connection state recovery: the session store, the replay log, and the rules
// for when a session is given back (io_recovery.h).
#include "io_recovery.h"

#include <charconv>

#include "common/log.h"
#include "io.h"

namespace sio {

// Session records
// ---------------
// {"pid":"...","sid":"...","nsp":"/","rooms":["general","<sid>"],"data":{...},
//  "offset":"9f2c1e0a7b3d5f61-7","disconnected_at":0}, or {"pid":"...","gone":true}.

std::string session_json(const Session& s) {
  json::Array rooms(s.rooms.begin(), s.rooms.end());
  return json::stringify(json::Value(json::Object{
      {"pid", s.pid},
      {"sid", s.sid},
      {"nsp", s.nsp},
      {"rooms", std::move(rooms)},
      {"data", s.data},
      {"offset", s.offset},
      {"disconnected_at", json::Value(static_cast<double>(s.disconnected_at))}}));
}

std::optional<Session> read_session(const json::Value& v) {
  const json::Value* pid = v.find("pid");
  const json::Value* sid = v.find("sid");
  const json::Value* nsp = v.find("nsp");
  const json::Value* rooms = v.find("rooms");
  const json::Value* data = v.find("data");
  const json::Value* offset = v.find("offset");
  const json::Value* at = v.find("disconnected_at");
  if (!pid || !pid->is_string() || !sid || !sid->is_string() || !nsp ||
      !nsp->is_string() || !rooms || !rooms->is_array() || !data || !offset ||
      !offset->is_string() || !at || !at->is_number())
    return std::nullopt;
  Session s;
  s.pid = pid->as_string();
  s.sid = sid->as_string();
  s.nsp = nsp->as_string();
  for (const auto& room : rooms->as_array()) {
    if (!room.is_string()) return std::nullopt;
    s.rooms.insert(room.as_string());
  }
  s.data = *data;
  s.offset = offset->as_string();
  s.disconnected_at = static_cast<int64_t>(at->as_number());
  return s;
}

// FileSessionStore
// ----------------
// Sessions are not the chat's history: they change on every join and disconnect
// and matter only for the window, so they sit in a file of their own beside the
// log, where the log's compaction (which keeps messages) never has to know them.

std::string FileSessionStore::open(const std::string& path) {
  if (path.empty() || path == "none") return "";
  std::string contents;
  if (std::string e = file_.open(path, contents); !e.empty()) return e;
  store::Scan scan = store::scan(contents);
  // Sessions only save a reconnection: damage costs recovery, never a message,
  // so it is reported and the file started afresh rather than refusing to start.
  if (!scan.error.empty()) {
    logs::warn("%s: offset %llu: bad record (%s): starting with no sessions",
               path.c_str(), (unsigned long long)scan.error_offset, scan.error.c_str());
    return file_.replace("");
  }
  if (scan.torn)
    if (std::string e = file_.truncate(scan.good); !e.empty()) return e;
  int64_t now = chat::now_ms();
  for (const auto& record : scan.records) {
    json::ParseResult r = json::parse(record.payload);
    const json::Value* pid = r.value ? r.value->find("pid") : nullptr;
    if (!pid || !pid->is_string()) continue;
    if (r.value->find("gone")) {
      sessions_.erase(pid->as_string());
    } else if (auto s = read_session(*r.value)) {
      sessions_[s->pid] = std::move(*s);
    } else {
      logs::warn("%s: offset %llu: not a session record, skipped", path.c_str(),
                 (unsigned long long)record.offset);
    }
    ++records_;
  }
  // Sessions still held when the node stopped (SIGKILL: nobody saved their
  // disconnection) count as disconnected now: their window starts at the restart.
  for (auto& [pid, s] : sessions_)
    if (!s.disconnected_at) s.disconnected_at = now;
  logs::info("sessions: %s, %zu saved", path.c_str(), sessions_.size());
  return "";
}

// write(2) at once: a process killed right after keeps it (the kernel has it);
// no fdatasync, so a machine crash may lose the latest changes, which costs only
// those clients their recovery.
void FileSessionStore::append(const std::string& record) {
  if (!file_.is_open()) return;
  if (std::string e = file_.append(store::frame(record)); !e.empty())
    logs::warn("sessions: %s", e.c_str());
  if (++records_ <= 4 * sessions_.size() + 64) return;
  std::string out;
  for (const auto& [pid, s] : sessions_)
    out += store::frame(session_json(s));
  if (std::string e = file_.replace(out); !e.empty())
    logs::warn("sessions: rewriting failed, keeping the file: %s", e.c_str());
  records_ = sessions_.size();
}

void FileSessionStore::save(const Session& session) {
  if (!file_.is_open() && !session.disconnected_at) {
    sessions_.erase(session.pid);
    connected_.insert(session.pid);
    return;
  }
  connected_.erase(session.pid);
  sessions_[session.pid] = session;
  append(session_json(session));
}

// A pid a connected socket holds (memory only) is found as just that: in use.
std::optional<Session> FileSessionStore::find(const std::string& pid) const {
  if (connected_.count(pid)) return Session{pid, "", "", {}, json::Object{}, "", 0};
  auto it = sessions_.find(pid);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

void FileSessionStore::erase(const std::string& pid) {
  if (connected_.erase(pid)) return;
  if (!sessions_.erase(pid)) return;
  append(json::stringify(json::Value(json::Object{{"pid", pid}, {"gone", true}})));
}

void FileSessionStore::expire(int64_t before) {
  std::vector<std::string> old;
  for (const auto& [pid, s] : sessions_)
    if (s.disconnected_at && s.disconnected_at < before) old.push_back(pid);
  for (const auto& pid : old)
    erase(pid);
}

// JournalReplayLog
// ----------------
// A record is a message of the journal's one room whose text is the packet:
//   {"room":"socket.io","id":9,"user":"/","text":"{\"rooms\":[\"general\"],
//    \"except\":[\"<sid>\"],\"data\":[\"msg:new\",{...}]}","time":...}
// so its id is consecutive, survives restarts and compaction like a message's,
// and the offset given to clients is "<history id>-9".

static const char* const kStream = "socket.io";

JournalReplayLog::JournalReplayLog(chat::Journal& journal)
    : journal_(journal), stream_(journal.room(kStream)) {}

void JournalReplayLog::append(Replayable p,
                              std::function<void(const std::string&)> done) {
  json::Array rooms(p.rooms.begin(), p.rooms.end());
  json::Array except(p.except.begin(), p.except.end());
  std::string text = json::stringify(json::Value(json::Object{
      {"rooms", std::move(rooms)}, {"except", std::move(except)}, {"data", p.data}}));
  // Answered at the end of the turn, once the record is on disk, like a post.
  stream_.post(chat::Post{p.nsp, std::move(text), ""},
               [this, done = std::move(done)](const chat::Posted& posted) {
                 if (!posted.error.empty()) return done("");
                 done(journal_.id() + "-" + std::to_string(posted.message.id));
               });
}

std::string JournalReplayLog::head() const {
  return journal_.id() + "-" + std::to_string(stream_.last_id());
}

// "<history id>-<id>" of this history, at most the newest durable id.
std::optional<uint64_t> JournalReplayLog::position(const std::string& offset) const {
  const std::string& id = journal_.id();
  if (offset.size() <= id.size() + 1 || offset.compare(0, id.size(), id) != 0 ||
      offset[id.size()] != '-')
    return std::nullopt;
  auto n = chat::parse_id(std::string_view(offset).substr(id.size() + 1));
  if (!n || *n > stream_.last_id()) return std::nullopt;
  return n;
}

std::optional<std::vector<Replayable>> JournalReplayLog::after(
    const std::string& offset) const {
  auto since = position(offset);
  if (!since) return std::nullopt;
  chat::Page page = stream_.after(*since);
  if (page.missed) return std::nullopt;  // some fell out of the kept history
  std::vector<Replayable> out;
  for (const chat::Message* m : page.messages) {
    json::ParseResult r = json::parse(m->text);
    const json::Value* data = r.value ? r.value->find("data") : nullptr;
    const json::Value* rooms = r.value ? r.value->find("rooms") : nullptr;
    const json::Value* except = r.value ? r.value->find("except") : nullptr;
    if (!data || !data->is_array() || !rooms || !rooms->is_array() || !except ||
        !except->is_array())
      return std::nullopt;  // written by us; anything else is not replayed
    Replayable p;
    p.offset = journal_.id() + "-" + std::to_string(m->id);
    p.nsp = m->user;
    p.data = *data;
    for (const auto& room : rooms->as_array())
      if (room.is_string()) p.rooms.insert(room.as_string());
    for (const auto& room : except->as_array())
      if (room.is_string()) p.except.insert(room.as_string());
    out.push_back(std::move(p));
  }
  return out;
}

bool JournalReplayLog::not_after(const std::string& a, const std::string& b) const {
  auto x = position(a), y = position(b);
  return x && y && *x <= *y;
}

// Recovery
// --------

Recovery::Recovery(Server& server, RecoveryOptions options, SessionStore& sessions,
                   ReplayLog& log)
    : server_(server), options_(options), sessions_(sessions), log_(log) {
  sweep();
}

// Expired sessions are forgotten every half window, so the store stays bounded
// by the sessions of the last window.
void Recovery::sweep() {
  sessions_.expire(chat::now_ms() - options_.window_ms);
  server_.loop().after(std::max<int64_t>(options_.window_ms / 2, 1000),
                       [this] { sweep(); });
}

// Socket.IO's rule: a packet reaches a socket when it was for everyone or for one
// of its rooms, and not when one of its rooms is excepted.
static bool reaches(const Replayable& p, const std::set<std::string>& rooms) {
  bool in = p.rooms.empty();
  for (const auto& room : p.rooms)
    if (rooms.count(room)) in = true;
  for (const auto& room : p.except)
    if (rooms.count(room)) return false;
  return in;
}

bool Recovery::asks(const json::Value* auth) {
  const json::Value* pid = auth ? auth->find("pid") : nullptr;
  return pid && pid->is_string();
}

void Recovery::restore(const std::string& nsp, const json::Value& auth,
                       RestoreDone done) {
  if (!asks(&auth)) return done(std::nullopt);
  const std::string id = auth.find("pid")->as_string();
  const json::Value* offset = auth.find("offset");
  // The official client sends no offset when it received no event yet: the
  // session's own start (the head when it was created) stands in for it.
  if (offset && !offset->is_string()) {
    logs::info("recovery: offset is not a string: a new session");
    return done(std::nullopt);
  }
  std::optional<std::string> sent;
  if (offset) sent = offset->as_string();
  // The store says whether the pid is free (no connected socket holds it).
  sessions_.claim(id, [this, nsp, sent, done = std::move(done)](
                          std::optional<Session> session, const char* refused) {
    if (!refused && session->nsp != nsp) refused = "pid of another namespace";
    if (!refused && session->disconnected_at &&
        chat::now_ms() - session->disconnected_at > options_.window_ms)
      refused = "session expired";
    if (refused) {
      logs::info("recovery: %s: a new session", refused);
      return done(std::nullopt);
    }
    std::string from = sent ? *sent : session->offset;
    // Before the session's own start, or not an offset of this log: not ours. A
    // session saved by another implementation may have no start: then the
    // client's offset alone must be one of the log's.
    auto missed = log_.after(from);
    if (!missed || (!session->offset.empty() && !log_.not_after(session->offset, from))) {
      logs::info("recovery: offset %s is not in the log for this session: a new session",
                 logs::printable(from, 40).c_str());
      return done(std::nullopt);
    }
    Restored out;
    out.session = std::move(*session);
    // From now on the session starts after the last packet replayed.
    out.session.offset = missed->empty() ? from : missed->back().offset;
    for (auto& p : *missed)
      if (p.nsp == nsp && reaches(p, out.session.rooms))
        out.missed.push_back(std::move(p));
    done(std::move(out));
  });
}

// The check for a pid in use is the store's: a cluster's knows other nodes' too.
void SessionStore::claim(const std::string& pid, Claimed done) {
  auto session = find(pid);
  if (!session) return done(std::nullopt, "unknown pid");
  if (!session->disconnected_at)
    return done(std::nullopt, "pid already in use (replayed?)");
  done(std::move(session), nullptr);
}

Session Recovery::snapshot(const Socket& socket) const {
  Session s;
  s.pid = socket.pid_;
  s.sid = socket.id();
  s.nsp = socket.nsp().name();
  s.rooms = socket.rooms();
  s.data = socket.data;
  s.offset = socket.session_offset_;
  return s;
}

std::string Recovery::start_session(Socket& socket) {
  sessions_.save(snapshot(socket));
  return socket.pid_;
}

void Recovery::save(const Socket& socket) {
  sessions_.save(snapshot(socket));
}

// socket.io's RECOVERABLE_DISCONNECT_REASONS: the connection was lost, not left.
void Recovery::closed(const Socket& socket, const std::string& reason) {
  static const std::set<std::string> recoverable = {
      "transport error", "transport close",      "forced close",
      "ping timeout",    "server shutting down", "forced server close"};
  if (!recoverable.count(reason)) return sessions_.erase(socket.pid_);
  Session s = snapshot(socket);
  s.disconnected_at = chat::now_ms();
  sessions_.save(s);
}

Packet Recovery::with_offset(const Replayable& p) {
  Packet packet;
  packet.type = Type::event;
  packet.nsp = p.nsp;
  json::Array data = p.data.as_array();
  data.emplace_back(p.offset);
  packet.data = json::Value(std::move(data));
  return packet;
}

void Recovery::emit(Namespace& nsp, const Packet& packet,
                    const std::set<std::string>& rooms,
                    const std::set<std::string>& except) {
  Replayable p{"", nsp.name(), *packet.data, rooms, except};
  Server* server = &server_;
  log_.append(p, [server, p](const std::string& offset) mutable {
    Namespace* target = server->find(p.nsp);
    if (!target) return;
    Packet out;
    if (offset.empty()) {
      // The disk refused it: delivered as it is, live only, never replayed.
      out.type = Type::event;
      out.nsp = p.nsp;
      out.data = p.data;
    } else {
      p.offset = offset;
      out = with_offset(p);
    }
    // To whoever the broadcast is for now, by the same fast path as a volatile
    // one: encoded and framed once, recipients picked as pointers (socket.cpp).
    target->broadcast_encoded(out, p.rooms, p.except, "");
  });
}

}  // namespace sio
