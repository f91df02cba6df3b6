#include "chat.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "flags.h"
#include "log.h"
#include "loop.h"
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
  if (!m.cid.empty()) {
    out += ",\"cid\":";
    json::append_string(out, m.cid);
  }
  out += '}';
}

std::string to_json(const Message& m) {
  std::string out;
  append_json(out, m);
  return out;
}

json::Value to_value(const Message& m) {
  json::Value v(json::Object{{"id", json::Value(m.id)},
                             {"user", json::Value(m.user)},
                             {"text", json::Value(m.text)},
                             {"time", json::Value(m.time)}});
  if (!m.cid.empty()) v.set("cid", m.cid);
  return v;
}

const Message& Room::post(std::string user, std::string text) {
  add(Message{next_id_++, std::move(user), std::move(text), now_ms(), ""});
  visible_ = next_id_ - 1;
  return messages_.back();
}

void Room::post(Post post, PostDone done) {
  if (journal_) return journal_->submit(*this, std::move(post), std::move(done));
  // A room of its own, in memory: stored and answered at once.
  if (!post.cid.empty())
    if (const Message* m = find_cid(post.cid)) {
      if (done) done(Posted{*m, false, ""});
      return;
    }
  add(Message{next_id_++, std::move(post.user), std::move(post.text), now_ms(),
              std::move(post.cid)});
  visible_ = next_id_ - 1;
  if (done) done(Posted{messages_.back(), true, ""});
}

void Room::add(Message m) {
  if (!m.cid.empty()) cids_[m.cid] = m.id;
  messages_.push_back(std::move(m));
  if (messages_.size() > history_) {
    const Message& old = messages_.front();
    if (!old.cid.empty()) cids_.erase(old.cid);
    messages_.pop_front();
  }
}

void Room::drop_newest() {
  const Message& m = messages_.back();
  if (!m.cid.empty()) cids_.erase(m.cid);
  next_id_ = m.id;
  messages_.pop_back();
}

const Message* Room::find(uint64_t id) const {
  if (messages_.empty() || id < messages_.front().id || id > messages_.back().id)
    return nullptr;
  return &messages_[static_cast<size_t>(id - messages_.front().id)];
}

const Message* Room::find_cid(std::string_view cid) const {
  auto it = cids_.find(std::string(cid));
  return it == cids_.end() ? nullptr : find(it->second);
}

Page Room::after(uint64_t since) const {
  Page page;
  if (messages_.empty() || since >= visible_) return page;
  uint64_t first = messages_.front().id;
  // Ids are consecutive, so the wanted messages start at a computed position.
  if (since + 1 < first) page.missed = first - since - 1;
  size_t start = since + 1 < first ? 0 : static_cast<size_t>(since + 1 - first);
  // Sized once: growing it one push at a time was half of this function's cost.
  if (start < messages_.size() && messages_[start].id <= visible_)
    page.messages.reserve(
        std::min(messages_.size() - start,
                 static_cast<size_t>(visible_ - messages_[start].id + 1)));
  for (size_t i = start; i < messages_.size() && messages_[i].id <= visible_; ++i)
    page.messages.push_back(&messages_[i]);
  return page;
}

