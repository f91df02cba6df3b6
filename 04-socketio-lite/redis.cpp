// The Redis client: one non-blocking TCP connection on the loop, commands out,
// replies (resp.cpp decodes them) back to their callbacks in order.
#include "redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace redis {

// Client
// ------

Client::Client(loop::Loop& loop, std::string name, std::string host, int port)
    : loop_(loop), name_(std::move(name)), host_(std::move(host)), port_(port) {}

Client::~Client() {
  *alive_ = false;
  if (retry_timer_) loop_.cancel(retry_timer_);
  if (connecting_.get() >= 0) loop_.unwatch(connecting_.get());
  if (conn_) {
    conn_->set_close_handler(nullptr);
    conn_->close_now();
  }
}

void Client::start() {
  connect();
}

// A non-blocking connect: socket(), connect() answers EINPROGRESS, and the socket
// turns writable once the handshake is done (SO_ERROR then says how it went).
// The address is numeric or "localhost": resolving another name would block the
// loop (getaddrinfo has no non-blocking form), so it is refused at start-up.
void Client::connect() {
  retry_timer_ = 0;
  std::string host = host_ == "localhost" ? "127.0.0.1" : host_;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port_));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port_));
    len = sizeof(sockaddr_in6);
  } else {
    return lost("\"" + host_ + "\" is not an IP address (or localhost)");
  }
  net::Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return lost(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0)
    return connected_fd(std::move(fd));
  if (errno != EINPROGRESS) return lost(std::string("connect: ") + std::strerror(errno));
  connecting_ = std::move(fd);
  std::weak_ptr<bool> alive = alive_;
  loop_.watch(connecting_.get(), loop::kWritable, [this, alive](int) {
    if (alive.expired()) return;
    int error = 0;
    socklen_t elen = sizeof error;
    getsockopt(connecting_.get(), SOL_SOCKET, SO_ERROR, &error, &elen);
    loop_.unwatch(connecting_.get());
    net::Fd fd = std::move(connecting_);
    if (error) return lost(std::string("connect: ") + std::strerror(error));
    connected_fd(std::move(fd));
  });
}

void Client::connected_fd(net::Fd fd) {
  net::Limits limits;
  limits.input_cap = 2 * Limits{}.max_bulk;  // one whole reply must fit
  limits.output_cap = 64 << 20;
  conn_ = std::make_shared<net::Connection>(loop_, std::move(fd), 0,
                                            host_ + ":" + std::to_string(port_), limits);
  std::weak_ptr<bool> alive = alive_;
  conn_->start([this](std::string_view bytes) { return on_input(bytes); },
               [this, alive] {
                 if (!alive.expired()) lost("the connection was closed");
               });
  ready_ = true;
  pubsub_ = false;
  backoff_ms_ = 0;
  if (was_connected_)
    logs::info("%s: connected again to %s:%d", name_.c_str(), host_.c_str(), port_);
  else
    logs::info("%s: connected to %s:%d", name_.c_str(), host_.c_str(), port_);
  was_connected_ = true;
  if (on_connect) on_connect();
}

// Several replies may arrive in one read, and one reply over several reads.
size_t Client::on_input(std::string_view bytes) {
  size_t used = 0;
  std::weak_ptr<bool> alive = alive_;
  while (used < bytes.size() && conn_ && conn_->open()) {
    ParseResult r = parse(bytes.substr(used));
    if (r.status == Status::need_more) break;
    if (r.status == Status::error) {
      logs::warn("%s: closing, reply refused: %s", name_.c_str(), r.error.c_str());
      conn_->close_now();  // lost() runs from the close handler
      return bytes.size();
    }
    if (logs::tracing())
      logs::trace("%s ← %s", name_.c_str(),
                  logs::printable(bytes.substr(used, r.consumed), 300).c_str());
    used += r.consumed;
    // RESP2 pub/sub: ["message", channel, payload] comes unasked.
    bool push = pubsub_ && r.reply.type == Type::array && !r.reply.elements.empty() &&
                r.reply.elements[0].str == "message";
    if (push || pending_.empty()) {
      if (on_push) on_push(r.reply);
    } else {
      Callback cb = std::move(pending_.front());
      pending_.pop_front();
      if (cb) cb(r.reply);
    }
    if (alive.expired()) return used;  // a callback destroyed us
  }
  return used;
}

void Client::command(std::vector<std::string> args, Callback callback) {
  if (!connected()) {
    if (callback) {
      Reply e;
      e.type = Type::error;
      e.str = "ERR not connected to redis";
      callback(e);
    }
    return;
  }
  if (!args.empty() && (args[0] == "SUBSCRIBE" || args[0] == "PSUBSCRIBE"))
    pubsub_ = true;
  std::string bytes = encode_command(args);
  if (logs::tracing())
    logs::trace("%s → %s", name_.c_str(), logs::printable(bytes, 300).c_str());
  pending_.push_back(std::move(callback));
  // Queued: the connection writes everything sent in this turn in one go.
  conn_->send(bytes);
}

// The connection is gone (or never came): every waiting command hears it, the
// log says once that this node is cut off, and a new attempt is scheduled.
void Client::lost(const std::string& why) {
  bool was_ready = ready_;
  ready_ = false;
  if (conn_) {
    conn_->set_close_handler(nullptr);
    conn_->close_now();
    // Destroyed from the loop, not from inside its own close handler.
    loop_.defer([c = std::move(conn_)] {});
  }
  auto pending = std::move(pending_);
  pending_.clear();
  Reply e;
  e.type = Type::error;
  e.str = "ERR connection lost";
  std::weak_ptr<bool> alive = alive_;
  for (auto& cb : pending) {
    if (cb) cb(e);
    if (alive.expired()) return;
  }
  if (was_ready || backoff_ms_ == 0)
    logs::warn(
        "%s: cut off from redis at %s:%d (%s); serving local sockets only,"
        " reconnecting",
        name_.c_str(), host_.c_str(), port_, why.c_str());
  if (was_ready && on_disconnect) on_disconnect();
  if (alive.expired()) return;
  retry_later();
}

void Client::retry_later() {
  backoff_ms_ = backoff_ms_ == 0 ? 100 : std::min<int64_t>(backoff_ms_ * 2, 5000);
  std::weak_ptr<bool> alive = alive_;
  if (retry_timer_) loop_.cancel(retry_timer_);
  retry_timer_ = loop_.after(backoff_ms_, [this, alive] {
    if (!alive.expired()) connect();
  });
}

}  // namespace redis
