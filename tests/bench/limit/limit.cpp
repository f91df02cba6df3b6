// limit: what this machine can do at best for one bench scenario, with no server
// and no protocol in the way. Two processes joined by loopback TCP sockets, like a
// server and the load generator: the parent plays a server that does nothing but
// the system calls a delivery needs, the child plays the clients and measures.
//
//   limit --mode fanout: C client sockets and P poster sockets. Each poster keeps
//     W posts (--post bytes each) in flight on its own socket; the server reads
//     every post that is ready in one turn, answers each poster (--ack bytes, if
//     any), and sends ONE send() per client carrying one frame (--frame bytes) per
//     post of that turn. A poster posts again when its own frame reaches client
//     number P (its receiving socket), as in the loadgen's flat-out mode.
//     With --repoll R a client must ask again (R bytes) after each answer, as a
//     long poll does: the server answers a held client with --head bytes plus
//     every frame since its last answer, and holds it again when its request
//     arrives.
//   limit --mode echo: C connections, each with K requests (--request bytes) in
//     flight; the server answers all the requests one read brought with one
//     send() of K answers (--response bytes each), as wrk and h2load are served.
//
// It prints one JSON line with the loadgen's names: delivered_per_s (frames in
// fanout, answers in echo), p50_us/p99_us (a post to its poster's copy, or a
// request to its answer), server_cpu_pct (the parent's utime+stime over the
// window) and client_cpu_pct. Blocking send()s, recv() with MSG_DONTWAIT, epoll.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string mode = "fanout";
  int clients = 1000, posters = 10, window = 4, inflight = 1;
  size_t frame = 128, post = 100, ack = 0, repoll = 0, head = 0;
  size_t request = 64, response = 64;
  long warmup_ms = 1000, duration_ms = 5000;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

double now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::exit(0);  // the other side is gone: the run is over
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads what is ready without blocking; -1 when the peer closed.
ssize_t recv_ready(int fd, std::vector<char>& buf) {
  ssize_t r = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (r == 0) return -1;
  if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
  return r;
}

// N connected pairs over 127.0.0.1: first[i] is the server's end, second[i] the client's.
void socket_pairs(int n, std::vector<int>& server, std::vector<int>& client) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
      listen(lfd, 4096) < 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) < 0)
    die("listen on 127.0.0.1");
  int one = 1;
  for (int i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
      die("connect");
    int s = accept(lfd, nullptr, nullptr);
    if (s < 0) die("accept");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    server.push_back(s);
    client.push_back(c);
  }
  close(lfd);
}

// Adds fds to an epoll set, each tagged with base + its index.
void watch_more(int ep, const std::vector<int>& fds, int base) {
  for (size_t i = 0; i < fds.size(); i++) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(base) + i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl");
  }
}

int watch(const std::vector<int>& fds, int base) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  watch_more(ep, fds, base);
  return ep;
}

// ---- the server side (parent) -------------------------------------------------------

// A frame is --frame bytes: its first byte names the poster, the rest is filler.
void append_frame(std::string& out, int poster, size_t frame) {
  out.push_back(static_cast<char>(poster));
  out.append(frame - 1, 'x');
}

void serve_fanout(const Options& o, const std::vector<int>& clients,
                  const std::vector<int>& posts) {
  const int P = static_cast<int>(posts.size());
  int ep = watch(posts, 0);
  if (o.repoll) watch_more(ep, clients, P);
  std::vector<size_t> post_part(posts.size()), repoll_part(clients.size());
  std::vector<char> buf(1 << 16);
  std::vector<epoll_event> events(4096);
  const std::string ack(o.ack, 'a');
  // Long polling: every frame ever sent, and where each client's next answer starts.
  std::string log;
  std::vector<size_t> since(clients.size(), 0);
  std::vector<bool> held(clients.size(), true);
  std::string batch, answer;
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    batch.clear();
    for (int e = 0; e < n; e++) {
      int id = static_cast<int>(events[e].data.u64);
      bool is_post = id < P;
      int fd = is_post ? posts[id] : clients[id - P];
      for (;;) {
        ssize_t r = recv_ready(fd, buf);
        if (r < 0) return;
        if (r == 0) break;
        if (is_post) {
          size_t total = post_part[id] + static_cast<size_t>(r);
          for (size_t k = 0; k < total / o.post; k++) {
            append_frame(batch, id, o.frame);
            if (o.ack) send_all(fd, ack.data(), ack.size());
          }
          post_part[id] = total % o.post;
        } else {
          size_t& part = repoll_part[id - P];
          part += static_cast<size_t>(r);
          if (part >= o.repoll) held[id - P] = true;
          part %= o.repoll;
        }
        if (static_cast<size_t>(r) < buf.size()) break;
      }
    }
    if (!o.repoll) {
      // One send() per client per turn, all of the turn's frames in it.
      if (!batch.empty())
        for (int fd : clients)
          send_all(fd, batch.data(), batch.size());
      continue;
    }
    log += batch;
    for (size_t c = 0; c < clients.size(); c++) {
      if (!held[c] || since[c] == log.size()) continue;
      // The answer: --head bytes (a frame count in the first four), then the frames.
      uint32_t count = static_cast<uint32_t>((log.size() - since[c]) / o.frame);
      answer.assign(o.head, 'h');
      std::memcpy(answer.data(), &count, sizeof count);
      answer.append(log, since[c], std::string::npos);
      send_all(clients[c], answer.data(), answer.size());
      since[c] = log.size();
      held[c] = false;
    }
  }
}

