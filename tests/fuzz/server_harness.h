// Whole-server fuzzing: a lesson's server.cpp, its handlers and everything under
// them, driven in memory by bytes arriving on connections.
//
// Each target (tests/fuzz/lessonN_server.cpp) renames the lesson's main() and
// includes its server.cpp, so the chat class in the anonymous namespace is
// visible; per input it builds a fresh event loop (common/loop.h), the lesson's
// objects as main() builds them, and this Harness. The Harness stands in for
// net::Listener: each "accepted" connection is one end of a socketpair(2) handed
// to the lesson as a net::Connection; the fuzz input is written into the other
// end, and what the server answers is read and thrown away. Between writes the
// loop runs until nothing moves, so the same input always takes the same path.
// At the end every client end is closed and the loop drained, then the objects
// are destroyed: whatever is still allocated is a leak LeakSanitizer reports.
//
// The input (see parse_script):
//   byte 0     option bits: timeouts at 0 ms, small buffers, shutdown at the end...
//   then       the bytes of connection 0, up to a mark;
//   "\xff\xfe" followed by a selector byte starts the next write:
//              selector & 3         which connection (0-3), opened on first use
//              (selector >> 2) & 3  0 write, then let the server run
//                                   1 write, then half-close (shutdown SHUT_WR)
//                                   2 close this connection (the bytes are ignored)
//                                   3 write, and go on without running the loop
//   0xff 0xfe never occurs in UTF-8 text and rarely in frames, so seeds from real
//   traffic need no escaping.
//
// Timers: a fuzz input must replay the same way, so a lesson's timeouts are
// either 0 ms (they fire in the turn that set them) or far away (never, within
// one input); an option bit picks. Nothing here sleeps: an always-readable pipe
// is watched so that Loop::run_once() never waits for a distant timer.
//
// Logs and --trace: tracing is on (its formatting is code to fuzz too), and
// stdout and stderr go nowhere unless FUZZ_SERVER_LOG=1 is set, which is what
// you want when replaying a crash:
//   FUZZ_SERVER_LOG=1 build/fuzz/fuzz-lesson2_server CRASHFILE
// libFuzzer's and the sanitizers' own reports are not affected (they keep the
// original stderr).
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"

namespace fuzz {

// Option bits in the input's first byte; each target maps them to its options.
constexpr uint8_t kTimeoutsNow = 1;  // expiry timeouts 0 ms: they fire at once
constexpr uint8_t kSmallBuffers = 2;  // tiny input and output caps per connection
constexpr uint8_t kShutdown = 4;  // the SIGTERM path (app.shutdown()) before hanging up
constexpr uint8_t kSmallHistory = 8;  // a room of 2 messages, so "missed" is reached
// Bits 0x10, 0x20, 0x40 and 0x80 are the lesson's own.

struct Step {
  enum Action { write = 0, write_fin = 1, close = 2, write_only = 3 };
  int conn = 0;
  Action action = write;
  std::string_view bytes;
};

struct Script {
  uint8_t options = 0;
  std::vector<Step> steps;
};

inline Script parse_script(const uint8_t* data, size_t size) {
  Script s;
  if (size == 0) return s;
  s.options = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Step step;
  for (;;) {
    size_t mark = in.find("\xff\xfe");
    if (mark == std::string_view::npos || mark + 2 >= in.size()) {
      step.bytes = in;
      s.steps.push_back(step);
      return s;
    }
    step.bytes = in.substr(0, mark);
    s.steps.push_back(step);
    const uint8_t selector = static_cast<uint8_t>(in[mark + 2]);
    step.conn = selector & 3;
    step.action = static_cast<Step::Action>((selector >> 2) & 3);
    in.remove_prefix(mark + 3);
  }
}

// A FILE that swallows everything, for the server's log and trace lines.
inline FILE* discard_file() {
  cookie_io_functions_t io{};
  io.write = [](void*, const char*, size_t n) -> ssize_t {
    return static_cast<ssize_t>(n);
  };
  return fopencookie(nullptr, "w", io);
}

// Once per process, from LLVMFuzzerInitialize.
inline void init_process() {
  ::setenv("TZ", "UTC", 1);  // log time stamps without reading /etc/localtime each line
  logs::enable_trace();
  const char* keep = std::getenv("FUZZ_SERVER_LOG");
  if (!keep || std::string_view(keep) != "1") {
    // The lessons write with stdio to stdout (trace) and stderr (log); libFuzzer
    // and the sanitizers keep the file descriptor 2 they already hold.
    stdout = discard_file();
    stderr = discard_file();
  }
}

class Harness {
 public:
  using Accept = std::function<void(const std::shared_ptr<net::Connection>&)>;

