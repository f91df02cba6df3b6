#include "chat.h"

#include <chrono>

#include "utf8.h"

namespace chat {

void append_json(std::string& out, const Message& m) {
  out += "{\"id\":";
  out += std::to_string(m.id);
  out += ",\"user\":";
  json::append_string(out, m.user);
  out += ",\"text\":";
  json::append_string(out, m.text);
  out += ",\"time\":";
  out += std::to_string(m.time);
  out += '}';
}

std::string to_json(const Message& m) {
  std::string out;
  append_json(out, m);
  return out;
}

json::Value to_value(const Message& m) {
  return json::Value(json::Object{{"id", json::Value(m.id)},
                                  {"user", json::Value(m.user)},
                                  {"text", json::Value(m.text)},
                                  {"time", json::Value(m.time)}});
}

const Message& Room::post(std::string user, std::string text) {
  messages_.push_back(Message{next_id_++, std::move(user), std::move(text), now_ms()});
  if (messages_.size() > history_) messages_.pop_front();
  return messages_.back();
}

Page Room::after(uint64_t since) const {
  Page page;
  if (messages_.empty() || since >= messages_.back().id) return page;
  uint64_t first = messages_.front().id;
  // Ids are consecutive, so the wanted messages start at a computed position.
  if (since + 1 < first) page.missed = first - since - 1;
  size_t start = since + 1 < first ? 0 : static_cast<size_t>(since + 1 - first);
  for (size_t i = start; i < messages_.size(); ++i)
    page.messages.push_back(&messages_[i]);
  return page;
}

Page Room::latest(size_t n) const {
  Page page;
  size_t start = messages_.size() > n ? messages_.size() - n : 0;
  for (size_t i = start; i < messages_.size(); ++i)
    page.messages.push_back(&messages_[i]);
  return page;
}

static std::optional<std::string> check_field(const char* name, std::string_view value,
                                              size_t max) {
  std::string field = name;
  auto count = utf8::count_code_points(value);
  if (!count) return field + ": not valid UTF-8";
  if (*count < 1 || *count > max)
    return field + ": must be 1-" + std::to_string(max) + " characters, got " +
           std::to_string(*count);
  if (utf8::has_control(value)) return field + ": control characters are not allowed";
  return std::nullopt;
}

std::optional<uint64_t> parse_id(std::string_view digits) {
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::optional<std::string> validate(std::string_view user, std::string_view text) {
  if (auto e = check_field("user", user, kMaxUser)) return e;
  return check_field("text", text, kMaxText);
}

std::optional<Post> read_post(const json::Value& body, std::string& error) {
  if (!body.is_object()) {
    error = "body: must be a JSON object {\"user\":...,\"text\":...}";
    return std::nullopt;
  }
  const json::Value* user = body.find("user");
  const json::Value* text = body.find("text");
  if (!user || !user->is_string()) {
    error = "user: must be a string";
    return std::nullopt;
  }
  if (!text || !text->is_string()) {
    error = "text: must be a string";
    return std::nullopt;
  }
  if (auto e = validate(user->as_string(), text->as_string())) {
    error = *e;
    return std::nullopt;
  }
  return Post{user->as_string(), text->as_string()};
}

std::optional<Post> parse_post(std::string_view body, std::string& error) {
  json::ParseResult r = json::parse(body);
  if (!r.value) {
    error = "body: malformed JSON: " + r.error;
    return std::nullopt;
  }
  return read_post(*r.value, error);
}

std::string error_json(std::string_view error) {
  std::string out = "{\"error\":";
  json::append_string(out, error);
  out += '}';
  return out;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chat
