// The event loop's own rules: timers fire in deadline order (ties in the order
// they were set), a cancelled timer never fires, and a watch callback may unwatch
// or replace itself while it runs.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/loop.h"

TEST_CASE("timers fire by deadline, ties in the order they were set") {
  loop::Loop loop;
  std::string order;
  loop.after(20, [&] { order += 'c'; });
  loop.after(0, [&] { order += 'a'; });
  loop.after(0, [&] { order += 'b'; });
  loop.after(20, [&] {
    order += 'd';
    loop.stop();
  });
  loop.run();
  CHECK(order == "abcd");
}

TEST_CASE("a cancelled timer never fires, and cancelling twice is harmless") {
  loop::Loop loop;
  int fired = 0;
  loop::TimerId a = loop.after(0, [&] { fired += 1; });
  loop.after(0, [&] { fired += 10; });
  loop.cancel(a);
  loop.cancel(a);
  loop.after(5, [&] { loop.stop(); });
  loop.run();
  CHECK(fired == 10);
  CHECK(loop.timers() == 0);
}

TEST_CASE("a timer id is never reused: cancelling a fired timer spares its successor") {
  loop::Loop loop;
  int fired = 0;
  loop::TimerId first = loop.after(0, [&] { ++fired; });
  loop.run_once();
  REQUIRE(fired == 1);
  loop::TimerId second = loop.after(0, [&] { ++fired; });
  CHECK(second != first);
  loop.cancel(first);  // fired already: must not cancel `second`
  loop.run_once();
  CHECK(fired == 2);
}

TEST_CASE("timers re-armed again and again keep the loop's memory bounded") {
  // A keepalive cancels and re-arms its timer on every message: the cancelled
  // entries must not pile up until their deadlines pass.
  loop::Loop loop;
  loop::TimerId t = 0;
  for (int i = 0; i < 100000; ++i) {
    loop.cancel(t);
    t = loop.after(60000, [] {});
  }
  CHECK(loop.timers() == 1);
  CHECK(loop.timer_entries() < 1000);
}

TEST_CASE("a watch callback may unwatch itself, or watch its fd anew, while it runs") {
  loop::Loop loop;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  REQUIRE(write(fds[1], "x", 1) == 1);
  std::vector<std::string> seen;
  // The first callback replaces itself; the second removes itself.
  loop.watch(fds[0], loop::kReadable, [&, big = std::string(64, 'a')](int) {
    seen.push_back("first " + std::to_string(big.size()));
    loop.watch(fds[0], loop::kReadable, [&, big = std::string(64, 'b')](int) {
      seen.push_back("second " + big.substr(0, 1));
      loop.unwatch(fds[0]);
    });
    seen.push_back("first still " + big.substr(0, 1));
  });
  loop.run_once();  // the first callback runs and replaces itself
  loop.run_once();  // the second runs and unwatches (a third turn would wait forever)
  CHECK(seen == std::vector<std::string>{"first 64", "first still a", "second b"});
  close(fds[0]);
  close(fds[1]);
}