void serve_echo(const Options& o, const std::vector<int>& conns) {
  int ep = watch(conns, 0);
  std::vector<size_t> part(conns.size());
  std::vector<char> buf(1 << 16);
  std::vector<epoll_event> events(4096);
  std::string answers;
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    for (int e = 0; e < n; e++) {
      size_t id = events[e].data.u64;
      ssize_t r = recv_ready(conns[id], buf);
      if (r < 0) return;
      size_t total = part[id] + static_cast<size_t>(r);
      answers.assign(total / o.request * o.response, 'r');
      part[id] = total % o.request;
      if (!answers.empty()) send_all(conns[id], answers.data(), answers.size());
    }
  }
}

// ---- the client side (child): load and measurement ----------------------------------

double cpu_seconds(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char text[1024];
  size_t n = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  text[n] = 0;
  const char* p = std::strrchr(text, ')');  // fields 14 and 15 follow the name
  unsigned long utime = 0, stime = 0;
  if (p)
    std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                &stime);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Meter {
  double start = 0, end = 0;
  long delivered = 0;
  std::vector<float> latency_us;
  double server_cpu0 = 0, own_cpu0 = 0, server_cpu = 0, own_cpu = 0;
  bool measuring(double t) const { return t >= start && t < end; }
};

double own_cpu() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Runs until the window is over; `on_event(id, t)` handles one readable socket.
template <typename F>
void drive(int ep, Meter& m, F on_event) {
  std::vector<epoll_event> events(4096);
  bool started = false;
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    double t = now_us();
    if (!started && t >= m.start) {
      started = true;
      m.server_cpu0 = cpu_seconds(getppid());
      m.own_cpu0 = own_cpu();
    }
    if (t >= m.end) {
      m.server_cpu = cpu_seconds(getppid()) - m.server_cpu0;
      m.own_cpu = own_cpu() - m.own_cpu0;
      return;
    }
    for (int e = 0; e < n; e++)
      on_event(events[e].data.u64, t);
  }
}

void load_fanout(const Options& o, const std::vector<int>& clients,
                 const std::vector<int>& posts, Meter& m) {
  const int P = static_cast<int>(posts.size());
  int ep = watch(clients, 0);
  watch_more(ep, posts, static_cast<int>(clients.size()));
  std::vector<size_t> pos(clients.size(), 0);  // offset in the current frame or answer
  std::vector<size_t> frames_left(clients.size(), 0);
  std::vector<uint32_t> count(clients.size(), 0);  // long polling: the answer's frames
  std::vector<std::deque<double>> sent(posts.size());
  std::vector<char> buf(1 << 16);
  const std::string post(o.post, 'p'), repoll(o.repoll, 'g');
  auto send_post = [&](int p, double t) {
    sent[p].push_back(t);
    send_all(posts[p], post.data(), post.size());
  };
  double t0 = now_us();
  for (int p = 0; p < P; p++)
    for (int w = 0; w < o.window; w++)
      send_post(p, t0);
  // One frame has begun on client c with byte `poster`.
  auto on_frame = [&](size_t c, int poster, double t) {
    if (m.measuring(t)) m.delivered++;
    if (static_cast<int>(c) == poster && poster < P) {
      if (m.measuring(t))
        m.latency_us.push_back(static_cast<float>(t - sent[poster].front()));
      sent[poster].pop_front();
      send_post(poster, t);
    }
  };
  drive(ep, m, [&](uint64_t id, double t) {
    if (id >= clients.size()) {  // a poster's answer: read and dropped
      recv_ready(posts[id - clients.size()], buf);
      return;
    }
    ssize_t r = recv_ready(clients[id], buf);
    if (r < 0) std::exit(1);
    size_t& at = pos[id];
    for (size_t i = 0; i < static_cast<size_t>(r);) {
      if (o.repoll && frames_left[id] == 0) {
        // Reading an answer's head; its first four bytes are the frame count.
        if (at < sizeof(uint32_t)) reinterpret_cast<char*>(&count[id])[at] = buf[i];
        i++;
        if (++at == o.head) {
          at = 0;
          frames_left[id] = count[id];
        }
        continue;
      }
      if (at == 0) on_frame(id, static_cast<unsigned char>(buf[i]), t);
      size_t take = std::min(o.frame - at, static_cast<size_t>(r) - i);
      i += take;
      at += take;
      if (at == o.frame) {
        at = 0;
        if (o.repoll && --frames_left[id] == 0)
          send_all(clients[id], repoll.data(), repoll.size());
      }
    }
  });
}

