// Poller back end for Linux: epoll(7), level-triggered.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "loop.h"

namespace loop {

struct Poller::State {
  int epfd = -1;
  epoll_event events[256];
};

static uint32_t to_native(int events) {
  uint32_t native = 0;
  if (events & kReadable) native |= EPOLLIN | EPOLLRDHUP;
  if (events & kWritable) native |= EPOLLOUT;
  return native;
}

Poller::Poller() : state_(std::make_unique<State>()) {
  state_->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (state_->epfd < 0) {
    std::perror("epoll_create1");
    std::exit(1);
  }
}

Poller::~Poller() {
  close(state_->epfd);
}

void Poller::set(int fd, int events, bool is_new) {
  epoll_event ev{};
  ev.events = to_native(events);
  ev.data.fd = fd;
  if (epoll_ctl(state_->epfd, is_new ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
    std::perror("epoll_ctl");
}

void Poller::remove(int fd) {
  epoll_ctl(state_->epfd, EPOLL_CTL_DEL, fd, nullptr);
}

void Poller::wait(int timeout_ms, std::vector<std::pair<int, int>>& ready) {
  int n = epoll_wait(state_->epfd, state_->events, 256, timeout_ms);
  if (n < 0 && errno != EINTR) std::perror("epoll_wait");
  for (int i = 0; i < n; ++i) {
    uint32_t e = state_->events[i].events;
    int events = 0;
    // Errors and hang-ups are reported as readable: the read() that follows sees them.
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) events |= kReadable;
    if (e & EPOLLOUT) events |= kWritable;
    int fd = state_->events[i].data.fd;  // a copy: epoll_event is packed
    ready.emplace_back(fd, events);
  }
}

const char* Poller::name() {
  return "epoll";
}

}  // namespace loop
