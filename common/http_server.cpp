#include "http_server.h"

#include "log.h"
#include "trace_page.h"

namespace http {

// The state of one HTTP connection: the exchange in progress and the timer.
struct Session : std::enable_shared_from_this<Session> {
  Server* server;
  std::weak_ptr<net::Connection> conn;
  uint64_t id;
  std::shared_ptr<Exchange> current;  // being handled, or held
  // The head or idle timeout. A keep-alive connection moves its deadline on every
  // request; the timer is left where it is and, when it fires early, set again for
  // what is left, so a request costs no timer of its own (arm_timer()).
  loop::TimerId timer = 0;  // 0: none set
  int64_t timer_at = 0;  // when it fires
  int64_t deadline = 0;  // when the connection times out; 0: an exchange is running
  bool partial = false;  // part of a request head has arrived
  bool paused = false;  // we paused the connection while an exchange is held
  bool detached = false;
  Progress progress;  // of a chunked body still arriving
  bool continue_sent = false;  // 100 Continue, for the request being read

  size_t on_input(std::string_view in);
  void fail(int status, const std::string& reason);
  void arm_timer();
  void set_timer(int64_t ms);
  void finish(Exchange& ex, Response r);
  void finish(Exchange& ex, SharedResponse& shared);
  void next_request(net::Connection& c, bool keep_alive);
};

void trace_message(uint64_t id, const char* arrow, std::string_view bytes) {
  if (!logs::tracing()) return;
  // One line per header line; the body, if any, on one line of its own.
  size_t end = bytes.find("\r\n\r\n");
  std::string_view head =
      bytes.substr(0, end == std::string_view::npos ? bytes.size() : end + 2);
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    logs::trace("#%llu %s %s", (unsigned long long)id, arrow,
                logs::printable(head.substr(0, eol)).c_str());
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  }
  if (end != std::string_view::npos && end + 4 < bytes.size()) {
    logs::trace("#%llu %s", (unsigned long long)id, arrow);
    logs::trace("#%llu %s %s", (unsigned long long)id, arrow,
                logs::printable(bytes.substr(end + 4)).c_str());
  }
}

void Server::serve(const std::shared_ptr<net::Connection>& conn) {
  auto s = std::make_shared<Session>();
  s->server = this;
  s->conn = conn;
  s->id = conn->id();
  conn->start([s](std::string_view in) { return s->on_input(in); },
              [s] {
                s->server->loop_.cancel(s->timer);
                if (auto ex = std::move(s->current)) {
                  if (ex->answered_) return;
                  logs::trace("#%llu ✕ closed by the client before it was answered",
                              (unsigned long long)s->id);
                  if (ex->on_gone_) std::move(ex->on_gone_)();
                }
              });
  s->arm_timer();
}

// Starts the head timeout (partial) or the idle timeout. A timer set to fire no
// later than the new deadline is kept: it sets itself again when it fires early.
void Session::arm_timer() {
  int64_t ms =
      partial ? server->options_.head_timeout_ms : server->options_.idle_timeout_ms;
  int64_t now = loop::Loop::now_ms();
  deadline = now + ms;
  if (timer && timer_at <= deadline) return;
  server->loop_.cancel(timer);
  set_timer(ms);
}

void Session::set_timer(int64_t ms) {
  timer_at = loop::Loop::now_ms() + ms;
  std::weak_ptr<Session> weak = shared_from_this();
  timer = server->loop_.after(ms, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->timer = 0;
    if (self->current || self->detached || self->deadline == 0) return;
    int64_t left = self->deadline - loop::Loop::now_ms();
    if (left > 0) return self->set_timer(left);  // the deadline moved on
    if (self->partial) {
      // RFC 9110 §15.5.9: 408 when the client did not finish its request in time.
      self->fail(408, "request head not complete within " +
                          std::to_string(self->server->options_.head_timeout_ms) + " ms");
    } else if (auto c = self->conn.lock()) {
      c->close_now();  // an idle keep-alive connection: close it quietly
    }
  });
}

void Session::fail(int status, const std::string& reason) {
  auto c = conn.lock();
  if (!c) return;
  logs::info("#%llu %s: %d %s: %s", (unsigned long long)id, c->peer().c_str(), status,
             status_text(status), reason.c_str());
  Response r = text_response(status, reason + "\n");
  std::string bytes = serialize(r, false);
  trace_message(id, "→", bytes);
  c->send(bytes);
  c->close_after_flush();
}

