// RESP2 replies and commands, and the client that sends one and reads the other.
#include "redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/log.h"

namespace redis {

// Reply decoder
// -------------
// Every RESP2 value starts with a type byte and ends its first line with CRLF:
//   +<text>\r\n   -<text>\r\n   :<integer>\r\n
//   $<length>\r\n<bytes>\r\n      ($-1\r\n: null)
//   *<count>\r\n<count values>    (*-1\r\n: null)

namespace {

struct Parser {
  std::string_view in;
  const Limits& limits;
  size_t pos = 0;
  std::string error;

  // The line at pos, without its CRLF; false = need more (or error set).
  bool line(std::string_view& out) {
    size_t end = in.find("\r\n", pos);
    if (end == std::string_view::npos) {
      // RESP: a line ends with CRLF; a bare LF or an overlong line is not RESP.
      size_t have = in.size() - pos;
      if (in.substr(pos).find('\n') != std::string_view::npos)
        error = "line: a line must end with CRLF, found a bare LF";
      else if (have > limits.max_line)
        error = "line: longer than " + std::to_string(limits.max_line) + " bytes";
      return false;
    }
    if (end - pos > limits.max_line) {
      error = "line: longer than " + std::to_string(limits.max_line) + " bytes";
      return false;
    }
    out = in.substr(pos, end - pos);
    if (out.find_first_of("\r\n") != std::string_view::npos) {
      error = "line: a CR or LF inside a line";
      return false;
    }
    pos = end + 2;
    return true;
  }

  // RESP: ":" and the lengths are signed decimal 64-bit integers, no "+", no spaces.
  bool number(std::string_view text, int64_t& out, const char* what) {
    const char* first = text.data();
    const char* last = first + text.size();
    auto r = std::from_chars(first, last, out);
    if (text.empty() || r.ec != std::errc() || r.ptr != last) {
      error = std::string(what) + ": not a decimal integer: \"" +
              logs::printable(text, 40) + "\"";
      return false;
    }
    return true;
  }

  // One value at pos; false = need more or error (error says which).
  bool value(Reply& out, size_t depth) {
    if (pos >= in.size()) return false;
    char type = in[pos++];
    std::string_view text;
    if (!line(text)) return false;
    switch (type) {
      case '+':
        out.type = Type::simple;
        out.str.assign(text);
        return true;
      case '-':
        out.type = Type::error;
        out.str.assign(text);
        return true;
      case ':':
        out.type = Type::integer;
        return number(text, out.integer, "integer");
      case '$': {
        int64_t length;
        if (!number(text, length, "bulk length")) return false;
        // RESP2: $-1 is the null bulk string; no other negative length exists.
        if (length == -1) {
          out.type = Type::null;
          return true;
        }
        if (length < 0) {
          error = "bulk length: negative and not -1";
          return false;
        }
        if (static_cast<uint64_t>(length) > limits.max_bulk) {
          error = "bulk length: " + std::to_string(length) + " is over the limit of " +
                  std::to_string(limits.max_bulk);
          return false;
        }
        size_t n = static_cast<size_t>(length);
        if (in.size() - pos < n + 2) return false;
        // RESP: the bytes are followed by CRLF, whatever they contain.
        if (in.substr(pos + n, 2) != "\r\n") {
          error =
              "bulk string: the " + std::to_string(n) + " bytes are not followed by CRLF";
          return false;
        }
        out.type = Type::bulk;
        out.str.assign(in.substr(pos, n));
        pos += n + 2;
        return true;
      }
      case '*': {
        int64_t count;
        if (!number(text, count, "array length")) return false;
        // RESP2: *-1 is the null array (XREAD BLOCK that timed out answers it).
        if (count == -1) {
          out.type = Type::null;
          return true;
        }
        if (count < 0) {
          error = "array length: negative and not -1";
          return false;
        }
        if (static_cast<uint64_t>(count) > limits.max_elements) {
          error = "array length: " + std::to_string(count) + " is over the limit of " +
                  std::to_string(limits.max_elements);
          return false;
        }
        if (depth + 1 > limits.max_depth) {
          error = "array: nested deeper than " + std::to_string(limits.max_depth);
          return false;
        }
        out.type = Type::array;
        // Each element takes at least 3 bytes (":0\r\n" is 4): no reservation
        // bigger than what has arrived, whatever the count claims.
        out.elements.reserve(
            std::min<size_t>(static_cast<size_t>(count), (in.size() - pos) / 3 + 1));
        for (int64_t i = 0; i < count; ++i) {
          out.elements.emplace_back();
          if (!value(out.elements.back(), depth + 1)) return false;
        }
        return true;
      }
      default:
        error = std::string("type: '") + logs::printable(std::string_view(&type, 1)) +
                "' is not a RESP2 type byte (+ - : $ *)";
        return false;
    }
  }
};

}  // namespace

ParseResult parse(std::string_view bytes, const Limits& limits) {
  Parser p{bytes, limits, 0, {}};
  ParseResult r;
  if (p.value(r.reply, 0)) {
    r.status = Status::done;
    r.consumed = p.pos;
  } else if (!p.error.empty()) {
    r.status = Status::error;
    r.error = std::move(p.error);
    r.reply = Reply{};
  } else {
    r.reply = Reply{};
  }
  return r;
}

// Commands
// --------
// *<n>\r\n then $<len>\r\n<bytes>\r\n for each argument: binary-safe, so a
// msgpack payload goes as it is.

void append_command(std::string& out, const std::vector<std::string>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out;
  append_command(out, args);
  return out;
}

static void describe_into(std::string& out, const Reply& r) {
  switch (r.type) {
    case Type::simple:
      out += r.str;
      return;
    case Type::error:
      out += "(error) " + r.str;
      return;
    case Type::integer:
      out += "(integer) " + std::to_string(r.integer);
      return;
    case Type::bulk:
      out += '"' + logs::printable(r.str, 80) + '"';
      return;
    case Type::null:
      out += "(nil)";
      return;
    case Type::array:
      out += '[';
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) out += ' ';
        describe_into(out, r.elements[i]);
      }
      out += ']';
      return;
  }
}

std::string describe(const Reply& reply) {
  std::string out;
  describe_into(out, reply);
  return out;
}

std::string parse_address(const std::string& text, std::string& host, int& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return "--redis: expected HOST:PORT, e.g. 127.0.0.1:6379, got \"" + text + "\"";
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:6379
  std::string_view digits(text.data() + colon + 1, text.size() - colon - 1);
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() ||
      port < 1 || port > 65535)
    return "--redis: the port must be 1 to 65535, got \"" + std::string(digits) + "\"";
  // A name would need a resolver that blocks the loop: numeric or localhost only.
  in6_addr scratch;
  if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &scratch) != 1)
    return "--redis: \"" + host + "\" is not an IP address; use e.g. 127.0.0.1:6379";
  return "";
}

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
