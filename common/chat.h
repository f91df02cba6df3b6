// The chat model every lesson shares: messages {id, user, text, time} in a room
// with a bounded history, and the Journal that keeps the rooms in a log file
// (common/store.h) so a restart loses nothing that was acknowledged.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "json.h"
#include "store.h"

namespace flags {
class Flags;
}
namespace loop {
class Loop;
}

namespace chat {

struct Message {
  uint64_t id;  // assigned by the room: 1, 2, 3...
  std::string user;  // 1-32 code points
  std::string text;  // 1-2000 code points
  int64_t time;  // ms since the Unix epoch, when the server stored it
  std::string cid = {};  // the client's own id for the post, or empty
};

// {"id":1,"user":"ada","text":"hi","time":1732280000000}, then ,"cid":"..." if set
std::string to_json(const Message& m);
void append_json(std::string& out, const Message& m);
json::Value to_value(const Message& m);

// The answer to "what came after id N?"
struct Page {
  std::vector<const Message*> messages;
  uint64_t missed = 0;  // how many after N have already fallen out of the history
};

// A post as clients send it: {"user":"...","text":"...","cid":"..."}; cid is
// optional: the client's own id for it, so a retried post is stored once.
struct Post {
  std::string user, text, cid;
};

// What a post came to, handed to the poster once it is durable: the stored
// message (fresh = false: a repeat of a cid already stored, not to broadcast
// again), or an error (the log could not be written; nothing was stored).
struct Posted {
  Message message;
  bool fresh = false;
  std::string error;
};
using PostDone = std::function<void(const Posted&)>;

class Journal;

class Room {
 public:
  explicit Room(size_t history = 1000) : history_(history ? history : 1) {}
  // Memory only, for rooms without a journal: stored and visible at once.
  const Message& post(std::string user, std::string text);
  // Through the room's journal: done runs at the end of this turn of the loop,
  // after the record is written (and fsynced), before anyone else sees it.
  void post(Post post, PostDone done);
  // Messages with id > since, oldest first, and how many of them were lost.
  Page after(uint64_t since) const;
  // The newest n messages, oldest first.
  Page latest(size_t n) const;
  // The newest message anyone may see: posts waiting for the disk are not yet.
  uint64_t last_id() const { return visible_; }
  const std::string& name() const { return name_; }
  // The stored message a client id was given to, while it is in the history.
  const Message* find_cid(std::string_view cid) const;

 private:
  friend class Journal;
  const Message* find(uint64_t id) const;
  void add(Message m);
  void drop_newest();  // undoes add() when the disk refused the record

  size_t history_;
  std::deque<Message> messages_;
  std::unordered_map<std::string, uint64_t> cids_;  // only the history's messages
  uint64_t next_id_ = 1;
  uint64_t visible_ = 0;
  Journal* journal_ = nullptr;
  std::string name_;
};

// --data and --fsync, which every lesson takes.
struct StoreOptions {
  std::string data;  // a log file, "none" for memory only
  std::string fsync = "turn";
};
void add_store_flags(flags::Flags& f, StoreOptions& options);

// Every room of a server and the log file that keeps them. A post is appended
// at once; at the end of the loop's turn one fdatasync covers every record of
// that turn (group commit), and only then are the posters answered and the
// messages shown to anyone. The log is rewritten with just the recent messages
// once it holds four times what the rooms keep.
class Journal {
 public:
  Journal(loop::Loop& loop, size_t history) : loop_(loop), history_(history) {}
  // Reads the log back (or creates it); an error names the file and offset.
  std::string open(const StoreOptions& options);
  Room& room(const std::string& name);  // created on first use
  // The history's identity: random, made with the log. A client that finds
  // another one knows the server's history was reset.
  const std::string& id() const { return id_; }
  // Where the log is, or "none".
  std::string describe() const;
  uint64_t file_size() const { return file_.is_open() ? file_.size() : 0; }
  void submit(Room& room, Post post, PostDone done);

 private:
  struct Pending {
    Room* room;
    Posted posted;
    PostDone done;
  };
  std::string read_back(const StoreOptions& options);
  std::string load(std::string_view contents);
  void commit();
  void rewrite();
  size_t room_count() const { return rooms_.size() ? rooms_.size() : 1; }

  loop::Loop& loop_;
  size_t history_;
  std::map<std::string, Room> rooms_;
  store::File file_;
  bool fsync_ = true;
  std::string id_;
  std::vector<Pending> pending_;
  bool commit_queued_ = false;
  uint64_t turn_start_ = 0;  // the file's size before this turn's records
  uint64_t records_ = 0;  // message records in the file
};

// A log record's payload: the message, and its room when it has a name.
// {"room":"general","id":8,"user":"ada","text":"hi","time":...,"cid":"..."}
std::string record_json(const std::string& room, const Message& m);
// The first record: {"history_id":"9f2c1e0a7b3d5f61","next":{"general":12}}
std::string header_json(const std::string& id,
                        const std::map<std::string, uint64_t>& next);

constexpr size_t kMaxUser = 32;
constexpr size_t kMaxText = 2000;
constexpr size_t kMaxCid = 64;

// The reason a field is refused ("user: must be 1-32 characters"), or nullopt.
std::optional<std::string> validate(std::string_view user, std::string_view text);
// Reads and validates a post from a JSON object; on failure, error says why.
std::optional<Post> read_post(const json::Value& body, std::string& error);
std::optional<Post> parse_post(std::string_view body, std::string& error);
// {"error":"..."}
std::string error_json(std::string_view error);

// A message id as clients send it (?since=12): 1 to 19 ASCII digits, so it fits
// in 64 bits. nullopt for anything else: a sign, a space, a fraction, hex.
std::optional<uint64_t> parse_id(std::string_view digits);

int64_t now_ms();  // wall clock, ms since the epoch

}  // namespace chat
