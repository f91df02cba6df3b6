// The back-end-independent half of the event loop: watches and timers.
#include "loop.h"

#include <chrono>

namespace loop {

void Loop::watch(int fd, int events, FdCallback callback) {
  bool is_new = !watches_.count(fd);
  watches_[fd] = Watch{events, std::make_shared<FdCallback>(std::move(callback))};
  poller_.set(fd, events, is_new);
}

void Loop::set_events(int fd, int events) {
  auto it = watches_.find(fd);
  if (it == watches_.end() || it->second.events == events) return;
  it->second.events = events;
  poller_.set(fd, events, false);
}

void Loop::unwatch(int fd) {
  if (watches_.erase(fd)) poller_.remove(fd);
}

TimerId Loop::after(int64_t ms, std::function<void()> callback) {
  TimerId id = next_timer_++;
  int64_t deadline = now_ms() + ms;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  deadlines_[id] = deadline;
  return id;
}

void Loop::cancel(TimerId id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  timers_.erase({it->second, id});
  deadlines_.erase(it);
}

int64_t Loop::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void Loop::run_once() {
  int timeout = -1;
  if (!deferred_.empty()) {
    timeout = 0;  // work is waiting: look at the descriptors, but do not sleep
  } else if (!timers_.empty()) {
    int64_t wait = timers_.begin()->first.first - now_ms();
    timeout = wait < 0 ? 0 : static_cast<int>(wait);
  }
  ready_.clear();
  poller_.wait(timeout, ready_);
  for (auto [fd, events] : ready_) {
    // A callback may unwatch any fd, itself included: look each one up again,
    // and hold the callback alive while it runs.
    auto it = watches_.find(fd);
    if (it == watches_.end()) continue;
    std::shared_ptr<FdCallback> callback = it->second.callback;
    (*callback)(events);
  }
  int64_t now = now_ms();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    deadlines_.erase(node.key().second);
    node.mapped()();
  }
  // Deferred work may defer more (a write that closes a connection...): run
  // until none is left.
  // The two vectors trade places and keep their capacity: a turn that writes to
  // a thousand connections allocates nothing here.
  while (!deferred_.empty()) {
    running_.swap(deferred_);
    for (auto& callback : running_)
      callback();
    running_.clear();
  }
}

void Loop::run() {
  stopped_ = false;
  while (!stopped_)
    run_once();
}

}  // namespace loop
