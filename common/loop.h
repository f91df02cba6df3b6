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
#include <memory>
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
  // Never returns 0, so callers may keep 0 for "no timer".
  TimerId after(int64_t ms, std::function<void()> callback);
  void cancel(TimerId id);
  size_t timers() const { return slots_.size() - free_slots_.size(); }  // armed
  size_t timer_entries() const { return heap_.size(); }  // armed + cancelled, for tests

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
  // Memory per idle connection is a figure the lessons are measured by
  // (tests/bench/README.md, item 15), so a watch and a timer are plain slots in
  // arrays rather than nodes of a map: ~80 bytes saved per watched descriptor,
  // ~60 per armed timer.
  //
  // Watches: indexed by fd, in blocks that never move (a callback may watch a new
  // fd while it runs). `generation` changes with every watch/unwatch, so
  // run_once() can tell whether a callback replaced or removed itself.
  struct Watch {
    FdCallback callback;  // moved out while it runs
    int events = 0;
    uint32_t generation = 0;
    bool watched = false;
  };
  static constexpr size_t kWatchBlock = 256;
  Watch* find_watch(int fd);
  Watch& watch_slot(int fd);  // grows the table
  std::vector<std::unique_ptr<Watch[]>> watch_blocks_;

  // Timers: a binary min-heap of (deadline, seq) over slots that hold the
  // callbacks. A TimerId is a slot and its generation; cancel() empties the slot
  // and leaves the heap entry to be skipped when it comes up (or dropped by
  // compact_timers() once they pass a quarter of the armed ones).
  struct TimerSlot {
    std::function<void()> callback;
    uint32_t generation = 1;
  };
  struct HeapEntry {
    int64_t deadline;
    uint64_t seq;  // ties fire in the order they were set
    TimerId id;
  };
  static bool later(const HeapEntry& a, const HeapEntry& b);
  static void next_generation(uint32_t& g) {
    g = g == UINT32_MAX ? 1 : g + 1;
  }  // never 0
  TimerSlot* live_slot(TimerId id);
  void drop_cancelled_top();
  void compact_timers();
  std::vector<HeapEntry> heap_;
  std::vector<TimerSlot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_seq_ = 0;

  Poller poller_;
  bool stopped_ = false;
  std::vector<std::pair<int, int>> ready_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;  // the batch of deferred_ being run
};

}  // namespace loop
