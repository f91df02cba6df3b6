// Lesson 02: a chat streamed over HTTP/2.
//
// What this lesson adds
// ---------------------
// Long polling (lesson 01) answers one request per message and asks again. HTTP/2
// multiplexes many requests as streams over one connection, so a response can
// simply go on: the browser opens one GET /messages that never ends, and every
// new message is written down it as one line of JSON, while posts travel as
// ordinary requests on the same connection. The streaming is get_messages() and
// broadcast() below; the protocol underneath is the lesson's own files:
//   frame.cpp       HTTP/2 frames (RFC 9113 §4, §6)
//   hpack.cpp       header compression (RFC 7541), tables in hpack_tables.cpp
//   connection.cpp  streams and the connection's rules, receiving (RFC 9113 §5)
//   send.cpp        responses within the flow-control windows, push, GOAWAY
//   request.cpp     what makes a request well formed (RFC 9113 §8)
//   tls.cpp         TLS with ALPN, libssl used as a pipe between memory buffers
//   transport.cpp   one port for TLS, h2c and HTTP/1.1, told apart by first bytes
// Browsers speak HTTP/2 only over TLS, so one port takes both: a first byte of
// 0x16 starts a TLS handshake (ALPN picks "h2"); "PRI * HTTP/2.0" starts
// cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3), as curl and h2load can.
// Server push, which browsers have dropped, is shown to a client that still
// accepts it (nghttp): GET / pushes the page's scripts and stylesheet.

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "02-http2-push/connection.h"
#include "02-http2-push/tls.h"
#include "02-http2-push/transport.h"
#include "common/assets.h"
#include "common/chat.h"
#include "common/flags.h"
#include "common/http1.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/trace_page.h"

namespace {

// Wire format
// -----------
//   GET /messages                 → 200 application/x-ndjson, never ends: the latest
//                                   50 messages, then each new one, one per line;
//                                   header x-history-id: 9f2c1e0a7b3d5f61
//   GET /messages?since=7         → the same, starting after id 7; if some of those
//                                   fell out of the history, first {"missed":N}
//   GET /messages?since=7&history=9f2c1e0a7b3d5f61
//                                 → as ?since=7 while that is still the history;
//                                   after a reset, as GET /messages
//   POST /messages {"user":"ada","text":"hi","cid":"k3"}
//                                 → 201 {"id":8,"user":"ada","text":"hi","time":...}
//                                   once it is on disk; a repeated cid gets the
//                                   message already stored; 503 if the disk refused
// Each line is one DATA frame on the GET's stream:
//   DATA stream=1 len=62  {"id":8,"user":"ada","text":"hi","time":1732280000000}\n

struct Options {
  int64_t port = 8002;
  int64_t history = 1000;
  int64_t max_streams = 100;
  int64_t flood_limit = 100;
  int64_t handshake_timeout_ms = 10'000;
  int64_t body_timeout_ms = 10'000;
  int64_t max_connections = 0;
  std::string cert_dir;
  chat::StoreOptions store;
  bool trace = false;
  bool trace_page = false;
};

constexpr size_t kLatest = 50;  // what a client gets before it has seen anything

// Per-connection state
// --------------------
// What a connection is (TLS or not, HTTP/2 or HTTP/1.1), its TLS session and its
// HTTP/2 state: transport::Peer, in transport.h with the code that tells them apart.
using transport::Peer;

class StreamingChat {
 public:
  StreamingChat(loop::Loop& loop, const Options& options, const tls::Context& tls,
                chat::Journal& journal)
      : loop_(loop),
        options_(options),
        sniffer_(tls, options.port, [this](Peer& peer) { start_h2(peer); }),
        room_(journal.room("")),
        journal_(journal) {
    expire_requests();
  }
  ~StreamingChat() { loop_.cancel(expire_timer_); }

  void accept(const std::shared_ptr<net::Connection>& conn);
  void shutdown(std::function<void()> done);

