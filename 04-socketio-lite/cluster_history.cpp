// With --redis, the rooms' history lives in Redis: one history per room for the
// whole cluster, the same ids on every node (see the README's "One history").
//
// A room's history is a stream of its own, chat:history:<room>, whose entry ids
// are 0-1, 0-2, 0-3...: "XADD key 0-* ..." (Redis 7) keeps the ms part at 0 and
// lets Redis pick the next sequence number, so Redis numbers the messages, one
// counter per room, whichever node posts. The message id is that sequence number.
//
// A post is one Lua script, so Redis runs it whole or not at all:
//   1. a post already stored (a retried cid) gets the stored message back;
//   2. XADD chat:history:<room> MAXLEN <history> 0-* user .. text .. time .. cid ..
//   3. XADD socket.io ... data {"packet":{"type":2,"data":["msg:new",{"id":<n>,...
//      the broadcast other nodes deliver, with the id Redis just gave.
// The history and the broadcast cannot part: no acknowledged post is missing
// from the stream, and the stream's broadcasts come in the order of the ids.
//
// The script is sent once per connection (SCRIPT LOAD, whose answer is its SHA1)
// and each post names it by that SHA1 (EVALSHA): ~40 bytes instead of its ~950 bytes
// of text, which Redis would otherwise read and hash again for every post. A
// Redis that has forgotten it (SCRIPT FLUSH; a restart closes the connection,
// and the node loads it again on reconnecting) answers NOSCRIPT without running
// anything, so the post is sent again as EVAL with the text: never lost, never
// stored twice.
#include <algorithm>
#include <charconv>

#include "cluster.h"
#include "common/log.h"
#include "common/store.h"

namespace cluster {

// KEYS: the history stream, the cid's key, the broadcast stream. ARGV: user,
// text, time, cid, history length, node uid, namespace, stream length, the
// broadcast's data before and after the id, the post's token, and the mode:
// "post"; "again" (asked again after a lost reply: look for the token first);
// "check" (only look: its poster was told it may be stored, so never store it).
// A cid is looked up by its key (kept an hour, so a page's retry finds it); a
// post without one by its token, only when asked again, in the "tok" fields.
static const char kPostScript[] = R"lua(
if ARGV[4] ~= '' then
  local seen = redis.call('GET', KEYS[2])
  if seen then
    local e = redis.call('XRANGE', KEYS[1], seen, seen)
    if #e == 1 then return {0, e[1]} end
  end
elseif ARGV[12] ~= 'post' then
  for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[5])) do
    local f = e[2]
    for i = 1, #f - 1, 2 do
      if f[i] == 'tok' and f[i + 1] == ARGV[11] then return {0, e} end
    end
  end
end
if ARGV[12] == 'check' then return {2} end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[5], '0-*', 'user', ARGV[1],
  'text', ARGV[2], 'time', ARGV[3], 'cid', ARGV[4], 'tok', ARGV[11])
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], id, 'EX', 3600) end
local b = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'uid', ARGV[6],
  'nsp', ARGV[7], 'type', '3', 'data', ARGV[9] .. string.sub(id, 3) .. ARGV[10])
return {1, {id, {'user', ARGV[1], 'text', ARGV[2], 'time', ARGV[3], 'cid', ARGV[4]}}, b}
)lua";

static std::string history_key(const std::string& room) {
  return "chat:history:" + room;
}

// An entry [id, [field, value...]] as a message; false if it is not one of ours.
static bool read_message(const redis::Reply& entry, chat::Message& m) {
  if (entry.elements.size() != 2 || entry.elements[0].str.rfind("0-", 0) != 0)
    return false;
  const std::string& id = entry.elements[0].str;
  auto r = std::from_chars(id.data() + 2, id.data() + id.size(), m.id);
  if (r.ec != std::errc() || r.ptr != id.data() + id.size()) return false;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i].str;
    const std::string& value = fields[i + 1].str;
    if (name == "user")
      m.user = value;
    else if (name == "text")
      m.text = value;
    else if (name == "cid")
      m.cid = value;
    else if (name == "time")
      std::from_chars(value.data(), value.data() + value.size(), m.time);
  }
  return true;
}

static std::string field(const redis::Reply& entry, const std::string& name) {
  if (entry.elements.size() != 2) return "";
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2)
    if (fields[i].str == name) return fields[i + 1].str;
  return "";
}

