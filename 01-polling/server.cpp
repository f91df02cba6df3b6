// Lesson 01: a chat over HTTP/1.1 long polling.
//
// What this lesson adds
// ---------------------
// HTTP is request/response: the server can only speak when asked. To push news
// to a browser anyway, the browser asks "anything after id N?" and the server
// does not answer until there is something to say (or 25 s pass). The moment a
// message is posted, every held request is answered, and each browser asks again
// at once. That is long polling: the whole lesson is in get_messages(),
// post_message() and wake_polls() below. The HTTP/1.1 parsing, the event loop and
// the chat model live in common/, because every lesson shares them.

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/assets.h"
#include "common/chat.h"
#include "common/flags.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/trace_page.h"

namespace {

// Wire format
// -----------
//   GET /messages                 → 200 {"messages":[latest 50],"missed":0,
//                                        "history_id":"9f2c1e0a7b3d5f61"}
//   GET /messages?since=7&history=9f2c1e0a7b3d5f61
//                                 → as ?since=7 while that is still the history;
//                                   after a reset, the latest 50 and the new id
//   GET /messages?since=7         → 200 {"messages":[id 8, 9...],"missed":0}
//                                   held until there is a message after 7
//   GET /messages?since=7&wait=0  → answered at once, even when empty (short polling)
//   POST /messages {"user":"ada","text":"hi","cid":"k3"}
//                                 → 201 {"id":8,"user":"ada","text":"hi","time":...}
//                                   once it is on disk; a repeated cid gets the
//                                   message already stored; 503 if the disk refused
// history_id names the server's history (common/chat.h): a new one means the
// server started afresh, and ids from the old history mean nothing in it.
// "missed" counts messages after `since` that already fell out of the bounded
// history: the client is told what it lost instead of silently skipping it.

struct Options {
  int64_t port = 8001;
  int64_t history = 1000;
  int64_t poll_timeout_ms = 25'000;
  int64_t head_timeout_ms = 10'000;
  int64_t max_connections = 0;
  chat::StoreOptions store;
  bool trace = false;
  bool trace_page = false;
};

constexpr size_t kLatest = 50;  // what a client gets before it has seen anything

// Per-connection state
// --------------------
// The only state a long poll needs is the held request itself: which exchange is
// waiting, for messages after which id, and the timer that ends the wait. It costs
// the server one open socket and this small struct; no thread is parked on it.
struct HeldPoll {
  std::shared_ptr<http::Exchange> exchange;
  uint64_t since;
  loop::TimerId timeout;
};

class PollingChat {
 public:
  PollingChat(loop::Loop& loop, const Options& options, chat::Journal& journal)
      : loop_(loop), options_(options), room_(journal.room("")), journal_(journal) {}

  void handle(const std::shared_ptr<http::Exchange>& ex);
  void shutdown();

 private:
  void serve_asset(const std::shared_ptr<http::Exchange>& ex);
  void get_messages(const std::shared_ptr<http::Exchange>& ex);
  void post_message(const std::shared_ptr<http::Exchange>& ex);
  void wake_polls();
  static std::string page_json(const chat::Page& page,
                               const std::string* history = nullptr);
  http::SharedResponse& answer_since(uint64_t since, const chat::Page& page);