 private:
  void start_h2(Peer& peer);
  void handle(Peer& peer, const h2::Request& req);
  void serve_asset(Peer& peer, const h2::Request& req, const assets::Asset& asset);
  struct AssetReply;
  const AssetReply& asset_reply(const assets::Asset& asset);
  void get_messages(Peer& peer, const h2::Request& req);
  void post_message(Peer& peer, const h2::Request& req);
  void broadcast(const chat::Message& m);
  void forget_listener(uint64_t peer, uint32_t stream);
  void expire_requests();
  void finish_shutdown(int64_t deadline_ms, std::function<void()> done);

  loop::Loop& loop_;
  Options options_;
  transport::Sniffer sniffer_;  // TLS, h2c or HTTP/1.1: transport.cpp
  chat::Room& room_;
  const chat::Journal& journal_;  // for the history's id
  loop::TimerId expire_timer_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<Peer>> peers_;
  // The open GET /messages streams, by (connection, stream).
  std::map<std::pair<uint64_t, uint32_t>, std::weak_ptr<Peer>> listeners_;
  // An embedded file's answer, made once (asset_reply()): its fields as HTTP/2
  // sends them, and its bytes in one chunk that every response refers to.
  struct AssetReply {
    hpack::HeaderList fields;
    net::SharedSlice body;
  };
  std::unordered_map<const assets::Asset*, AssetReply> asset_replies_;
  net::SharedBuffer lines_;  // the broadcast lines, shared by every stream
  bool broadcasting_ = false;
  std::vector<std::pair<uint64_t, uint32_t>> gone_during_broadcast_;
};

void StreamingChat::accept(const std::shared_ptr<net::Connection>& conn) {
  auto peer = std::make_shared<Peer>();
  peer->conn = conn;
  peer->id = conn->id();
  peers_[peer->id] = peer;
  Peer* p = peer.get();
  // The input handler owns the Peer too: a close in the middle of reading (the
  // close handler runs then) must not free what on_input is still using.
  conn->start([this, peer](std::string_view in) { return sniffer_.on_input(*peer, in); },
              [this, peer] {
                loop_.cancel(peer->timer);
                if (peer->h2) peer->h2->closed();
                peers_.erase(peer->id);
              });
  // Dropped if it has not become HTTP/2 in time (transport.cpp).
  peer->timer = transport::watch_handshake(loop_, options_.handshake_timeout_ms, conn, p);
}

void StreamingChat::start_h2(Peer& peer) {
  peer.mode = Peer::Mode::h2;
  h2::Limits limits;
  limits.max_concurrent_streams = static_cast<uint32_t>(options_.max_streams);
  limits.flood_limit = static_cast<uint32_t>(options_.flood_limit);
  limits.body_timeout_ms = options_.body_timeout_ms;
  Peer* p = &peer;
  h2::Callbacks cb;
  cb.send = [p](std::string_view bytes) { p->send(bytes); };
  // A file's bytes are queued by reference, not copied (h2::Connection::respond
  // with a net::SharedSlice). Over TLS every byte is encrypted, so copied, anyway:
  // there the frames go through send() whole.
  if (!peer.tls)
    cb.send_shared = [p](const net::SharedSlice& bytes) {
      if (auto c = p->conn.lock()) c->send(bytes);
    };
  cb.request = [this, p](const h2::Request& req) { handle(*p, req); };
  cb.stream_gone = [this, p](uint32_t stream) { forget_listener(p->id, stream); };
  cb.close = [p] {
    if (auto c = p->conn.lock()) c->close_after_flush();
  };
  peer.h2 = std::make_unique<h2::Connection>(peer.id, limits, std::move(cb));
  peer.h2->start();
}

// Handlers
// --------

static void respond(Peer& peer, uint32_t stream, const http::Response& r) {
  peer.h2->respond(stream, r.status, transport::fields_of(r), r.body);
}

// The query (after '?') names no other resource here: /style.css?v=1 is the
// stylesheet (a browser's cache-busting query); only /messages reads it.
void StreamingChat::handle(Peer& peer, const h2::Request& req) {
  const std::string path = req.path.substr(0, req.path.find('?'));
  // RFC 9110 §9.1: GET and HEAD MUST be supported. A HEAD is handled as a GET;
  // the connection sends its response without content (§9.3.2).
  const bool get = req.method == "GET" || req.method == "HEAD";
  // --trace-page (common/trace_page.h): a page's requests name it; its GET /trace
  // stream is left out of what it is shown.
  trace_page::bind_target(peer.id, req.path);
  if (path == "/trace" && get && trace_page::enabled()) {
    trace_page::mute(peer.id, req.stream_id);
    http::Request query;
    query.query = req.path.substr(req.path.find('?') + 1);
    return respond(peer, req.stream_id, trace_page::answer(query));
  }
  if (path == "/messages") {
    if (get) return get_messages(peer, req);
    if (req.method == "POST") return post_message(peer, req);
    // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
    return respond(peer, req.stream_id, http::method_not_allowed("GET, HEAD, POST"));
  }
  if (const assets::Asset* asset = assets::find(path)) {
    if (get) return serve_asset(peer, req, *asset);
    return respond(peer, req.stream_id, http::method_not_allowed("GET, HEAD"));
  }
  respond(peer, req.stream_id, http::text_response(404, "not found\n"));
}

void StreamingChat::serve_asset(Peer& peer, const h2::Request& req,
                                const assets::Asset& asset) {
  // Server push (RFC 9113 §8.4): the page will ask for these next, so send them
  // unasked. Only when the client said it accepts push; browsers no longer do.
  // The PUSH_PROMISEs go now, the pushed responses after the page's HEADERS.
  if (asset.path == "/" && req.method == "GET" && peer.h2->push_enabled()) {
    for (const char* path : {"/chat.js", "/client.js", "/style.css"}) {
      const AssetReply& pushed = asset_reply(*assets::find(path));
      peer.h2->push(req, path, 200, pushed.fields, pushed.body.view());
    }
  }
  const AssetReply& reply = asset_reply(asset);
  peer.h2->respond(req.stream_id, 200, reply.fields, reply.body);
}

// The same answer for every request of a file, so it is made on the first one
// and kept: its fields are not built again, nor its bytes copied, per request.
const StreamingChat::AssetReply& StreamingChat::asset_reply(const assets::Asset& asset) {
  auto [it, fresh] = asset_replies_.try_emplace(&asset);
  if (fresh) {
    http::Response r = http::asset_response(asset);
    it->second.fields = transport::fields_of(r);
    auto bytes = std::make_shared<const std::string>(std::move(r.body));
    it->second.body = net::SharedSlice{bytes, 0, bytes->size()};
  }
  return it->second;
}

// Reads ?since=ID: absent means "I have nothing yet"; anything but digits is a 400.
// An id from another history (&history=) means nothing here: as if absent.
static bool read_since(std::string_view target, std::optional<uint64_t>& since,
                       const std::string& history_id) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return true;
  http::Request probe;
  probe.query = std::string(target.substr(q + 1));
  auto raw = probe.param("since");
  if (!raw) return true;
  since = chat::parse_id(*raw);
  if (!since) return false;
  auto history = probe.param("history");
  if (history && *history != history_id) since.reset();
  return true;
}