void load_echo(const Options& o, const std::vector<int>& conns, Meter& m) {
  int ep = watch(conns, 0);
  std::vector<size_t> part(conns.size());
  std::vector<std::deque<double>> sent(conns.size());
  std::vector<char> buf(1 << 16);
  std::string requests;
  auto send_requests = [&](size_t c, int k, double t) {
    requests.assign(static_cast<size_t>(k) * o.request, 'q');
    for (int i = 0; i < k; i++)
      sent[c].push_back(t);
    send_all(conns[c], requests.data(), requests.size());
  };
  double t0 = now_us();
  for (size_t c = 0; c < conns.size(); c++)
    send_requests(c, o.inflight, t0);
  drive(ep, m, [&](uint64_t id, double t) {
    ssize_t r = recv_ready(conns[id], buf);
    if (r < 0) std::exit(1);
    size_t total = part[id] + static_cast<size_t>(r);
    int done = static_cast<int>(total / o.response);
    part[id] = total % o.response;
    for (int i = 0; i < done; i++) {
      if (m.measuring(t)) {
        m.delivered++;
        m.latency_us.push_back(static_cast<float>(t - sent[id].front()));
      }
      sent[id].pop_front();
    }
    if (done) send_requests(id, done, t);
  });
}

double percentile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  size_t k =
      std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

void report(const Options& o, Meter& m) {
  double seconds = (m.end - m.start) / 1e6;
  double p50 = percentile(m.latency_us, 0.50), p99 = percentile(m.latency_us, 0.99);
  std::printf(
      "{\"probe\":\"%s\",\"clients\":%d,\"posters\":%d,\"window\":%d,\"inflight\":%d,"
      "\"seconds\":%.3f,\"round_trips\":%zu,\"delivered\":%ld,\"delivered_per_s\":%.0f,"
      "\"p50_us\":%.0f,\"p99_us\":%.0f,\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f}\n",
      o.mode.c_str(), o.clients, o.posters, o.window, o.inflight, seconds,
      m.latency_us.size(), m.delivered, static_cast<double>(m.delivered) / seconds, p50,
      p99, 100 * m.server_cpu / seconds, 100 * m.own_cpu / seconds);
  std::fflush(stdout);
}

void usage() {
  std::fprintf(stderr,
               "usage: limit --mode fanout [--clients N --posters P --window W --frame B "
               "--post B --ack B --repoll B --head B]\n"
               "       limit --mode echo [--clients N --inflight K --request B "
               "--response B]\n"
               "       both: --warmup MS --duration MS; prints one JSON line\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    long n = std::atol(v);
    if (k == "--mode")
      o.mode = v;
    else if (k == "--clients")
      o.clients = static_cast<int>(n);
    else if (k == "--posters")
      o.posters = static_cast<int>(n);
    else if (k == "--window")
      o.window = static_cast<int>(n);
    else if (k == "--inflight")
      o.inflight = static_cast<int>(n);
    else if (k == "--frame")
      o.frame = static_cast<size_t>(n);
    else if (k == "--post")
      o.post = static_cast<size_t>(n);
    else if (k == "--ack")
      o.ack = static_cast<size_t>(n);
    else if (k == "--repoll")
      o.repoll = static_cast<size_t>(n);
    else if (k == "--head")
      o.head = static_cast<size_t>(n);
    else if (k == "--request")
      o.request = static_cast<size_t>(n);
    else if (k == "--response")
      o.response = static_cast<size_t>(n);
    else if (k == "--warmup")
      o.warmup_ms = n;
    else if (k == "--duration")
      o.duration_ms = n;
    else
      usage();
  }
  bool fanout = o.mode == "fanout";
  if ((!fanout && o.mode != "echo") || o.clients < 1 || o.frame < 1 || o.post < 1 ||
      o.request < 1 || o.response < 1 || o.inflight < 1 || o.window < 1 ||
      (fanout && (o.posters < 1 || o.posters > o.clients || o.posters > 255)) ||
      (o.repoll && o.head < 4))
    usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  bool fanout = o.mode == "fanout";
  std::vector<int> s_clients, c_clients, s_posts, c_posts;
  socket_pairs(o.clients, s_clients, c_clients);
  if (fanout) socket_pairs(o.posters, s_posts, c_posts);

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    for (int fd : s_clients)
      close(fd);
    for (int fd : s_posts)
      close(fd);
    Meter m;
    m.start = now_us() + static_cast<double>(o.warmup_ms) * 1000;
    m.end = m.start + static_cast<double>(o.duration_ms) * 1000;
    if (fanout)
      load_fanout(o, c_clients, c_posts, m);
    else
      load_echo(o, c_clients, m);
    report(o, m);
    _exit(0);  // closing the sockets ends the parent's loop
  }
  for (int fd : c_clients)
    close(fd);
  for (int fd : c_posts)
    close(fd);
  if (fanout)
    serve_fanout(o, s_clients, s_posts);
  else
    serve_echo(o, s_clients);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
