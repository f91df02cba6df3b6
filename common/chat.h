// The chat model every lesson shares: messages {id, user, text, time} in a room
// with a bounded history.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"

namespace chat {

struct Message {
  uint64_t id;  // assigned by the room: 1, 2, 3...
  std::string user;  // 1-32 code points
  std::string text;  // 1-2000 code points
  int64_t time;  // ms since the Unix epoch, when the server stored it
};

// {"id":1,"user":"ada","text":"hi","time":1732280000000}
std::string to_json(const Message& m);
void append_json(std::string& out, const Message& m);
json::Value to_value(const Message& m);

// The answer to "what came after id N?"
struct Page {
  std::vector<const Message*> messages;
  uint64_t missed = 0;  // how many after N have already fallen out of the history
};

class Room {
 public:
  explicit Room(size_t history = 1000) : history_(history ? history : 1) {}
  const Message& post(std::string user, std::string text);
  // Messages with id > since, oldest first, and how many of them were lost.
  Page after(uint64_t since) const;
  // The newest n messages, oldest first.
  Page latest(size_t n) const;
  uint64_t last_id() const { return next_id_ - 1; }

 private:
  size_t history_;
  std::deque<Message> messages_;
  uint64_t next_id_ = 1;
};

// A post as clients send it: {"user":"...","text":"..."}.
struct Post {
  std::string user, text;
};

constexpr size_t kMaxUser = 32;
constexpr size_t kMaxText = 2000;

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