void StreamingChat::get_messages(Peer& peer, const h2::Request& req) {
  std::optional<uint64_t> since;
  if (!read_since(req.path, since, journal_.id()))
    return respond(
        peer, req.stream_id,
        http::json_response(400, chat::error_json("since: must be a message "
                                                  "id (a whole number >= 0)")));
  // The response starts now and never ends: history first, then each new message.
  peer.h2->start_response(req.stream_id, 200,
                          {{"content-type", "application/x-ndjson"},
                           {"cache-control", "no-store"},
                           {"x-content-type-options", "nosniff"},
                           {"x-history-id", journal_.id()}});
  const chat::Page page = since ? room_.after(*since) : room_.latest(kLatest);
  std::string lines;
  if (page.missed) lines += "{\"missed\":" + std::to_string(page.missed) + "}\n";
  for (const chat::Message* m : page.messages) {
    chat::append_json(lines, *m);
    lines += '\n';
  }
  if (!lines.empty()) peer.h2->send_data(req.stream_id, lines, false);
  if (peer.h2->stream_open(req.stream_id))
    listeners_[{peer.id, req.stream_id}] = peers_[peer.id];
}

void StreamingChat::post_message(Peer& peer, const h2::Request& req) {
  // Requiring JSON keeps other sites' plain HTML forms from posting here.
  const std::string* type = req.header("content-type");
  if (!type || !http::iequals(type->substr(0, type->find(';')), "application/json"))
    return respond(peer, req.stream_id,
                   http::json_response(415, chat::error_json("body: Content-Type must "
                                                             "be application/json")));
  std::string error;
  auto post = chat::parse_post(req.body, error);
  if (!post) {
    logs::info("#%llu POST /messages refused: %s", (unsigned long long)peer.id,
               error.c_str());
    return respond(peer, req.stream_id,
                   http::json_response(400, chat::error_json(error)));
  }
  // Answered at the end of this turn, once the message is on disk (common/chat.h);
  // by then the stream, or the whole connection, may be gone.
  std::weak_ptr<Peer> weak = peers_[peer.id];
  const uint32_t stream = req.stream_id;
  room_.post(std::move(*post), [this, weak, stream](const chat::Posted& posted) {
    auto p = weak.lock();
    bool open = p && p->h2 && p->h2->stream_open(stream);
    if (!posted.error.empty()) {
      if (open)
        respond(*p, stream, http::json_response(503, chat::error_json(posted.error)));
      return;
    }
    if (open)
      respond(*p, stream, http::json_response(201, chat::to_json(posted.message)));
    if (posted.fresh) broadcast(posted.message);
  });
}

