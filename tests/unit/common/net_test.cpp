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

namespace {

// Everything the peer end can read now.
std::string drain(int fd) {
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<size_t>(n));
  return got;
}

}  // namespace

// A broadcast is copied once into a SharedBuffer and queued by reference on every
// connection; each connection's bytes must still leave in the order they were
// sent, its own bytes and shared ones interleaved.
TEST_CASE("shared slices and private bytes leave each connection in the order sent") {
  loop::Loop loop;
  Pair a, b;
  net::Limits limits;
  auto ca = std::make_shared<net::Connection>(loop, net::Fd(a.ours), 1, "a", limits);
  auto cb = std::make_shared<net::Connection>(loop, net::Fd(b.ours), 2, "b", limits);
  ca->start([](std::string_view in) { return in.size(); }, [] {});
  cb->start([](std::string_view in) { return in.size(); }, [] {});
  net::SharedBuffer shared;
  net::SharedSlice one = shared.append("one,");
  net::SharedSlice two = shared.append("two,");  // adjacent: merged into one slice
  net::SharedSlice three = shared.append("three,");
  ca->send("hello a,");
  ca->send(one);
  cb->send(one);
  ca->send(two);
  cb->send(two);
  cb->send("only b,");
  ca->send(three);
  cb->send(three);
  ca->send("bye");
  CHECK(ca->queued() == 8 + 4 + 4 + 6 + 3);
  turns(loop, 2);
  CHECK(ca->queued() == 0);
  CHECK(drain(a.theirs) == "hello a,one,two,three,bye");
  CHECK(drain(b.theirs) == "one,two,only b,three,");
  // A chunk is never written again once sliced: the slices still read the same.
  CHECK(one.view() == "one,");
  CHECK(three.view() == "three,");
}

// The output cap counts shared bytes as the peer's own: a reader that stops
// reading is dropped, whatever kind of bytes it is not reading.
TEST_CASE("a peer that reads no shared slices is closed at the output cap") {
  loop::Loop loop;
  Pair pair;
  net::Limits limits;
  limits.output_cap = 64 * 1024;
  auto conn =
      std::make_shared<net::Connection>(loop, net::Fd(pair.ours), 1, "test", limits);
  bool closed = false;
  conn->start([](std::string_view in) { return in.size(); }, [&] { closed = true; });
  net::SharedBuffer shared;
  std::string frame(1000, 'x');
  for (int turn = 0; turn < 2000 && !closed; ++turn) {
    conn->send(shared.append(frame));
    turns(loop, 1);
  }
  CHECK(closed);
}

// A slow reader takes the queue a piece at a time: writes stop in the middle of a
// slice, segments already written are dropped from the front while more are
// queued behind them, and the bytes still arrive whole and in order.
TEST_CASE("partial writes resume mid-slice and keep the order") {
  loop::Loop loop;
  Pair pair;
  int small = 4096;
  REQUIRE(::setsockopt(pair.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  net::Limits limits;
  auto conn =
      std::make_shared<net::Connection>(loop, net::Fd(pair.ours), 1, "test", limits);
  conn->start([](std::string_view in) { return in.size(); }, [] {});
  net::SharedBuffer shared;
  std::string expected, got;
  for (int i = 0; i < 3000; ++i) {
    std::string message = "<" + std::to_string(i) + std::string(20, '.') + ">";
    expected += message;
    if (i % 3 == 0)
      conn->send(message);  // private bytes between shared ones: separate segments
    else
      conn->send(shared.append(message));
    if (i % 500 == 499) {  // ~13 KB a turn, more than the socket buffer takes
      turns(loop, 1);
      CHECK(conn->queued() > 0);
      got += drain(pair.theirs);
    }
  }
  for (int i = 0; i < 200 && conn->queued() > 0; ++i) {
    turns(loop, 1);
    got += drain(pair.theirs);
  }
  got += drain(pair.theirs);
  CHECK(conn->queued() == 0);
  CHECK(got == expected);
}
