// Poller back end for any POSIX system: poll(2) over an array rebuilt on change.
#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <unordered_map>

#include "loop.h"

namespace loop {

struct Poller::State {
  std::vector<pollfd> fds;
  std::unordered_map<int, size_t> index;  // fd -> position in fds
};

static short to_native(int events) {
  return static_cast<short>(((events & kReadable) ? POLLIN : 0) |
                            ((events & kWritable) ? POLLOUT : 0));
}

Poller::Poller() : state_(std::make_unique<State>()) {}

Poller::~Poller() = default;

void Poller::set(int fd, int events, bool is_new) {
  if (is_new) {
    state_->index[fd] = state_->fds.size();
    state_->fds.push_back(pollfd{fd, to_native(events), 0});
  } else {
    state_->fds[state_->index.at(fd)].events = to_native(events);
  }
}

void Poller::remove(int fd) {
  auto it = state_->index.find(fd);
  if (it == state_->index.end()) return;
  // Swap with the last entry so removal is O(1).
  size_t pos = it->second;
  state_->fds[pos] = state_->fds.back();
  state_->index[state_->fds[pos].fd] = pos;
  state_->fds.pop_back();
  state_->index.erase(fd);
}

void Poller::wait(int timeout_ms, std::vector<std::pair<int, int>>& ready) {
  int n = poll(state_->fds.data(), state_->fds.size(), timeout_ms);
  if (n < 0 && errno != EINTR) std::perror("poll");
  for (size_t i = 0; n > 0 && i < state_->fds.size(); ++i) {
    short e = state_->fds[i].revents;
    if (!e) continue;
    --n;
    int events = 0;
    if (e & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) events |= kReadable;
    if (e & POLLOUT) events |= kWritable;
    ready.emplace_back(state_->fds[i].fd, events);
  }
}

const char* Poller::name() {
  return "poll";
}

}  // namespace loop