// One post, one line on every open GET /messages stream, whichever connection
// it is on. The line is the same on every stream, so it is copied once, into
// shared bytes (net::SharedBuffer), and each stream's DATA frame refers to it:
// only the 9-byte frame header (the stream id) is written per stream. Before,
// each stream copied the line twice and allocated twice (tests/bench/README.md).
// Writing may end a stream (a reader that stopped reading); it is forgotten
// after the loop (forget_listener()), so the list is not copied for each post.
void StreamingChat::broadcast(const chat::Message& m) {
  const net::SharedSlice line = lines_.append(chat::to_json(m) + "\n");
  broadcasting_ = true;
  for (auto& [key, weak] : listeners_)
    if (auto peer = weak.lock(); peer && peer->h2)
      peer->h2->send_data(key.second, line, false);
  broadcasting_ = false;
  for (const auto& key : gone_during_broadcast_)
    listeners_.erase(key);
  gone_during_broadcast_.clear();
}

void StreamingChat::forget_listener(uint64_t peer, uint32_t stream) {
  if (broadcasting_)
    gone_during_broadcast_.push_back({peer, stream});
  else
    listeners_.erase({peer, stream});
}

// A request whose body stops arriving is answered 408 and reset, checked a few
// times per --body-timeout, so it ends between 1 and 1.25 timeouts after its HEADERS.
// A copy of the list: answering may close a connection, which leaves peers_.
void StreamingChat::expire_requests() {
  auto peers = peers_;
  for (auto& [id, peer] : peers)
    if (peer->h2) peer->h2->expire_requests(loop::Loop::now_ms());
  expire_timer_ = loop_.after(std::max<int64_t>(options_.body_timeout_ms / 4, 10),
                              [this] { expire_requests(); });
}

// SIGTERM or Ctrl-C: the first GOAWAY (2^31-1) and a PING to every connection;
// once each has answered the PING (or after a second), the final GOAWAY and
// every stream ended cleanly (RFC 9113 §6.8). Then done.
void StreamingChat::shutdown(std::function<void()> done) {
  auto peers = peers_;
  for (auto& [id, peer] : peers)
    if (peer->h2) peer->h2->shutdown();
  finish_shutdown(loop::Loop::now_ms() + 1000, std::move(done));
}