  loop::Loop& loop_;
  Options options_;
  chat::Room& room_;
  const chat::Journal& journal_;  // for the history's id
  std::unordered_map<uint64_t, HeldPoll> held_;  // by a poll number of our own
  // Answers to ?since=ID, valid while the room's last id is bodies_for_.
  struct Body {
    uint64_t missed = 0;
    size_t count = 0;
    http::SharedResponse answer;
  };
  static constexpr size_t kMaxBodies = 16;
  std::unordered_map<uint64_t, Body> bodies_;
  uint64_t bodies_for_ = 0;
  http::SharedResponse uncached_;  // the answer for an id past kMaxBodies
  // The page's files never change: each answer is made once (again each second,
  // for its Date) and shared, instead of copying the file for every request.
  std::unordered_map<const assets::Asset*, http::SharedResponse> assets_;
  uint64_t next_poll_ = 1;
};

// Handlers
// --------

void PollingChat::handle(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  if (req.path == "/messages") {
    if (req.method == "GET" || req.method == "HEAD") return get_messages(ex);
    if (req.method == "POST") return post_message(ex);
    // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
    return ex->respond(http::method_not_allowed("GET, HEAD, POST"));
  }
  if (assets::find(req.path)) {
    if (req.method == "GET" || req.method == "HEAD") return serve_asset(ex);
    return ex->respond(http::method_not_allowed("GET, HEAD"));
  }
  // Only the few paths above exist; nothing is ever looked up on disk.
  ex->respond(http::text_response(404, "not found\n"));
}

void PollingChat::serve_asset(const std::shared_ptr<http::Exchange>& ex) {
  const assets::Asset* asset = assets::find(ex->request().path);
  auto [it, fresh] = assets_.try_emplace(asset);
  if (fresh) it->second = http::SharedResponse(http::asset_response(*asset));
  ex->respond(it->second);
}

// {"messages":[{...},{...}],"missed":0}, then ,"history_id":"..." if given
std::string PollingChat::page_json(const chat::Page& page, const std::string* history) {
  std::string out = "{\"messages\":[";
  for (size_t i = 0; i < page.messages.size(); ++i) {
    if (i) out += ',';
    chat::append_json(out, *page.messages[i]);
  }
  out += "],\"missed\":" + std::to_string(page.missed);
  if (history) {
    out += ",\"history_id\":";
    json::append_string(out, *history);
  }
  out += '}';
  return out;
}

// The answer to ?since=ID, encoded and serialized once for every client that asks
// with the same ID until the room changes. In a busy room the clients poll again,
// one after the other, with the same id; encoding the page once per client was
// 60% of the server's instructions, and serializing and copying the answer per
// client a quarter of what was left (tests/bench/README.md, items 8 and 10). The
// page's count and missed are compared too, so an answer is never served for a
// room that has moved on. At most kMaxBodies ids are kept: a client asking for
// since=0, 1, 2... one after the other would otherwise keep a page per id, their
// sizes summing to the square of the history's.
http::SharedResponse& PollingChat::answer_since(uint64_t since, const chat::Page& page) {
  if (room_.last_id() != bodies_for_) {
    bodies_.clear();
    bodies_for_ = room_.last_id();
  }
  if (bodies_.size() >= kMaxBodies && !bodies_.count(since)) {
    uncached_ = http::SharedResponse(http::json_response(200, page_json(page)));
    return uncached_;
  }
  auto [it, fresh] = bodies_.try_emplace(since);
  Body& body = it->second;
  if (fresh || body.missed != page.missed || body.count != page.messages.size())
    body = Body{page.missed, page.messages.size(),
                http::SharedResponse(http::json_response(200, page_json(page)))};
  return body.answer;
}

// Reads ?since=ID: absent means "I have nothing yet"; anything but digits is a 400.
static bool read_since(const http::Request& req, std::optional<uint64_t>& since) {
  // EXERCISE read-since: absent: nullopt and true; digits: the id; else false
  auto raw = req.param("since");
  if (!raw) return true;
  since = chat::parse_id(*raw);
  return since.has_value();
  // END EXERCISE read-since
}

void PollingChat::get_messages(const std::shared_ptr<http::Exchange>& ex) {
  std::optional<uint64_t> since;
  if (!read_since(ex->request(), since))
    return ex->respond(http::json_response(
        400, chat::error_json("since: must be a message id (a whole number >= 0)")));
  // Ids from another history (the server's log was deleted, or it keeps none)
  // mean nothing here: that client starts over, as one that has seen nothing.
  auto history = ex->request().param("history");
  if (history && *history != journal_.id()) since.reset();
  // A client that has seen nothing gets the latest messages straight away, and
  // the history's id.
  if (!since)
    return ex->respond(
        http::json_response(200, page_json(room_.latest(kLatest), &journal_.id())));

  // EXERCISE answer-now: messages after since, or ?wait=0: respond at once
  chat::Page page = room_.after(*since);
  auto wait = ex->request().param("wait");
  bool hold = !(wait && *wait == "0");
  // Something to say, or short polling: answer now.
  if (!page.messages.empty() || !hold) return ex->respond(answer_since(*since, page));
  // END EXERCISE answer-now

  // Nothing new: hold the request. It is answered by wake_polls() when a message
  // is posted, or with an empty list when the timer fires first.
  // EXERCISE hold-poll: keep ex in held_; a timer answers it empty after poll_timeout_ms
  uint64_t id = next_poll_++;
  loop::TimerId timeout = loop_.after(options_.poll_timeout_ms, [this, id] {
    auto it = held_.find(id);
    if (it == held_.end()) return;
    HeldPoll poll = std::move(it->second);
    held_.erase(it);
    poll.exchange->respond(answer_since(poll.since, room_.after(poll.since)));
  });
  // If the browser goes away first (tab closed), forget the poll and its timer.
  ex->on_gone([this, id] {
    auto it = held_.find(id);
    if (it == held_.end()) return;
    loop_.cancel(it->second.timeout);
    held_.erase(it);
  });
  held_.emplace(id, HeldPoll{ex, *since, timeout});
  // END EXERCISE hold-poll
}

void PollingChat::post_message(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  // Requiring JSON keeps other sites' plain HTML forms from posting here: a
  // cross-origin fetch with this type needs a CORS preflight we never grant.
  const std::string* type = req.header("content-type");
  if (!type || !http::iequals(type->substr(0, type->find(';')), "application/json"))
    return ex->respond(http::json_response(
        415, chat::error_json("body: Content-Type must be application/json")));
  std::string error;
  auto post = chat::parse_post(req.body, error);
  if (!post) {
    logs::info("#%llu POST /messages refused: %s",
               (unsigned long long)ex->connection_id(), error.c_str());
    return ex->respond(http::json_response(400, chat::error_json(error)));
  }
  // Answered at the end of this turn, once the message is on disk (common/chat.h).
  room_.post(std::move(*post), [this, ex](const chat::Posted& posted) {
    if (!posted.error.empty())
      return ex->respond(http::json_response(503, chat::error_json(posted.error)));
    ex->respond(http::json_response(201, chat::to_json(posted.message)));
    if (posted.fresh) wake_polls();
  });
}

// One post answers every held poll. Polls that asked with the same `since`
// (nearly all of them: they were all up to date) share one encoded body.
void PollingChat::wake_polls() {
  // EXERCISE wake-polls: answer every held poll with what came after its since
  auto held = std::move(held_);
  held_.clear();
  for (auto& [id, poll] : held) {
    loop_.cancel(poll.timeout);
    poll.exchange->respond(answer_since(poll.since, room_.after(poll.since)));
  }
  // END EXERCISE wake-polls
}

// SIGTERM or Ctrl-C: answer every held poll (empty), so no client waits on a
// server that is going away.
void PollingChat::shutdown() {
  auto held = std::move(held_);
  held_.clear();
  for (auto& [id, poll] : held) {
    loop_.cancel(poll.timeout);
    poll.exchange->respond(http::json_response(200, page_json(chat::Page{})));
  }
}

}  // namespace

