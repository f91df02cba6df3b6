// The back-end-independent half of the event loop: watches and timers.
#include "loop.h"

#include <algorithm>
#include <chrono>

namespace loop {

Loop::Watch* Loop::find_watch(int fd) {
  size_t block = static_cast<size_t>(fd) / kWatchBlock;
  if (fd < 0 || block >= watch_blocks_.size() || !watch_blocks_[block]) return nullptr;
  return &watch_blocks_[block][static_cast<size_t>(fd) % kWatchBlock];
}

Loop::Watch& Loop::watch_slot(int fd) {
  size_t block = static_cast<size_t>(fd) / kWatchBlock;
  if (block >= watch_blocks_.size()) watch_blocks_.resize(block + 1);
  if (!watch_blocks_[block])
    watch_blocks_[block] = std::make_unique<Watch[]>(kWatchBlock);
  return watch_blocks_[block][static_cast<size_t>(fd) % kWatchBlock];
}

void Loop::watch(int fd, int events, FdCallback callback) {
  Watch& w = watch_slot(fd);
  bool is_new = !w.watched;
  w.watched = true;
  w.callback = std::move(callback);
  w.events = events;
  ++w.generation;
  poller_.set(fd, events, is_new);
}

void Loop::set_events(int fd, int events) {
  Watch* w = find_watch(fd);
  if (!w || !w->watched || w->events == events) return;
  w->events = events;
  poller_.set(fd, events, false);
}

void Loop::unwatch(int fd) {
  Watch* w = find_watch(fd);
  if (!w || !w->watched) return;
  w->watched = false;
  w->callback = nullptr;
  ++w->generation;
  poller_.remove(fd);
}

// The heap's order: std::push_heap keeps the "largest" on top, so "later" is
// the comparison that puts the soonest deadline there.
bool Loop::later(const HeapEntry& a, const HeapEntry& b) {
  return a.deadline != b.deadline ? a.deadline > b.deadline : a.seq > b.seq;
}

// The slot a TimerId names, if that timer is still armed.
Loop::TimerSlot* Loop::live_slot(TimerId id) {
  size_t index = static_cast<size_t>(id & 0xffffffff);
  if (index >= slots_.size()) return nullptr;
  TimerSlot& slot = slots_[index];
  if (slot.generation != static_cast<uint32_t>(id >> 32)) return nullptr;
  return &slot;
}

TimerId Loop::after(int64_t ms, std::function<void()> callback) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  TimerSlot& slot = slots_[index];
  slot.callback = std::move(callback);
  TimerId id = (static_cast<TimerId>(slot.generation) << 32) | index;
  heap_.push_back(HeapEntry{now_ms() + ms, next_seq_++, id});
  std::push_heap(heap_.begin(), heap_.end(), later);
  return id;
}

void Loop::cancel(TimerId id) {
  TimerSlot* slot = live_slot(id);
  if (!slot) return;
  slot->callback = nullptr;
  next_generation(
      slot->generation);  // the id is dead: a later timer in this slot gets a new one
  free_slots_.push_back(static_cast<uint32_t>(slot - slots_.data()));
  // A timer re-armed on every message leaves a cancelled entry each time: once
  // they pass a quarter of the armed ones, drop them all (linear, and each pass
  // removes at least a fifth of the heap, so amortised O(1)). A quarter, not
  // all: the heap's capacity is idle memory too (at 2,000 idle WebSockets a
  // 2x bound left ~150 bytes of heap array per connection).
  size_t armed = timers();
  if (heap_.size() > 64 + armed + armed / 4) compact_timers();
}

void Loop::drop_cancelled_top() {
  while (!heap_.empty() && !live_slot(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

void Loop::compact_timers() {
  std::erase_if(heap_, [this](const HeapEntry& e) { return !live_slot(e.id); });
  std::make_heap(heap_.begin(), heap_.end(), later);
}

int64_t Loop::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void Loop::run_once() {
  int timeout = -1;
  drop_cancelled_top();
  if (!deferred_.empty()) {
    timeout = 0;  // work is waiting: look at the descriptors, but do not sleep
  } else if (!heap_.empty()) {
    int64_t wait = heap_.front().deadline - now_ms();
    timeout = wait < 0 ? 0 : static_cast<int>(wait);
  }
  ready_.clear();
  poller_.wait(timeout, ready_);
  for (auto [fd, events] : ready_) {
    // A callback may unwatch any fd, itself included, or watch its fd anew: it
    // runs from a local copy, put back only if its watch is still the same one.
    Watch* w = find_watch(fd);
    if (!w || !w->watched) continue;
    uint32_t generation = w->generation;
    FdCallback callback = std::move(w->callback);
    callback(events);
    w = find_watch(fd);  // blocks never move, but look it up the same way
    if (w->generation == generation) w->callback = std::move(callback);
  }
  int64_t now = now_ms();
  for (drop_cancelled_top(); !heap_.empty() && heap_.front().deadline <= now;
       drop_cancelled_top()) {
    TimerId id = heap_.front().id;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    TimerSlot& slot = slots_[id & 0xffffffff];
    std::function<void()> callback = std::move(slot.callback);
    slot.callback = nullptr;
    next_generation(slot.generation);  // fired: cancelling it now is harmless
    free_slots_.push_back(static_cast<uint32_t>(id & 0xffffffff));
    callback();
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