Page Room::latest(size_t n) const {
  Page page;
  size_t end = messages_.size();
  while (end > 0 && messages_[end - 1].id > visible_)
    --end;
  size_t start = end > n ? end - n : 0;
  for (size_t i = start; i < end; ++i)
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

static bool valid_cid(std::string_view cid) {
  if (cid.empty() || cid.size() > kMaxCid) return false;
  for (char c : cid)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_'))
      return false;
  return true;
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
  Post post{user->as_string(), text->as_string(), ""};
  if (const json::Value* cid = body.find("cid")) {
    if (!cid->is_string() || !valid_cid(cid->as_string())) {
      error = "cid: must be 1-64 letters, digits, '-' or '_'";
      return std::nullopt;
    }
    post.cid = cid->as_string();
  }
  return post;
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

std::string record_json(const std::string& room, const Message& m) {
  std::string out;
  append_json(out, m);
  if (room.empty()) return out;
  std::string named = "{\"room\":";
  json::append_string(named, room);
  named += ',';
  named.append(out, 1);
  return named;
}

std::string header_json(const std::string& id,
                        const std::map<std::string, uint64_t>& next) {
  std::string out = "{\"history_id\":";
  json::append_string(out, id);
  out += ",\"next\":{";
  bool first = true;
  for (const auto& [room, n] : next) {
    if (!first) out += ',';
    first = false;
    json::append_string(out, room);
    out += ':' + std::to_string(n);
  }
  out += "}}";
  return out;
}

void add_store_flags(flags::Flags& f, StoreOptions& options) {
  f.add("--data", &options.data,
        "the log file that keeps the history across restarts, or none for memory only");
  f.add("--fsync", &options.fsync,
        "turn: one fdatasync per loop turn before answering; off: none (a machine "
        "crash may lose acknowledged posts)");
}

// Reads a whole number that a record wrote (no sign, no fraction, exact in a double).
static bool read_count(const json::Value* v, uint64_t& out) {
  if (!v || !v->is_number()) return false;
  double d = v->as_number();
  if (d < 0 || d > 9007199254740991.0 ||
      d != static_cast<double>(static_cast<uint64_t>(d)))
    return false;
  out = static_cast<uint64_t>(d);
  return true;
}

Room& Journal::room(const std::string& name) {
  auto [it, fresh] = rooms_.try_emplace(name, history_);
  if (fresh) {
    it->second.journal_ = this;
    it->second.name_ = name;
  }
  return it->second;
}

std::string Journal::describe() const {
  if (!file_.is_open()) return "none (memory only)";
  return file_.path() + (fsync_ ? " (fdatasync every turn)" : " (--fsync off)");
}

std::string Journal::open(const StoreOptions& options) {
  std::string error = read_back(options);
  if (error.empty()) {
    size_t count = 0;
    for (const auto& [name, r] : rooms_)
      count += r.messages_.size();
    logs::info("history %s: %s, %zu messages", id_.c_str(), describe().c_str(), count);
  }
  return error;
}

std::string Journal::read_back(const StoreOptions& options) {
  if (options.fsync != "turn" && options.fsync != "off")
    return "--fsync: must be turn or off, got \"" + options.fsync + "\"";
  fsync_ = options.fsync == "turn";
  if (options.data.empty() || options.data == "none") {
    id_ = store::random_id();
    return "";
  }
  // A file size limit (ulimit -f) then fails a write with EFBIG, as a full disk
  // fails it with ENOSPC, instead of killing the server with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  std::string contents;
  if (std::string e = file_.open(options.data, contents); !e.empty())
    return e + " (give another --data FILE, or --data none)";
  store::Scan scan = store::scan(contents);
  if (!scan.error.empty())
    return options.data + ": offset " + std::to_string(scan.error_offset) +
           ": bad record (" + scan.error + "); refusing to start rather than lose what "
           "follows it. Move the file away to start a new history.";
  if (scan.torn) {
    logs::warn("%s: the last record was torn (a crash mid-write): cut off %llu bytes at "
               "offset %llu",
               options.data.c_str(), (unsigned long long)scan.torn,
               (unsigned long long)scan.good);
    if (std::string e = file_.truncate(scan.good); !e.empty()) return e;
  }
  if (std::string e = load(contents.substr(0, scan.good)); !e.empty())
    return options.data + ": " + e;
  if (id_.empty()) {
    // A new (or empty) file: its first record is the history's identity.
    id_ = store::random_id();
    if (std::string e = file_.replace(store::frame(header_json(id_, {}))); !e.empty())
      return e;
  }
  return "";
}

// Every record back into its room. Records are exactly what record_json and
// header_json write: anything else (a hand edit, a bug) stops the start.
std::string Journal::load(std::string_view contents) {
  store::Scan scan = store::scan(contents);
  std::map<std::string, uint64_t> next;
  for (const auto& record : scan.records) {
    std::string at = "offset " + std::to_string(record.offset) + ": ";
    json::ParseResult r = json::parse(record.payload);
    if (!r.value || !r.value->is_object()) return at + "the record is not a JSON object";
    const json::Value& v = *r.value;
    if (record.offset == 0) {
      const json::Value* id = v.find("history_id");
      const json::Value* n = v.find("next");
      if (!id || !id->is_string() || id->as_string().empty() || !n || !n->is_object())
        return at + "the first record must be {\"history_id\":...,\"next\":{...}}";
      for (const auto& [room, count] : n->as_object())
        if (!read_count(&count, next[room])) return at + "next: must hold message ids";
      if (header_json(id->as_string(), next) != record.payload)
        return at + "the record is not as the server writes it";
      id_ = id->as_string();
      continue;
    }
    const json::Value* room = v.find("room");
    const json::Value* user = v.find("user");
    const json::Value* text = v.find("text");
    const json::Value* cid = v.find("cid");
    Message m{0, "", "", 0, ""};
    uint64_t time = 0;
    if (!read_count(v.find("id"), m.id) || !read_count(v.find("time"), time) || !user ||
        !user->is_string() || !text || !text->is_string() ||
        (room && !room->is_string()) || (cid && !cid->is_string()))
      return at + "not a message record";
    m.user = user->as_string();
    m.text = text->as_string();
    m.time = static_cast<int64_t>(time);
    if (cid) m.cid = cid->as_string();
    std::string name = room ? room->as_string() : "";
    if (record_json(name, m) != record.payload)
      return at + "the record is not as the server writes it";
    Room& target = this->room(name);
    // A room's ids are consecutive (a refused post gives its id back), so the
    // history can be indexed by id.
    bool first = target.messages_.empty();
    if (m.id == 0 || (first ? m.id < target.next_id_ : m.id != target.next_id_))
      return at + "id " + std::to_string(m.id) + " does not follow id " +
             std::to_string(target.next_id_ - 1);
    target.next_id_ = m.id + 1;
    target.add(std::move(m));
    ++records_;
  }
  // The header's next ids were written with the messages that follow them, so
  // a room with messages is already past its next id.
  for (const auto& [name, n] : next) {
    Room& r = this->room(name);
    if (n <= r.next_id_) continue;
    if (!r.messages_.empty())
      return "offset 0: next id " + std::to_string(n) + " for room \"" + name +
             "\" is past its last message, id " + std::to_string(r.next_id_ - 1);
    r.next_id_ = n;
  }
  for (auto& [name, r] : rooms_)
    r.visible_ = r.next_id_ - 1;
  return "";
}

void Journal::submit(Room& room, Post post, PostDone done) {
  if (!commit_queued_) {
    commit_queued_ = true;
    turn_start_ = file_.size();
    loop_.defer([this] { commit(); });
  }
  // A cid already stored: the same message again, once it is durable too.
  if (!post.cid.empty())
    if (const Message* m = room.find_cid(post.cid)) {
      pending_.push_back(Pending{&room, Posted{*m, false, ""}, std::move(done)});
      return;
    }
  Message m{room.next_id_, std::move(post.user), std::move(post.text), now_ms(),
            std::move(post.cid)};
  if (file_.is_open())
    if (std::string e = file_.append(store::frame(record_json(room.name(), m)));
        !e.empty()) {
      logs::warn("%s", e.c_str());
      pending_.push_back(
          Pending{&room, Posted{m, false, "store: " + e}, std::move(done)});
      return;
    }
  ++room.next_id_;
  ++records_;
  room.add(m);
  pending_.push_back(Pending{&room, Posted{std::move(m), true, ""}, std::move(done)});
}

// The end of the turn: one fdatasync for every record appended since the last
// one, then every poster of the turn is answered, in order.
void Journal::commit() {
  commit_queued_ = false;
  std::vector<Pending> batch;
  batch.swap(pending_);
  bool wrote = file_.is_open() && file_.size() != turn_start_;
  if (wrote && fsync_)
    if (std::string e = file_.sync(); !e.empty()) {
      // Not known to be on disk: not stored. Cut the turn's records back off
      // and take them out of the rooms, newest first.
      logs::warn("%s: the last %zu posts are refused", e.c_str(), batch.size());
      if (std::string t = file_.truncate(turn_start_); !t.empty())
        logs::warn("%s", t.c_str());
      for (auto it = batch.rbegin(); it != batch.rend(); ++it)
        if (it->posted.fresh) {
          it->room->drop_newest();
          --records_;
          it->posted.fresh = false;
          it->posted.error = "store: " + e;
        }
    }
  for (auto& [name, r] : rooms_)
    r.visible_ = r.next_id_ - 1;
  for (auto& p : batch) {
    // A repeat of a post that the disk just refused is refused too.
    const Message* m = p.room->find(p.posted.message.id);
    if (p.posted.error.empty() && !p.posted.fresh &&
        (!m || m->cid != p.posted.message.cid))
      p.posted.error = "store: the first copy of this post could not be stored";
    if (p.done) p.done(p.posted);
  }
  if (file_.is_open() && records_ > 4 * history_ * room_count() + 16) rewrite();
}

// Keeps what the rooms hold (every one of those records is durable by now),
// with the next ids in the header, so no id is ever handed out twice.
void Journal::rewrite() {
  std::map<std::string, uint64_t> next;
  size_t count = 0;
  for (const auto& [name, r] : rooms_) {
    next[name] = r.next_id_;
    count += r.messages_.size();
  }
  std::string out = store::frame(header_json(id_, next));
  for (const auto& [name, r] : rooms_)
    for (const Message& m : r.messages_)
      out += store::frame(record_json(name, m));
  uint64_t before = file_.size();
  if (std::string e = file_.replace(out); !e.empty()) {
    logs::warn("rewriting the log failed, keeping it as it is: %s", e.c_str());
    records_ = count;  // try again after as many records more
    return;
  }
  records_ = count;
  logs::info("%s rewritten: %zu recent messages kept, %llu bytes (was %llu)",
             file_.path().c_str(), count, (unsigned long long)file_.size(),
             (unsigned long long)before);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chat