// main
// ----

int main(int argc, char** argv) {
  Options options;
  options.store.data = store::beside_binary(argv[0], "lesson-1.log");
  flags::Flags f("lesson-1", "A chat over HTTP/1.1 long polling.");
  f.add("--port", &options.port, "port to listen on, 0 picks a free one");
  f.add("--trace", &options.trace, "print every request and response as it crosses");
  f.add("--trace-page", &options.trace_page,
        "let a page that asks (its switch) see --trace lines of its own connections");
  f.add("--history", &options.history, "messages the room keeps");
  f.add("--poll-timeout", &options.poll_timeout_ms, "ms a long poll is held at most");
  f.add("--head-timeout", &options.head_timeout_ms, "ms a request head may take");
  f.add("--max-connections", &options.max_connections,
        "connections open at once, past it 503 (0: up to the open-file limit)");
  chat::add_store_flags(f, options.store);
  f.parse(argc, argv);
  if (options.trace) logs::enable_trace();
  if (options.trace_page) trace_page::enable();

  loop::Loop loop;
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  if (std::string error = journal.open(options.store); !error.empty()) {
    std::fprintf(stderr, "lesson-1: %s\n", error.c_str());
    return 1;
  }
  PollingChat app(loop, options, journal);
  http::ServerOptions server_options;
  server_options.head_timeout_ms = options.head_timeout_ms;
  http::Server server(loop, server_options, [&app](const auto& ex) { app.handle(ex); });
  net::Limits limits;
  limits.max_connections = static_cast<size_t>(options.max_connections);
  limits.refusal = http::busy_response();
  net::Listener listener(loop, limits);
  listener.on_accept([&server](const auto& conn) { server.serve(conn); });
  if (std::string error = listener.listen(static_cast<int>(options.port));
      !error.empty()) {
    std::fprintf(stderr, "lesson-1: %s\n", error.c_str());
    return 1;
  }
  // Installed before the URL is printed: whoever read the URL may signal at once.
  net::on_shutdown_signal(loop, [&] {
    logs::info("shutting down: answering held polls, closing connections");
    app.shutdown();
    listener.shutdown(2000, [&loop] { loop.stop(); });
  });
  // The URL is the first line on stdout: tests and scripts read the port from it.
  std::printf("http://localhost:%d/\n", listener.port());
  std::fflush(stdout);
  logs::info("lesson-1 listening on 127.0.0.1 and ::1 port %d (%s back end)",
             listener.port(), loop::Loop::backend());
  loop.run();
  return 0;
}