  Harness(loop::Loop& loop, net::Limits limits, Accept accept)
      : loop_(loop), limits_(limits), accept_(std::move(accept)) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) std::abort();
    wake_[0] = net::Fd(p[0]);
    wake_[1] = net::Fd(p[1]);
    (void)!::write(p[1], "x", 1);  // never read: the loop always has something ready
    loop_.watch(p[0], loop::kReadable, [](int) {});
  }
  ~Harness() {
    hang_up();
    loop_.unwatch(wake_[0].get());
  }

  // Lesson 04 rewrites each write (a placeholder becomes the live session id);
  // observe() sees every byte the server sends.
  std::function<void(std::string& bytes)> rewrite;
  std::function<void(std::string_view bytes)> observe;
  // The first bytes of a new connection, before they are sent (lesson 02 keeps
  // TLS out).
  std::function<void(std::string& bytes)> first_bytes;

  void play(const Script& script) {
    for (const Step& step : script.steps) {
      Client& c = clients_[step.conn];
      if (step.action == Step::close) {
        if (c.fd.get() >= 0) c = Client{};
        settle();
        continue;
      }
      if (c.fd.get() < 0 && !open(c)) continue;
      std::string bytes(step.bytes);
      if (rewrite) rewrite(bytes);
      if (c.fresh && !bytes.empty()) {
        if (first_bytes) first_bytes(bytes);
        c.fresh = false;
      }
      c.out += bytes;
      if (step.action == Step::write_fin) c.fin = true;
      if (step.action != Step::write_only) settle();
    }
    settle();
  }

  // Runs the loop until a few turns pass with nothing written or read by the
  // clients (bounded, for a server that would talk forever).
  void settle() {
    for (int turn = 0, quiet = 0; turn < 256 && quiet < 3; ++turn) {
      bool moved = pump();
      loop_.run_once();
      moved = pump() || moved;
      quiet = moved ? 0 : quiet + 1;
    }
    std::erase_if(conns_, [](const auto& c) { return !c->open(); });
  }

  // Every client goes away; whatever the server still holds open (a connection
  // that stopped reading) is closed, as net::Listener::shutdown does at the end.
  void hang_up() {
    for (Client& c : clients_)
      c = Client{};
    settle();
    auto left = conns_;
    for (auto& c : left)
      c->close_now();
    settle();
    conns_.clear();
  }

 private:
  struct Client {
    net::Fd fd;
    std::string out;
    bool fin = false, shut = false, fresh = true;
  };

  bool open(Client& c) {
    if (opened_ >= 16) return false;  // bounded work per input
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
      return false;
    ++opened_;
    c = Client{};
    c.fd = net::Fd(sv[1]);
    auto conn = std::make_shared<net::Connection>(
        loop_, net::Fd(sv[0]), static_cast<uint64_t>(opened_),
        "fuzz:" + std::to_string(opened_), limits_);
    conns_.push_back(conn);
    accept_(conn);
    return true;
  }

  // Writes what the clients have queued and reads what the server sent; true if
  // anything moved.
  bool pump() {
    bool moved = false;
    for (Client& c : clients_) {
      if (c.fd.get() < 0) continue;
      while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno != EAGAIN) c.out.clear();  // the server closed
          break;
        }
        c.out.erase(0, static_cast<size_t>(n));
        moved = true;
      }
      if (c.out.empty() && c.fin && !c.shut) {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.shut = moved = true;
      }
      for (;;) {
        static char buffer[64 * 1024];
        ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
          if (observe) observe(std::string_view(buffer, static_cast<size_t>(n)));
          moved = true;
          continue;
        }
        if (n == 0 || errno != EAGAIN) {
          c = Client{};  // the server closed its end
          moved = true;
        }
        break;
      }
    }
    return moved;
  }

  loop::Loop& loop_;
  net::Limits limits_;
  Accept accept_;
  net::Fd wake_[2];
  Client clients_[4];
  std::vector<std::shared_ptr<net::Connection>> conns_;
  int opened_ = 0;
};

}  // namespace fuzz