// On every (re)connection, before any post: Redis keeps the script and answers
// its SHA1. Commands on one connection run in order, so every EVALSHA sent after
// this finds it (unless Redis's script cache is flushed meanwhile: NOSCRIPT).
void Adapter::load_post_script() {
  commands_.command({"SCRIPT", "LOAD", kPostScript}, [this](const redis::Reply& r) {
    if (r.type == redis::Type::bulk) {
      post_sha_ = r.str;
      return;
    }
    if (commands_.connected())  // refused: posts carry the script's text instead
      logs::warn("cluster: SCRIPT LOAD refused (%s); posts are sent with EVAL",
                 redis::describe(r).c_str());
  });
}

// On every (re)connection: the cluster's history id, made by the first node
// that asks (SET NX) and kept in Redis with the histories it names.
void Adapter::load_history_id() {
  commands_.command({"SET", "chat:history_id", store::random_id(), "NX"});
  commands_.command({"GET", "chat:history_id"}, [this](const redis::Reply& r) {
    if (r.type != redis::Type::bulk || r.str == history_id_) return;
    history_id_ = r.str;
    logs::info("cluster: the rooms' history is in redis (chat:history:<room>), id %s",
               history_id_.c_str());
  });
}

void Adapter::post(const std::string& room, chat::Post post, const std::string& except,
                   PostDone done) {
  if (!io_.cluster_connected || history_id_.empty()) {
    chat::Posted p;
    p.error = "cluster: cut off from redis, not sent; try again";
    return done(p);
  }
  // The broadcast with a stand-in id 0, cut in two where the real one goes: the
  // packet comes first in the data, so its first {"id":0, is the message's.
  chat::Message m{0, post.user, post.text, chat::now_ms(), post.cid};
  sio::Packet packet;
  packet.type = sio::Type::event;
  packet.nsp = "/";
  packet.data = json::Value(json::Array{json::Value("msg:new"), chat::to_value(m)});
  std::set<std::string> excepted;
  if (!except.empty()) excepted.insert(except);
  std::string data = broadcast_entry(uid_, packet, {room}, excepted).data;
  size_t at = data.find("{\"id\":0,");
  if (at == std::string::npos) {  // cannot happen: to_value writes id first
    chat::Posted p;
    p.error = "cluster: internal error building the broadcast";
    return done(p);
  }
  at += 6;  // after {"id":
  // The token a post asked again is known by: this node's uid and a number.
  std::string token = uid_ + "." + std::to_string(++posts_);
  auto pending = std::make_shared<Pending>();
  pending->token = token;
  pending->room = room;
  pending->except = std::move(excepted);
  pending->done = std::move(done);
  pending->args = {"3",
                   history_key(room),
                   "chat:cid:" + room + ":" + post.cid,
                   options_.stream_name,
                   m.user,
                   m.text,
                   std::to_string(m.time),
                   m.cid,
                   std::to_string(options_.history),
                   uid_,
                   "/",
                   std::to_string(options_.max_len),
                   data.substr(0, at),
                   data.substr(at + 1),
                   token,
                   "post"};
  run_post(pending);
}