void StreamingChat::finish_shutdown(int64_t deadline_ms, std::function<void()> done) {
  bool waiting = false;
  for (auto& [id, peer] : peers_)
    waiting |= peer->h2 && !peer->h2->shut_down();
  if (waiting && loop::Loop::now_ms() < deadline_ms)
    return (void)loop_.after(
        10, [this, deadline_ms, done] { finish_shutdown(deadline_ms, done); });
  auto peers = peers_;
  for (auto& [id, peer] : peers)
    if (peer->h2) peer->h2->finish_shutdown();
  listeners_.clear();
  done();
}

}  // namespace

// main
// ----

int main(int argc, char** argv) {
  Options options;
  options.store.data = store::beside_binary(argv[0], "lesson-2.log");
  flags::Flags f("lesson-2", "A chat streamed over HTTP/2 (TLS with ALPN h2, or h2c).");
  f.add("--port", &options.port, "port to listen on, 0 picks a free one");
  f.add("--trace", &options.trace, "print every HTTP/2 frame in and out, decoded");
  f.add("--trace-page", &options.trace_page,
        "let a page that asks (its switch) see --trace lines of its own connections");
  f.add("--history", &options.history, "messages the room keeps");
  f.add(
      "--cert-dir", &options.cert_dir,
      "where localhost.pem is kept (made on first run); default: the binary's directory");
  f.add("--max-streams", &options.max_streams,
        "SETTINGS_MAX_CONCURRENT_STREAMS: open streams per connection");
  f.add("--flood-limit", &options.flood_limit,
        "SETTINGS, PINGs, empty DATA frames or stream resets per second before "
        "GOAWAY ENHANCE_YOUR_CALM");
  f.add("--handshake-timeout", &options.handshake_timeout_ms,
        "ms a new connection has to finish its TLS handshake or HTTP/2 preface");
  f.add("--body-timeout", &options.body_timeout_ms,
        "ms a request has, from its HEADERS, to send its whole body (else 408 and "
        "RST_STREAM)");
  f.add("--max-connections", &options.max_connections,
        "connections open at once, past it new ones are closed (0: up to the "
        "open-file limit)");
  chat::add_store_flags(f, options.store);
  f.parse(argc, argv);
  if (options.trace) logs::enable_trace();
  if (options.trace_page) trace_page::enable();

  tls::Context tls;
  const std::string dir =
      options.cert_dir.empty() ? transport::binary_dir(argv[0]) : options.cert_dir;
  if (std::string error = tls.load(dir); !error.empty()) {
    std::fprintf(stderr, "lesson-2: %s\n", error.c_str());
    return 1;
  }
  loop::Loop loop;
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  if (std::string error = journal.open(options.store); !error.empty()) {
    std::fprintf(stderr, "lesson-2: %s\n", error.c_str());
    return 1;
  }
  net::Limits limits;
  // Past the limit a new connection is closed unanswered: before its first
  // bytes we cannot know whether it speaks TLS, HTTP/2 or HTTP/1.1.
  limits.max_connections = static_cast<size_t>(options.max_connections);
  net::Listener listener(loop, limits);
  if (std::string error = listener.listen(static_cast<int>(options.port));
      !error.empty()) {
    std::fprintf(stderr, "lesson-2: %s\n", error.c_str());
    return 1;
  }
  options.port = listener.port();
  StreamingChat app(loop, options, tls, journal);
  listener.on_accept([&app](const auto& conn) { app.accept(conn); });
  // Installed before the URL is printed: whoever read the URL may signal at once.
  net::on_shutdown_signal(loop, [&] {
    logs::info("shutting down: GOAWAY to every connection");
    app.shutdown([&] { listener.shutdown(2000, [&loop] { loop.stop(); }); });
  });
  // The URL is the first line on stdout: tests and scripts read the port from it.
  std::printf("https://localhost:%d/\n", listener.port());
  std::fflush(stdout);
  logs::info(
      "lesson-2 listening on 127.0.0.1 and ::1 port %d (%s back end); TLS with "
      "ALPN h2 and cleartext h2c on the same port; certificate %s",
      listener.port(), loop::Loop::backend(), tls.pem_path().c_str());
  loop.run();
  return 0;
}
