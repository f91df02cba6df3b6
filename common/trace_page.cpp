#include "trace_page.h"

#include <cctype>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "http_server.h"
#include "json.h"
#include "log.h"
#include "utf8.h"

namespace trace_page {

namespace {

constexpr size_t kMaxPages = 32;  // past it, the page unheard from longest goes
constexpr size_t kMaxLines = 400;  // per page; older lines are dropped and counted
constexpr size_t kMaxLineBytes = 400;
constexpr size_t kMaxSubjects = 1024;  // connections, and sessions, remembered
constexpr size_t kMaxMuted = 256;
constexpr size_t kMaxAnswer = 200;  // lines per GET /trace

struct Line {
  uint64_t seq;
  uint64_t conn;  // 0 for a session's line
  uint32_t stream;  // HTTP/2 stream, 0 for none
  std::string text;
};

struct Page {
  std::deque<Line> lines;
  uint64_t next_seq = 1;
  uint64_t dropped = 0;
  uint64_t used = 0;  // when it last got a line or a fetch, for eviction
};

struct Conn {
  std::string token;
  uint32_t stream = 0;  // the stream of its last HTTP/2 frame line
};

// A map that forgets its oldest keys past kMaxSubjects: a connection that closed
// long ago is not worth a hook in every lesson's close path.
template <typename Key, typename Value>
struct Bounded {
  std::unordered_map<Key, Value> map;
  std::deque<Key> order;
  Value& operator[](const Key& key) {
    auto [it, fresh] = map.try_emplace(key);
    if (fresh) {
      order.push_back(key);
      if (order.size() > kMaxSubjects) {
        map.erase(order.front());
        order.pop_front();
      }
    }
    return map.find(key)->second;
  }
  Value* find(const Key& key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
};

bool on = false;
uint64_t tick = 0;
std::unordered_map<std::string, Page> pages;
Bounded<uint64_t, Conn> conns;
Bounded<std::string, std::string> sessions;  // sid → token
std::set<std::pair<uint64_t, uint32_t>> muted;
std::deque<std::pair<uint64_t, uint32_t>> muted_order;

// 16 to 64 of [A-Za-z0-9_-]: what the page makes, and nothing to escape.
bool valid_token(std::string_view t) {
  if (t.size() < 16 || t.size() > 64) return false;
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return false;
  return true;
}

Page& page_for(const std::string& token) {
  auto it = pages.find(token);
  if (it == pages.end()) {
    if (pages.size() >= kMaxPages) {
      auto oldest = pages.begin();
      for (auto p = pages.begin(); p != pages.end(); ++p)
        if (p->second.used < oldest->second.used) oldest = p;
      pages.erase(oldest);
    }
    it = pages.emplace(token, Page{}).first;
  }
  it->second.used = ++tick;
  return it->second;
}

// Digits at the start of s, or 0.
uint64_t leading_number(std::string_view s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s.size() && i < 19 && s[i] >= '0' && s[i] <= '9'; ++i)
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
  return n;
}

// Kept as printed, but cut to kMaxLineBytes (on a character boundary) and, if it
// is not UTF-8 (a peer's header bytes), escaped so that the JSON stays valid.
std::string shown(std::string_view line) {
  std::string out;
  if (line.size() > kMaxLineBytes) {
    size_t cut = kMaxLineBytes;
    while (cut > 0 && (static_cast<uint8_t>(line[cut]) & 0xC0) == 0x80)
      --cut;
    out = std::string(line.substr(0, cut)) + "…";
  } else {
    out = std::string(line);
  }
  if (!utf8::is_valid(out)) out = logs::printable(out, kMaxLineBytes);
  return out;
}

// Every trace line passes here (logs::trace's sink) once trace_page is enabled.
void record(std::string_view line) {
  const std::string* token = nullptr;
  uint64_t id = 0;
  uint32_t stream = 0;
  if (line.size() > 1 && line[0] == '#') {
    id = leading_number(line.substr(1));
    Conn* c = conns.find(id);
    if (!c || c->token.empty()) return;
    token = &c->token;
    // "#1 ← HEADERS stream=3 ..." starts a frame; "#1 ←   :path: /" continues
    // it (three spaces after the arrow), so it is about the same stream.
    const size_t arrow_end = line.find(' ', line.find(' ') + 1);
    const bool continues =
        arrow_end != std::string_view::npos && line.substr(arrow_end, 3) == "   ";
    if (size_t s = line.find(" stream="); s != std::string_view::npos && !continues)
      c->stream = static_cast<uint32_t>(leading_number(line.substr(s + 8)));
    else if (!continues)
      c->stream = 0;
    stream = c->stream;
    if (stream && muted.count({id, stream})) return;
  } else if (line.substr(0, 4) == "eio " || line.substr(0, 4) == "sio ") {
    std::string_view rest = line.substr(4);
    std::string sid(rest.substr(0, rest.find(' ')));
    std::string* t = sessions.find(sid);
    if (!t) return;
    token = t;
  } else {
    return;
  }
  Page& page = page_for(*token);
  page.lines.push_back(Line{page.next_seq++, id, stream, shown(line)});
  if (page.lines.size() > kMaxLines) {
    page.lines.pop_front();
    ++page.dropped;
  }
}

}  // namespace

void enable() {
  on = true;
  logs::set_trace_sink(record);
}

bool enabled() {
  return on;
}

void bind(uint64_t id, std::optional<std::string_view> token) {
  if (!on) return;
  if (token && valid_token(*token)) {
    Conn& c = conns[id];
    c.token = std::string(*token);
    page_for(c.token);
  } else if (Conn* c = conns.find(id)) {
    c->token.clear();
  }
}

void bind_target(uint64_t id, std::string_view target) {
  if (!on) return;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return;
  http::Request probe;
  probe.query = std::string(target.substr(q + 1));
  if (auto token = probe.param("tracepage"); token && valid_token(*token))
    bind(id, token);
}

void alias(std::string_view sid, uint64_t id) {
  if (!on) return;
  if (Conn* c = conns.find(id); c && !c->token.empty())
    sessions[std::string(sid)] = c->token;
}

void mute(uint64_t id, uint32_t stream) {
  if (!on || !muted.insert({id, stream}).second) return;
  muted_order.push_back({id, stream});
  if (muted_order.size() > kMaxMuted) {
    muted.erase(muted_order.front());
    muted_order.pop_front();
  }
  // Its HEADERS were kept before the request was known to be a GET /trace.
  if (Conn* c = conns.find(id); c && !c->token.empty())
    if (auto it = pages.find(c->token); it != pages.end())
      std::erase_if(it->second.lines,
                    [&](const Line& l) { return l.conn == id && l.stream == stream; });
}

http::Response answer(const http::Request& req) {
  auto token = req.param("page");
  if (!token || !valid_token(*token))
    return http::json_response(
        400, "{\"error\":\"page: must be the page's token, 16-64 of [A-Za-z0-9_-]\"}");
  uint64_t after = leading_number(req.param("after").value_or(""));
  std::string body = "{\"lines\":[";
  uint64_t next = 0, dropped = 0;
  if (auto it = pages.find(std::string(*token)); it != pages.end()) {
    Page& page = it->second;
    page.used = ++tick;
    // A page that counted further than this server (it restarted) starts over.
    if (after >= page.next_seq) after = 0;
    size_t n = 0;
    next = after;
    for (const Line& l : page.lines) {
      if (l.seq <= after) continue;
      if (n++ == kMaxAnswer) break;
      if (n > 1) body += ',';
      json::append_string(body, l.text);
      next = l.seq;
    }
    dropped = page.dropped;
  }
  body += "],\"next\":" + std::to_string(next) +
          ",\"dropped\":" + std::to_string(dropped) + "}";
  return http::json_response(200, std::move(body));
}

}  // namespace trace_page
