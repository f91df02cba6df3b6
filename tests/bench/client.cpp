// The shared half of the clients, and the long-polling client (lesson 01).
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bench {

std::shared_ptr<net::Connection> Client::connect(net::Connection::InputHandler on_input) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(std::string("socket: ") + std::strerror(errno));
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  int port = env_.port2 != 0 && index_ % 2 == 1 ? env_.port2 : env_.port;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Non-blocking: EINPROGRESS is the usual answer. Bytes sent before the
  // handshake completes wait in the Connection until the socket is writable.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0 &&
      errno != EINPROGRESS) {
    std::string why = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    fail(why);
    return nullptr;
  }
  net::Limits limits;
  limits.output_cap = 64 << 20;
  limits.input_cap = 16 << 20;
  auto conn = std::make_shared<net::Connection>(
      env_.loop, net::Fd(fd), static_cast<uint64_t>(index_), "server", limits);
  conn->start(std::move(on_input), [this] { fail("the server closed the connection"); });
  return conn;
}

void Client::fail(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  env_.sink.failed(*this, why);
}

uint64_t read_uint(std::string_view s, size_t& pos) {
  uint64_t n = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
    n = n * 10 + static_cast<uint64_t>(s[pos++] - '0');
  return n;
}

std::string_view chat_text(std::string_view json) {
  const char* begin = json.data();
  const char* end = begin + json.size();
  const char* tilde = static_cast<const char*>(std::memchr(begin, '~', json.size()));
  if (tilde && tilde - begin >= 8 && std::memcmp(tilde - 8, "\"text\":\"", 8) == 0) {
    const char* quote = static_cast<const char*>(
        std::memchr(tilde, '"', static_cast<size_t>(end - tilde)));
    if (quote) return {tilde, static_cast<size_t>(quote - tilde)};
  }
  std::string_view found;
  each_message(json, [&](uint64_t, std::string_view text) {
    if (found.empty()) found = text;
  });
  return found;
}

static bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

long parse_response(std::string_view in, Response& r) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return in.size() > 64 * 1024 ? -1 : 0;
  std::string_view head = in.substr(0, end + 2);
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return -1;
  size_t p = 9;
  r.status = static_cast<int>(read_uint(head, p));
  size_t length = 0;
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    std::string_view rest = head.substr(line + 2);
    if (iequals_prefix(rest, "content-length:")) {
      size_t q = 15;
      while (q < rest.size() && rest[q] == ' ')
        ++q;
      length = read_uint(rest, q);
    } else if (iequals_prefix(rest, "transfer-encoding:")) {
      return -1;  // the peers and the lessons send Content-Length
    }
    line = head.find("\r\n", line + 2);
  }
  if (r.status == 101) length = 0;
  size_t total = end + 4 + length;
  if (in.size() < total) return 0;
  r.body = in.substr(end + 4, length);
  return static_cast<long>(total);
}

// Long polling (lesson 01): GET /messages for the newest id, then
// GET /messages?since=ID, held by the server until there is news, again and
// again. Posts go on a second keep-alive connection, one at a time, as a
// browser's connection pool would send them.
class PollClient : public Client {
 public:
  using Client::Client;

  void start() override {
    sub_ = connect([this](std::string_view in) { return on_poll(in); });
    if (sub_) sub_->send("GET /messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }

  void post(std::string text) override {
    if (dead_) return;
    if (!post_) {
      post_ = connect([this](std::string_view in) { return on_post_answer(in); });
      if (!post_) return;
    }
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) send_post();
  }

 private:
  void poll() {
    char request[128];
    int n = std::snprintf(request, sizeof request,
                          "GET /messages?since=%llu HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                          static_cast<unsigned long long>(since_));
    sub_->send(std::string_view(request, static_cast<size_t>(n)));
  }

  size_t on_poll(std::string_view in) {
    size_t used = 0;
    while (!dead_) {
      Response r;
      long n = parse_response(in.substr(used), r);
      if (n == 0) break;
      if (n < 0 || r.status != 200) {
        fail("poll: unexpected answer (status " + std::to_string(r.status) + ")");
        return in.size();
      }
      used += static_cast<size_t>(n);
      each_message(r.body, [&](uint64_t id, std::string_view text) {
        if (id > since_) since_ = id;
        if (subscribed_) env_.sink.message(*this, text);
      });
      if (!subscribed_) {
        subscribed_ = true;
        env_.sink.ready(*this);
      }
      if (!dead_) poll();
    }
    return used;
  }

  void send_post() {
    const std::string& text = queue_.front();
    std::string body = "{\"user\":\"" + env_.user + "\",\"text\":\"" + text + "\"}";
    std::string request =
        "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    post_->send(request);
  }

  size_t on_post_answer(std::string_view in) {
    size_t used = 0;
    while (!dead_) {
      Response r;
      long n = parse_response(in.substr(used), r);
      if (n == 0) break;
      if (n < 0 || r.status != 201) {
        fail("post: unexpected answer (status " + std::to_string(r.status) + ")");
        return in.size();
      }
      used += static_cast<size_t>(n);
      if (!queue_.empty()) queue_.pop_front();
      env_.sink.posted(*this);
      if (!queue_.empty() && !dead_) send_post();
    }
    return used;
  }

  std::shared_ptr<net::Connection> sub_, post_;
  uint64_t since_ = 0;
  bool subscribed_ = false;
  std::deque<std::string> queue_;
};

std::unique_ptr<Client> make_ws_client(Env& env, int index);
std::unique_ptr<Client> make_sio_client(Env& env, int index);
std::unique_ptr<Client> make_h2_client(Env& env, int index);

std::unique_ptr<Client> make_client(const std::string& protocol, Env& env, int index) {
  if (protocol == "poll") return std::make_unique<PollClient>(env, index);
  if (protocol == "ws") return make_ws_client(env, index);
  if (protocol == "sio") return make_sio_client(env, index);
  if (protocol == "h2") return make_h2_client(env, index);
  return nullptr;
}

}  // namespace bench