size_t Session::on_input(std::string_view in) {
  size_t used = 0;
  while (!current && !detached && used < in.size()) {
    auto c = conn.lock();
    if (!c || !c->open()) return in.size();
    auto ex = std::make_shared<Exchange>();
    ParseResult r =
        parse_request(in.substr(used), server->options_.limits, ex->request_, &progress);
    // RFC 9110 §10.1.1: the client waits for 100 Continue before sending the body;
    // send it at once (a body over the limit was refused above, before it came).
    if (r.expects_continue && !continue_sent) {
      continue_sent = true;
      std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
      trace_message(id, "→", interim);
      c->send(interim);
    }
    if (r.status == Status::need_more) {
      bool was_partial = partial;
      partial = used < in.size();
      if (partial && !was_partial) arm_timer();  // the head timeout starts now
      return used;
    }
    if (r.status == Status::error) {
      fail(r.http_status, r.reason);
      return in.size();
    }
    // --trace-page: this connection's lines now belong to the page named, if any.
    trace_page::bind(id, ex->request_.param("tracepage"));
    trace_message(id, "←", in.substr(used, r.consumed));
    used += r.consumed;
    partial = false;
    continue_sent = false;
    deadline = 0;  // no timeout while the exchange runs (the timer, if set, stays)
    ex->session_ = shared_from_this();
    ex->connection_id_ = id;
    // RFC 9110 §9.3.2: HEAD is answered as GET would be, without the content. The
    // method stays HEAD for the handler: a HEAD is no WebSocket handshake (RFC 6455
    // §4.1) and opens no session; only the response loses its body, in finish().
    ex->head_only_ = ex->request_.method == "HEAD";
    current = ex;
    // GET /trace is answered here for every lesson, once --trace-page is on.
    if (trace_page::enabled() && ex->request_.method == "GET" &&
        ex->request_.path == "/trace")
      ex->respond(trace_page::answer(ex->request_));
    else
      server->handler_(ex);
  }
  if (current && !detached) {
    // Read nothing more until it is answered (an exchange answered at once, as
    // most are, never pauses: the loop above reads the next request itself).
    if (auto c = conn.lock()) {
      c->pause();
      paused = true;
    }
    // A held exchange has no timeout here (a long poll has its own): an idle
    // connection holding one keeps no timer (~150 bytes of server memory each).
    server->loop_.cancel(timer);
    timer = 0;
  }
  return used;
}

void Session::finish(Exchange& ex, Response r) {
  auto c = conn.lock();
  bool keep_alive = ex.request_.keep_alive;
  current.reset();
  if (!c || !c->open()) return;
  // RFC 9112 §9.3: an HTTP/1.0 connection persists only if the answer says so.
  if (keep_alive && ex.request_.minor_version == 0 && r.status != 101)
    r.headers.push_back({"Connection", "keep-alive"});
  std::string bytes = serialize(r, keep_alive);
  if (ex.head_only_) bytes.resize(bytes.size() - r.body.size());
  trace_message(id, "→", bytes);
  c->send(bytes);
  next_request(*c, keep_alive);
}

void Session::finish(Exchange& ex, SharedResponse& shared) {
  // The shared bytes are a keep-alive HTTP/1.1 answer with its content.
  if (ex.head_only_ || !ex.request_.keep_alive || ex.request_.minor_version == 0)
    return finish(ex, shared.response());
  auto c = conn.lock();
  current.reset();
  if (!c || !c->open()) return;
  const net::SharedSlice& bytes = shared.bytes();
  if (logs::tracing()) trace_message(id, "→", bytes.view());
  c->send(bytes);
  next_request(*c, true);
}

// After an answer: close, or wait for the next request.
void Session::next_request(net::Connection& c, bool keep_alive) {
  if (!keep_alive) {
    c.close_after_flush();
    return;
  }
  arm_timer();
  if (paused) {
    paused = false;
    c.resume();  // parse what is already buffered (pipelined requests)
  }
}

void Exchange::respond(Response response) {
  if (answered_) return;
  answered_ = true;
  on_gone_ = nullptr;
  if (auto s = session_.lock()) s->finish(*this, std::move(response));
}

void Exchange::respond(SharedResponse& shared) {
  if (answered_) return;
  answered_ = true;
  on_gone_ = nullptr;
  if (auto s = session_.lock()) s->finish(*this, shared);
}

const net::SharedSlice& SharedResponse::bytes() {
  const std::string& date = http_date();
  if (!bytes_.chunk || date_ != date) {
    auto chunk = std::make_shared<const std::string>(serialize(response_, true));
    bytes_ = net::SharedSlice{chunk, 0, chunk->size()};
    date_ = date;
  }
  return bytes_;
}

bool Exchange::connected() const {
  auto s = session_.lock();
  if (!s) return false;
  auto c = s->conn.lock();
  return c && c->open();
}

std::shared_ptr<net::Connection> Exchange::take_over() {
  auto s = session_.lock();
  if (!s) return nullptr;
  answered_ = true;
  on_gone_ = nullptr;
  s->detached = true;
  s->current.reset();
  s->server->loop_.cancel(s->timer);
  s->timer = 0;
  auto c = s->conn.lock();
  if (c) {
    c->set_close_handler(nullptr);
    c->resume();  // bytes after the request go to the new handler
  }
  return c;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  // Chat state changes every moment: no cache may answer for us.
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

Response asset_response(const assets::Asset& asset) {
  Response r;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.body);
  r.headers.reserve(4);  // the three below and one a lesson may add
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; object-src 'none'"});
  return r;
}

Response method_not_allowed(std::string allow) {
  Response r =
      text_response(405, "method not allowed; this resource allows " + allow + "\n");
  r.headers.push_back({"Allow", std::move(allow)});
  return r;
}

}  // namespace http
