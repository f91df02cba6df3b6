// A single-threaded event loop in the spirit of Redis's ae.c: watch file
// descriptors, run millisecond timers, call back. Nothing here blocks except
// Loop::run_once, which waits for the next event or timer.
//
// Two back ends implement the Poller declared below, function for function in
// the same order, so they diff cleanly: loop_epoll.cpp (Linux) and loop_poll.cpp
// (any POSIX system; `make POLL=1` forces it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loop {

constexpr int kReadable = 1;
constexpr int kWritable = 2;

using FdCallback = std::function<void(int events)>;
using TimerId = uint64_t;

// The back end: a set of (fd, events) and a wait that reports which are ready.
class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  void set(int fd, int events, bool is_new);
  void remove(int fd);
  // Appends (fd, events) pairs that are ready; waits at most timeout_ms (-1: forever).
  void wait(int timeout_ms, std::vector<std::pair<int, int>>& ready);
  static const char* name();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Loop {
 public:
  // Starts watching fd for events (kReadable | kWritable), or changes what is watched.
  void watch(int fd, int events, FdCallback callback);
  void set_events(int fd, int events);
  void unwatch(int fd);

  // Calls callback once, after ms milliseconds. Cancelling a fired timer is harmless.
  TimerId after(int64_t ms, std::function<void()> callback);
  void cancel(TimerId id);

  // Calls callback at the end of this turn of the loop, after every ready
  // descriptor and due timer: for work done once per turn, like writing out
  // what several handlers queued for one connection.
  void defer(std::function<void()> callback) { deferred_.push_back(std::move(callback)); }

  void run_once();
  void run();  // until stop()
  void stop() { stopped_ = true; }
  static int64_t now_ms();  // monotonic
  static const char* backend() { return Poller::name(); }

 private:
  struct Watch {
    int events;
    std::shared_ptr<FdCallback> callback;
  };
  Poller poller_;
  std::unordered_map<int, Watch> watches_;
  // Ordered by (deadline, id): the first entry is the next timer to fire.
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, int64_t> deadlines_;
  TimerId next_timer_ = 1;
  bool stopped_ = false;
  std::vector<std::pair<int, int>> ready_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;  // the batch of deferred_ being run
};

}  // namespace loop
