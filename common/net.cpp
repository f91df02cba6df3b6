#include "net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.h"

namespace net {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

static void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

Connection::Connection(loop::Loop& loop, Fd fd, uint64_t id, std::string peer,
                       Limits limits)
    : loop_(loop), fd_(std::move(fd)), id_(id), peer_(std::move(peer)), limits_(limits) {}

Connection::~Connection() {
  close_now();
}

void Connection::start(InputHandler on_input, std::function<void()> on_close) {
  on_input_ = std::move(on_input);
  on_close_ = std::move(on_close);
  // A bare `this`, not a weak_ptr: the watch lives no longer than the
  // Connection (close_now(), also run by the destructor, unwatches), and an
  // 8-byte capture fits inside the std::function, where a weak_ptr would cost a
  // 32-byte allocation per connection. `self` keeps it alive while it runs.
  loop_.watch(fd_.get(), loop::kReadable, [this](int events) {
    auto self = shared_from_this();
    on_events(events);
  });
}

void Connection::on_events(int events) {
  if (events & loop::kWritable) write_some();
  if (open() && (events & loop::kReadable)) read_some();
}

void Connection::read_some() {
  // One shared read buffer: an idle connection holds no input memory of its own.
  static char buffer[64 * 1024];
  ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
  if (n > 0) {
    if (closing_) return;  // closing: input is read only to be dropped
    deliver(std::string_view(buffer, static_cast<size_t>(n)));
  } else if (n == 0) {
    // Read again after the FIN only on a hang-up (epoll reports it unasked): the
    // connection is gone both ways, and nothing queued can be sent.
    if (eof_) return close_now();
    eof_ = true;  // RFC 9293 §3.6: the peer sends nothing more
    update_interest();
    after_eof();
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    close_now();  // the connection failed (ECONNRESET...)
  }
}

// After the peer's FIN: hand over what is buffered and write what is queued, then
// close. Input left unconsumed by a running handler can never be completed.
void Connection::after_eof() {
  if (!eof_ || !open() || delivering_) return;
  if (closing_) {
    if (queued() == 0) close_now();
    return;
  }
  // Requests behind a held one, or handed over by a resume() still to run: answer
  // them first.
  if ((paused_ || resume_pending_) && !in_.empty()) return;
  if (resume_pending_) return;  // resume()'s turn looks again
  // A request still unanswered may be answered at the end of this turn (a post
  // waits for its log record): look again then. Still unanswered after that, it
  // is a held poll whose client has left, and the connection is closed.
  if (paused_) {
    if (eof_recheck_) return;
    eof_recheck_ = true;
    std::weak_ptr<Connection> weak = weak_from_this();
    if (weak.expired()) return close_after_flush();
    loop_.defer([weak] {
      auto self = weak.lock();
      if (!self) return;
      self->eof_recheck_ = false;
      if (self->paused_ && self->open() && !self->closing_) return self->close_after_flush();
      self->after_eof();
    });
    return;
  }
  close_after_flush();
}

void Connection::linger() {
  if (lingering_) return;
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  std::weak_ptr<Connection> weak = weak_from_this();
  if (weak.expired()) return close_now();
  linger_timer_ = loop_.after(limits_.linger_ms, [weak] {
    if (auto self = weak.lock()) self->close_now();
  });
  update_interest();
}

void Connection::deliver(std::string_view fresh) {
  std::shared_ptr<Connection> keep = shared_from_this();
  if (paused_ || closing_ || delivering_) {
    if (!closing_) in_.append(fresh);
    update_interest();
    return;
  }
  delivering_ = true;
  // A handler may replace itself (an upgrade hands the connection to another
  // protocol): the copy keeps the running one, and what it owns, alive until it returns.
  InputHandler handler = on_input_;
  if (in_.empty()) {
    size_t used = handler ? handler(fresh) : fresh.size();
    if (open() && !closing_ && used < fresh.size()) in_.assign(fresh.substr(used));
  } else {
    in_.append(fresh);
    size_t used = handler ? handler(in_) : in_.size();
    in_.erase(0, used);
  }
  delivering_ = false;
  // A close during the handler left in_ alone (the handler was still reading
  // it); no more of it will be read now.
  if (in_.empty() || closing_ || !open()) std::string().swap(in_);
  update_interest();
  after_eof();
}

SharedSlice SharedBuffer::append(std::string_view bytes) {
  constexpr size_t kChunk = 64 * 1024;
  // A chunk is only ever appended to: the slices already handed out stay valid.
  if (!chunk_ || chunk_->size() + bytes.size() > chunk_->capacity()) {
    chunk_ = std::make_shared<std::string>();
    chunk_->reserve(std::max(kChunk, bytes.size()));
  }
  size_t offset = chunk_->size();
  chunk_->append(bytes);
  return SharedSlice{chunk_, offset, bytes.size()};
}

// Output is queued and written once per turn of the loop, not once per call:
// a client that is sent ten messages in one turn (a busy chat room) gets them in
// one send() instead of ten. System calls, not copying, are what a broadcast
// server spends its time on. Redis does the same with its list of clients with
// pending writes. The write happens before the loop sleeps again, so no latency
// is added.
void Connection::send(std::string_view bytes) {
  if (!accept_output(bytes.size())) return;
  bool was_idle = queued_ == 0;
  Segment* last = was_idle ? nullptr : &out_.back();
  // A private chunk no segment uses any more is reused; one still in use grows
  // only to 64 KiB, then a new one starts, so a peer that reads slowly but never
  // catches up does not make it grow for ever (its written front is not freed).
  constexpr size_t kOwnChunk = 64 * 1024;
  bool extend = last && last->chunk == own_ && last->end == own_->size() &&
                own_->size() < kOwnChunk;
  if (!own_ || (!extend && own_.use_count() > 1 && own_->size() >= kOwnChunk)) {
    own_ = std::make_shared<std::string>();
    // A turn's small writes (one DATA frame per message on an HTTP/2 stream) then
    // grow it twice or so, not eight times from 15 bytes: reallocating was a fifth
    // of lesson 02's instructions per delivery (tests/bench/README.md).
    own_->reserve(1024);
  } else if (own_.use_count() == 1)
    own_->clear();
  if (!extend) last = &out_.emplace_back(Segment{own_, own_->size(), own_->size()});
  own_->append(bytes);
  last->end += bytes.size();
  queued_ += bytes.size();
  schedule_flush(was_idle);
}

// A broadcast's bytes: the queue holds a reference to the shared chunk, and
// consecutive broadcasts of one turn (adjacent in their chunk) become one slice,
// so a socket costs one send() per turn and no copy or allocation per message.
void Connection::send(const SharedSlice& slice) {
  if (!accept_output(slice.size)) return;
  bool was_idle = queued_ == 0;
  Segment* last = was_idle ? nullptr : &out_.back();
  if (last && last->chunk == slice.chunk && last->end == slice.offset)
    last->end += slice.size;
  else
    out_.push_back(Segment{slice.chunk, slice.offset, slice.offset + slice.size});
  queued_ += slice.size;
  schedule_flush(was_idle);
}

// False when nothing may be queued: closed, closing, or over output_cap (then
// the connection is closed: its peer is not reading).
bool Connection::accept_output(size_t n) {
  if (!open() || closing_ || n == 0) return false;
  if (queued_ + n > limits_.output_cap) {
    logs::warn(
        "conn %llu: output cap of %zu bytes reached; the peer is not reading,"
        " closing it",
        (unsigned long long)id_, limits_.output_cap);
    close_now();
    return false;
  }
  return true;
}

// The first send() of a turn asks the loop to write at its end (a queue that was
// not empty already has a write scheduled, or waits for kWritable). The deferred
// call captures only `this`, so std::function allocates nothing for it;
// flush_owner_ keeps the connection alive until the call has run.
void Connection::schedule_flush(bool was_idle) {
  if (!was_idle || flush_scheduled_) return;
  std::weak_ptr<Connection> weak = weak_from_this();
  if (weak.expired()) return write_some();  // not owned by a shared_ptr: write now
  flush_scheduled_ = true;
  flush_owner_ = weak.lock();
  loop_.defer([this] {
    std::shared_ptr<Connection> self = std::move(flush_owner_);
    flush_scheduled_ = false;
    if (open()) write_some();
  });
}

void Connection::write_some() {
  while (queued_ > 0) {
    ssize_t n = write_queued(0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      close_now();
      return;
    }
    consume_output(static_cast<size_t>(n));
  }
  if (queued_ == 0 && closing_) {
    if (eof_)
      close_now();
    else
      linger();
    return;
  }
  update_interest();
}

// One system call for the whole queue: send() for one slice, sendmsg() with an
// iovec per slice (at most 64 at a time) for more.
ssize_t Connection::write_queued(int flags) {
  flags |= MSG_NOSIGNAL;
  size_t count = out_.size() - out_head_;
  const Segment* first = &out_[out_head_];
  if (count == 1)
    return ::send(fd_.get(), first->chunk->data() + first->begin,
                  first->end - first->begin, flags);
  iovec iov[64];
  size_t n = std::min<size_t>(count, 64);
  for (size_t i = 0; i < n; ++i) {
    iov[i].iov_base = const_cast<char*>(first[i].chunk->data() + first[i].begin);
    iov[i].iov_len = first[i].end - first[i].begin;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  return ::sendmsg(fd_.get(), &msg, flags);
}

// Drops n written bytes from the front of the queue, and each chunk reference
// with its last byte. An empty queue frees the private chunk: an idle connection
// holds no output memory but the segment list's capacity (kept, so that a
// broadcast allocates nothing per socket; freed past 8 segments).
void Connection::consume_output(size_t n) {
  queued_ -= n;
  while (n > 0) {
    Segment& s = out_[out_head_];
    size_t take = std::min(n, s.end - s.begin);
    s.begin += take;
    n -= take;
    if (s.begin == s.end) {
      s.chunk.reset();
      ++out_head_;
    }
  }
  if (out_head_ >= 32 && out_head_ * 2 >= out_.size()) {
    // A queue that never empties (a slow reader) drops its written segments.
    out_.erase(out_.begin(), out_.begin() + static_cast<ptrdiff_t>(out_head_));
    out_head_ = 0;
  }
  if (queued_ == 0) {
    out_.clear();
    if (out_.capacity() > 8) std::vector<Segment>().swap(out_);
    out_head_ = 0;
    own_.reset();  // an idle connection keeps no private chunk
  }
}

void Connection::close_after_flush() {
  if (!open()) return;
  closing_ = true;
  // The handler may be running on a view of in_: deliver() frees it after.
  if (!delivering_) std::string().swap(in_);
  if (queued() > 0)
    update_interest();
  else if (eof_)
    close_now();
  else
    linger();
}

void Connection::close_now() {
  if (!open()) return;
  std::shared_ptr<Connection> keep;
  if (!weak_from_this().expired()) keep = shared_from_this();
  // Bytes queued in this turn have not been tried yet (send() defers the write):
  // one attempt, as if send() had written at once, so a last word such as a
  // close frame or an error status still leaves before the socket closes.
  if (flush_scheduled_ && queued() > 0) (void)!write_queued(MSG_DONTWAIT);
  loop_.unwatch(fd_.get());
  loop_.cancel(linger_timer_);
  fd_.reset();
  if (!delivering_) std::string().swap(in_);  // else deliver() frees it after
  std::vector<Segment>().swap(out_);
  out_head_ = 0;
  queued_ = 0;
  own_.reset();
  if (auto cb = std::move(on_close_)) cb();
  if (auto release = std::move(release_)) release();
}

void Connection::pause() {
  paused_ = true;
  update_interest();
}

void Connection::resume() {
  paused_ = false;
  // Deliver what arrived while paused, from the loop rather than from inside
  // whatever handler called resume().
  resume_pending_ = true;
  std::weak_ptr<Connection> weak = shared_from_this();
  loop_.after(0, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->resume_pending_ = false;
    if (!self->open() || self->paused_) return;
    if (!self->in_.empty())
      self->deliver(std::string_view());
    else
      self->after_eof();
  });
  update_interest();
}

void Connection::update_interest() {
  if (!open()) return;
  int events = 0;
  // Read unless closing or holding as much unconsumed input as allowed. A paused
  // connection still reads (into in_, up to the cap): that is how a client that
  // goes away while its request is held is noticed at once, not at a timeout.
  // Closing, input is read and dropped; after the peer's FIN there is none.
  if (!eof_ && (closing_ || in_.size() < limits_.input_cap)) events |= loop::kReadable;
  if (queued() > 0) events |= loop::kWritable;
  loop_.set_events(fd_.get(), events);
}

static void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string Listener::listen(int port) {
  raise_fd_limit();
  struct Candidate {
    int family;
    const char* address;
  };
  // Loopback only: a teaching server is not exposed to the network.
  for (Candidate c : {Candidate{AF_INET, "127.0.0.1"}, Candidate{AF_INET6, "::1"}}) {
    Fd fd(::socket(c.family, SOCK_STREAM, 0));
    if (fd.get() < 0) continue;
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len;
    if (c.family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, c.address, &sin->sin_addr);
      len = sizeof(sockaddr_in);
    } else {
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET6, c.address, &sin6->sin6_addr);
      len = sizeof(sockaddr_in6);
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      if (c.family == AF_INET6 && errno == EADDRNOTAVAIL) continue;  // no IPv6 here
      return "cannot listen on " + std::string(c.address) + " port " +
             std::to_string(port) + ": " + std::strerror(errno) +
             (errno == EADDRINUSE ? "; try --port 0 to pick a free port" : "");
    }
    if (::listen(fd.get(), SOMAXCONN) < 0)
      return std::string("listen: ") + std::strerror(errno);
    if (port == 0) {
      // Bind the second address to the port the kernel picked for the first.
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
      port = ntohs(c.family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    set_nonblocking(fd.get());
    int raw = fd.get();
    loop_.watch(raw, loop::kReadable, [this, raw](int) { accept_ready(raw); });
    sockets_.push_back(std::move(fd));
  }
  if (sockets_.empty()) return "cannot create a listening socket";
  port_ = port;
  return "";
}

void Listener::accept_ready(int listen_fd) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of file descriptors: stop accepting for a moment instead of spinning.
        logs::warn("accept: %s; pausing accepts for 100 ms", std::strerror(errno));
        if (!accept_paused_) {
          accept_paused_ = true;
          for (auto& s : sockets_)
            loop_.set_events(s.get(), 0);
          loop_.after(100, [this] {
            accept_paused_ = false;
            for (auto& s : sockets_)
              loop_.set_events(s.get(), loop::kReadable);
          });
        }
      }
      return;  // EAGAIN: accepted everything pending
    }
    if (limits_.max_connections && connections_.size() >= limits_.max_connections) {
      refuse(Fd(fd));
      continue;
    }
    set_nonblocking(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char host[INET6_ADDRSTRLEN] = "?";
    int peer_port = 0;
    if (ss.ss_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
      peer_port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
      peer_port = ntohs(sin6->sin6_port);
    }
    uint64_t id = next_id_++;
    auto conn = std::make_shared<Connection>(
        loop_, Fd(fd), id, std::string(host) + ":" + std::to_string(peer_port), conn_limits_);
    conn->release_ = [this, id] { connections_.erase(id); };
    connections_[id] = conn;
    if (on_accept_) on_accept_(conn);
  }
}