// The script's answer: [1, entry, broadcast id] stored now, [0, entry] stored before (a
// retry), [2] not stored (only a check). A reply lost with the connection leaves the post
// in doubt: Redis may have run the script. It is asked again (the token makes
// that safe) once Redis is back, and the poster waits for that, for a while.
void Adapter::run_post(const std::shared_ptr<Pending>& pending, bool by_text) {
  std::vector<std::string> command;
  command.reserve(pending->args.size() + 2);
  if (by_text || post_sha_.empty()) {
    command.push_back("EVAL");
    command.push_back(kPostScript);
  } else {
    command.push_back("EVALSHA");
    command.push_back(post_sha_);
  }
  command.insert(command.end(), pending->args.begin(), pending->args.end());
  commands_.command(std::move(command), [this, pending](const redis::Reply& r) {
    chat::Posted p;
    // Redis has no script by that SHA1, so it ran nothing: the same post again,
    // with the script's text (which Redis then keeps, so EVALSHA works again).
    // Posts already on the wire get NOSCRIPT too and are sent again after this
    // one, in their order; a post made meanwhile may be stored between them.
    if (r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0) {
      logs::warn("cluster: redis lost the post script (NOSCRIPT); sent with EVAL");
      return run_post(pending, true);
    }
    if (r.is_error() && r.str == "ERR connection lost") {
      in_doubt_.push_back(pending);
      if (!pending->timer)
        pending->timer = loop_.after(kInDoubtMs, [pending] {
          pending->timer = 0;
          // From now on only looked up: stored late, it would surprise its poster.
          pending->args.back() = "check";
          chat::Posted late;
          late.error =
              "cluster: cut off from redis before it confirmed the post; it is stored"
              " only if redis ran it: post again with the same cid to find out";
          if (auto done = std::move(pending->done)) done(late);
        });
      return;
    }
    // Redis restarted and is still reading its data back (append-only file): it
    // ran nothing. A post in doubt stays in doubt and is asked again shortly (its
    // poster's kInDoubtMs still bounds the wait); a new post is refused as one
    // made while cut off.
    if (r.is_error() && r.str.rfind("LOADING", 0) == 0 && pending->args.back() != "post") {
      logs::warn("cluster: redis is loading its data (LOADING); a post in doubt is"
                 " asked again in %lld ms", (long long)kLoadingRetryMs);
      in_doubt_.push_back(pending);
      if (!loading_retry_)
        loading_retry_ = loop_.after(kLoadingRetryMs, [this] {
          loading_retry_ = 0;
          if (commands_.connected()) resolve_in_doubt();
        });
      return;
    }
    if (pending->timer) loop_.cancel(pending->timer);
    pending->timer = 0;
    if (r.is_error()) {
      logs::warn("cluster: post refused by redis: %s", r.str.c_str());
      p.error = r.str == "ERR not connected" || r.str.rfind("LOADING", 0) == 0
                    ? "cluster: cut off from redis, not sent; try again"
                    : "cluster: redis refused the post: " + r.str;
      if (pending->done) pending->done(p);
      return;
    }
    int64_t state = r.elements.empty() ? -1 : r.elements[0].integer;
    if (state == 2) return;  // checked after the poster was answered: not stored
    if (r.type != redis::Type::array || r.elements.size() < 2 ||
        !read_message(r.elements[1], p.message)) {
      p.error = "cluster: redis answered the post with " + redis::describe(r);
      if (pending->done) pending->done(p);
      return;
    }
    // Our sockets have not seen it if it is new, or if it was stored by this very
    // post's earlier run, whose reply was lost (this node skips its own entries
    // in the stream). A cid stored by another post was delivered then.
    p.fresh = state == 1;
    if (p.fresh || field(r.elements[1], "tok") == pending->token) {
      sio::Packet packet;
      packet.type = sio::Type::event;
      packet.nsp = "/";
      packet.data =
          json::Value(json::Array{json::Value("msg:new"), chat::to_value(p.message)});
      // Recovery: the broadcast's entry id is its offset here as on the others.
      // A post whose reply was lost goes out without one (its id is unknown).
      if (p.fresh && r.elements.size() == 3 && r.elements[2].type == redis::Type::bulk)
        add_offset(packet, json::Value(), r.elements[2].str);
      if (sio::Namespace* nsp = io_.find("/"))
        nsp->deliver(packet, {pending->room}, pending->except);
    }
    if (pending->done) pending->done(p);
  });
}

// Connected again: every post in doubt is asked again, in its order.
void Adapter::resolve_in_doubt() {
  auto posts = std::move(in_doubt_);
  in_doubt_.clear();
  if (!posts.empty())
    logs::info("cluster: asking redis again about %zu post(s) in doubt", posts.size());
  for (auto& pending : posts) {
    if (pending->args.back() == "post") pending->args.back() = "again";
    run_post(pending);
  }
}

// The answer to msg:get from the room's stream: after `since` (XRANGE from the
// next id), or the latest `latest` (XREVRANGE, newest first, turned around).
void Adapter::page(const std::string& room, std::optional<uint64_t> since, size_t latest,
                   PageDone done) {
  std::vector<std::string> command =
      since ? std::vector<std::string>{"XRANGE", history_key(room),
                                       "(0-" + std::to_string(*since), "+"}
            : std::vector<std::string>{"XREVRANGE", history_key(room),     "+", "-",
                                       "COUNT",     std::to_string(latest)};
  commands_.command(std::move(command), [since, done](const redis::Reply& r) {
    if (r.is_error())
      return done(r.str == "ERR not connected" || r.str == "ERR connection lost"
                      ? "cluster: cut off from redis; try again"
                      : "cluster: redis refused: " + r.str,
                  json::Value());
    json::Array messages;
    for (const auto& entry : r.elements) {
      chat::Message m;
      if (read_message(entry, m)) messages.push_back(chat::to_value(m));
    }
    if (!since) std::reverse(messages.begin(), messages.end());
    // The stream keeps the last --history messages: what came after since and
    // before the first one left is missed.
    uint64_t missed = 0;
    if (since && !messages.empty()) {
      auto first = static_cast<uint64_t>(messages[0].find("id")->as_number());
      if (first > *since + 1) missed = first - *since - 1;
    }
    done("", json::Value(json::Object{{"messages", std::move(messages)},
                                      {"missed", json::Value(missed)}}));
  });
}

}  // namespace cluster
