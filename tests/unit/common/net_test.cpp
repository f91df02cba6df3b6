// common/net: a Connection over a socketpair(2), on the real event loop.
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/loop.h"
#include "common/net.h"

namespace {

struct Pair {
  int ours = -1, theirs = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    ours = fds[0];
    theirs = fds[1];
  }
  ~Pair() {
    if (theirs >= 0) ::close(theirs);
  }
  void write(std::string_view bytes) {
    REQUIRE(::write(theirs, bytes.data(), bytes.size()) == (ssize_t)bytes.size());
  }
};

void turns(loop::Loop& loop, int n) {
  // Each turn must not wait: a timer due now keeps run_once() from sleeping.
  for (int i = 0; i < n; ++i) {
    loop.after(0, [] {});
    loop.run_once();
  }
}

}  // namespace

// Found by the whole-server fuzz targets: a handler that answers and closes while
// it still reads the bytes it was handed (a request whose head came in two reads,
// answered with a close) read freed memory, because the close freed the input
// buffer under it. ASan turns a regression into a heap-use-after-free here.
TEST_CASE("a close from inside the input handler leaves its input readable") {
  for (bool now : {false, true}) {
    CAPTURE(now);
    loop::Loop loop;
    Pair pair;
    net::Limits limits;
    auto conn =
        std::make_shared<net::Connection>(loop, net::Fd(pair.ours), 1, "test", limits);
    int calls = 0;
    std::string seen;
    bool closed = false;
    conn->start(
        [&](std::string_view in) -> size_t {
          ++calls;
          if (in.size() < 6) return 0;  // need more: the bytes stay in the buffer
          conn->send("answer");
          if (now)
            conn->close_now();
          else
            conn->close_after_flush();
          seen.assign(in);  // the handler goes on reading what it was handed
          return in.size();
        },
        [&] { closed = true; });
    pair.write("abc");
    turns(loop, 3);
    pair.write("defgh");
    turns(loop, 3);
    CHECK(calls == 2);
    CHECK(seen == "abcdefgh");
    if (now) CHECK(closed);
    conn->close_now();
    CHECK(closed);
  }
}

// RFC 9293 §3.6: a FIN means the peer sends nothing more, not that it reads nothing
// more; what was queued for it is still written.
TEST_CASE("a half-closed peer still gets what was queued for it") {
  loop::Loop loop;
  Pair pair;
  net::Limits limits;
  auto conn =
      std::make_shared<net::Connection>(loop, net::Fd(pair.ours), 1, "test", limits);
  bool closed = false;
  conn->start(
      [&](std::string_view in) -> size_t {
        conn->send(std::string(in) + "!");
        return in.size();
      },
      [&] { closed = true; });
  pair.write("ping");
  REQUIRE(::shutdown(pair.theirs, SHUT_WR) == 0);
  turns(loop, 5);
  char buf[16];
  ssize_t n = ::read(pair.theirs, buf, sizeof buf);
  REQUIRE(n == 5);
  CHECK(std::string_view(buf, 5) == "ping!");
  CHECK(closed);
}

// A request answered at the end of the loop's turn (as a post is once its log
// record is written) resumes the connection; a pipelined request behind it must
// still be answered when the peer's FIN arrives before resume() hands it over.
TEST_CASE("a FIN does not drop a pipelined request that resume() is about to deliver") {
  loop::Loop loop;
  Pair pair;
  net::Limits limits;
  auto conn =
      std::make_shared<net::Connection>(loop, net::Fd(pair.ours), 1, "test", limits);
  std::string answered;
  conn->start(
      [&](std::string_view in) -> size_t {
        if (in.empty()) return 0;
        char request = in[0];
        conn->pause();  // answered later: read nothing more until then
        loop.defer([&, request] {
          answered += request;
          conn->send(std::string(1, request));
          conn->resume();
        });
        return 1;
      },
      [] {});
  pair.write("AB");
  REQUIRE(::shutdown(pair.theirs, SHUT_WR) == 0);
  turns(loop, 8);
  CHECK(answered == "AB");
  std::string got;
  char buf[4];
  for (ssize_t n; (n = ::read(pair.theirs, buf, sizeof buf)) > 0;) got.append(buf, n);
  CHECK(got == "AB");
}