// Over max_connections: a best-effort answer (the socket's buffer is empty, so a
// short one fits), then close. Existing connections are not touched. The log
// says how many were refused, at most once a second, so a flood cannot flood it.
void Listener::refuse(Fd fd) {
  if (!limits_.refusal.empty())
    (void)!::send(fd.get(), limits_.refusal.data(), limits_.refusal.size(),
                  MSG_NOSIGNAL | MSG_DONTWAIT);
  ++refused_;
  int64_t now = loop::Loop::now_ms();
  if (now - refused_logged_ms_ >= 1000) {
    logs::warn("refused %llu connection(s): --max-connections %zu are open",
               (unsigned long long)refused_, limits_.max_connections);
    refused_ = 0;
    refused_logged_ms_ = now;
  }
}

void Listener::shutdown(int64_t grace_ms, std::function<void()> done) {
  for (auto& s : sockets_)
    loop_.unwatch(s.get());
  sockets_.clear();
  // Closing erases from the map, so close from a copy.
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [id, c] : connections_)
    all.push_back(c);
  for (auto& c : all)
    c->close_after_flush();
  shutdown_deadline_ = loop::Loop::now_ms() + grace_ms;
  shutdown_done_ = std::move(done);
  check_shutdown();
}

void Listener::check_shutdown() {
  if (!connections_.empty() && loop::Loop::now_ms() < shutdown_deadline_) {
    loop_.after(10, [this] { check_shutdown(); });
    return;
  }
  std::vector<std::shared_ptr<Connection>> left;
  for (auto& [id, c] : connections_)
    left.push_back(c);
  for (auto& c : left)
    c->close_now();
  if (auto done = std::move(shutdown_done_)) done();
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int) {
  int saved = errno;
  char byte = 1;
  (void)!::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

void on_shutdown_signal(loop::Loop& loop, std::function<void()> handler) {
  // The self-pipe trick: the handler only writes a byte; the loop does the work.
  if (::pipe(signal_pipe) < 0) return;
  set_nonblocking(signal_pipe[0]);
  set_nonblocking(signal_pipe[1]);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  loop.watch(signal_pipe[0], loop::kReadable, [handler](int) {
    char drain[16];
    while (::read(signal_pipe[0], drain, sizeof drain) > 0) {
    }
    handler();
  });
}

}  // namespace net
