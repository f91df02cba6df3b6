// loadgen: opens C clients of one lesson's protocol against a running chat
// server, has P of them post, and prints one JSON line of results.
//
//   loadgen --proto ws --port 8003 --clients 1000 --posters 10 --duration 5000
//
// Every post's text is "~P.S.T." (poster, sequence number, microseconds on this
// process's monotonic clock when the post was made, in fixed-width decimal: 8, 8
// and 16 digits) padded with 'x' to --size bytes, so each delivery carries its own
// timestamp: latency is post to delivery, measured by one clock. One message
// reaching one client counts once.
//
// Posting: with --rate R the posters share R posts a second between them; with
// --rate 0 ("flat out") each poster keeps --window posts in flight and posts the
// next as soon as one of its own comes back to it, so the server's own speed
// sets the pace. --mode idle posts nothing: it opens the clients, waits, and
// reports the server's memory per connection.
//
// Phases: connect (at most --connect-batch handshakes in flight at once, so the
// listen backlog never overflows), --warmup ms of posting that is not counted,
// --duration ms that is, then the report. The server's RSS and CPU come from
// /proc/PID (--pid). With --port2 (two nodes of a cluster, no front before them)
// the odd-numbered clients, posters among them, connect to the second port.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client.h"
#include "common/flags.h"
#include "common/loop.h"
#include "stats.h"

namespace bench {
namespace {

struct Options {
  std::string proto = "ws";
  int64_t port = 0;
  int64_t port2 = 0;
  int64_t pid = 0;
  int64_t clients = 1;
  int64_t posters = 1;
  int64_t rate = 0;
  int64_t window = 1;
  int64_t size = 64;
  int64_t warmup_ms = 1000;
  int64_t duration_ms = 5000;
  int64_t connect_batch = 200;
  int64_t setup_timeout_ms = 60000;
  std::string mode = "fanout";
};

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

class Driver : public Sink {
 public:
  Driver(loop::Loop& loop, Options o) : loop_(loop), o_(std::move(o)), env_{loop, *this} {
    env_.port = static_cast<int>(o_.port);
    env_.port2 = static_cast<int>(o_.port2);
    env_.join_room = o_.mode != "idle";
    outstanding_.assign(static_cast<size_t>(o_.posters), 0);
    seq_.assign(static_cast<size_t>(o_.posters), 0);
  }

  void run() {
    rss_before_kb_ = proc_rss_kb(o_.pid);
    setup_start_us_ = now_us();
    for (int64_t i = 0; i < o_.clients; ++i)
      clients_.push_back(make_client(o_.proto, env_, static_cast<int>(i)));
    if (!clients_[0]) {
      std::fprintf(stderr, "loadgen: unknown protocol %s\n", o_.proto.c_str());
      std::exit(2);
    }
    open_more();
    loop_.after(o_.setup_timeout_ms, [this] {
      if (phase_ == Phase::connecting) finish("setup timed out");
    });
    loop_.run();
  }

  // Sink
  void ready(Client&) override {
    ++ready_;
    --in_flight_;
    if (phase_ != Phase::connecting) return;
    open_more();
    if (ready_ + failed_ == o_.clients) all_ready();
  }

  void message(Client& c, std::string_view text) override {
    // "~PPPPPPPP.SSSSSSSS.TTTTTTTTTTTTTTTT.": poster, sequence, time posted (µs),
    // read at their fixed offsets (the sequence only makes each text unique).
    const char* s = text.data();
    if (text.size() < kStampSize || s[0] != '~' || s[kSeqAt - 1] != '.' ||
        s[kTimeAt - 1] != '.' || s[kStampSize - 1] != '.')
      return;
    uint64_t poster = eight_digits(s + kPosterAt);
    auto t = static_cast<int64_t>(eight_digits(s + kTimeAt) * 100'000'000 +
                                  eight_digits(s + kTimeAt + 8));
    int64_t now = now_us();
    if (phase_ == Phase::measuring) {
      ++delivered_;
      latency_.add(static_cast<uint64_t>(now > t ? now - t : 0));
    }
    // Flat out: a poster's own message back is the signal to post the next one.
    if (static_cast<int64_t>(poster) == c.index() && c.index() < o_.posters) {
      int& n = outstanding_[static_cast<size_t>(c.index())];
      if (n > 0) --n;
      if (o_.rate == 0 && posting_) top_up(c);
    }
  }

  void posted(Client&) override { ++acked_; }

  void failed(Client& c, const std::string& why) override {
    if (phase_ == Phase::done) return;
    ++failed_;
    if (errors_shown_++ < 5)
      std::fprintf(stderr, "loadgen: client %d: %s\n", c.index(), why.c_str());
    if (phase_ == Phase::connecting) {
      --in_flight_;
      open_more();
      if (ready_ + failed_ == o_.clients) all_ready();
    }
  }

 private:
  enum class Phase { connecting, warming, measuring, done };

  void open_more() {
    while (in_flight_ < o_.connect_batch && next_ < o_.clients) {
      ++in_flight_;
      clients_[static_cast<size_t>(next_++)]->start();
    }
  }

  void all_ready() {
    setup_ms_ = (now_us() - setup_start_us_) / 1000;
    if (o_.mode == "idle") {
      // Let the server settle (and Node collect garbage) before reading its RSS.
      phase_ = Phase::warming;
      loop_.after(o_.warmup_ms, [this] { finish(""); });
      return;
    }
    phase_ = Phase::warming;
    posting_ = true;
    if (o_.rate == 0) {
      for (int64_t i = 0; i < o_.posters; ++i)
        top_up(*clients_[static_cast<size_t>(i)]);
    } else {
      rate_start_us_ = now_us();
      tick();
    }
    loop_.after(o_.warmup_ms, [this] { start_measuring(); });
  }

  void start_measuring() {
    phase_ = Phase::measuring;
    measure_start_us_ = now_us();
    cpu_start_ = proc_cpu_ticks(o_.pid);
    self_start_ = self_cpu_us();
    loop_.after(o_.duration_ms, [this] { finish(""); });
  }

  // Flat out: keep `window` posts in flight for this poster.
  void top_up(Client& c) {
    if (c.dead()) return;
    int& n = outstanding_[static_cast<size_t>(c.index())];
    while (n < o_.window) {
      ++n;
      post(c);
    }
  }

  // Fixed rate: every 2 ms, post what the rate says is due by now, round robin.
  void tick() {
    if (!posting_) return;
    int64_t due = (now_us() - rate_start_us_) * o_.rate / 1'000'000;
    while (scheduled_ < due) {
      Client& c = *clients_[static_cast<size_t>(scheduled_ % o_.posters)];
      ++scheduled_;
      if (!c.dead()) post(c);
    }
    loop_.after(2, [this] { tick(); });
  }

  // The stamp at the head of every post's text, in fixed-width fields of 8 digits
  // so that a delivery is read at fixed offsets, 8 digits at a time: parsing
  // "~P.S.T" digit by digit up to each '.' cost ~260 instructions per delivery,
  // this ~40 (tests/bench/README.md, "What the profile says").
  static constexpr size_t kPosterAt = 1, kSeqAt = 10, kTimeAt = 19, kStampSize = 36;

  // Eight ASCII digits at p as a number, with three multiplications instead of
  // eight steps: the bytes are loaded as one little-endian word (x86, ARM), then
  // neighbouring digits are merged into 2-digit, 4-digit and 8-digit values, each
  // multiply computing high * 10^k + low in every lane at once (the well-known
  // SWAR trick, as in simdjson). Unchecked: the caller checked the separators.
  static uint64_t eight_digits(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v -= 0x3030303030303030;  // '0' from every byte
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FF;  // 2 digits per 16-bit lane
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFF;  // 4 digits per 32-bit lane
    return (v * 10000 + (v >> 32)) & 0xFFFFFFFF;  // 8 digits
  }

  void post(Client& c) {
    size_t i = static_cast<size_t>(c.index());
    // kStampSize bytes, as posters < 10^8 (main) and now_us() < 10^16.
    char stamp[80];
    int n = std::snprintf(stamp, sizeof stamp, "~%08zu.%08llu.%016lld.", i,
                          static_cast<unsigned long long>(seq_[i]++ % 100'000'000),
                          static_cast<long long>(now_us()));
    std::string text(stamp, static_cast<size_t>(n));
    if (text.size() < static_cast<size_t>(o_.size))
      text.append(static_cast<size_t>(o_.size) - text.size(), 'x');
    if (phase_ == Phase::measuring) ++posted_;
    c.post(std::move(text));
  }

  void finish(const std::string& note) {
    if (phase_ == Phase::done) return;
    Phase was = phase_;
    phase_ = Phase::done;
    posting_ = false;
    double seconds = was == Phase::measuring ? (now_us() - measure_start_us_) / 1e6 : 0;
    long rss_kb = proc_rss_kb(o_.pid);
    double cpu = 0, self = 0;
    if (seconds > 0) {
      cpu =
          (proc_cpu_ticks(o_.pid) - cpu_start_) * 100.0 / sysconf(_SC_CLK_TCK) / seconds;
      self = (self_cpu_us() - self_start_) / 1e4 / seconds;
    }
    std::ostringstream out;
    out << "{\"proto\":\"" << o_.proto << "\",\"mode\":\"" << o_.mode
        << "\",\"clients\":" << o_.clients << ",\"ready\":" << ready_
        << ",\"posters\":" << o_.posters << ",\"rate\":" << o_.rate
        << ",\"errors\":" << failed_ << ",\"setup_ms\":" << setup_ms_
        << ",\"seconds\":" << seconds << ",\"posted\":" << posted_
        << ",\"delivered\":" << delivered_
        << ",\"posted_per_s\":" << (seconds > 0 ? posted_ / seconds : 0)
        << ",\"delivered_per_s\":" << (seconds > 0 ? delivered_ / seconds : 0)
        << ",\"p50_us\":" << latency_.percentile(50)
        << ",\"p99_us\":" << latency_.percentile(99)
        << ",\"p999_us\":" << latency_.percentile(99.9)
        << ",\"max_us\":" << latency_.max() << ",\"rss_before_kb\":" << rss_before_kb_
        << ",\"rss_kb\":" << rss_kb << ",\"rss_per_conn_bytes\":"
        << (ready_ > 0 ? (rss_kb - rss_before_kb_) * 1024.0 / ready_ : 0)
        << ",\"server_cpu_pct\":" << cpu << ",\"loadgen_cpu_pct\":" << self
        << ",\"note\":\"" << note << "\"}\n";
    std::fputs(out.str().c_str(), stdout);
    std::fflush(stdout);
    // Leave without tearing 10,000 connections down one by one: the kernel
    // closes them all at exit.
    std::_Exit(0);
  }

  static int64_t self_cpu_us() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000LL + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
  }

  loop::Loop& loop_;
  Options o_;
  Env env_;
  std::vector<std::unique_ptr<Client>> clients_;
  Phase phase_ = Phase::connecting;
  int64_t next_ = 0, in_flight_ = 0, ready_ = 0, failed_ = 0, errors_shown_ = 0;
  std::vector<int> outstanding_;
  std::vector<uint64_t> seq_;
  bool posting_ = false;
  int64_t scheduled_ = 0, rate_start_us_ = 0;
  int64_t setup_start_us_ = 0, setup_ms_ = 0, measure_start_us_ = 0;
  uint64_t posted_ = 0, acked_ = 0, delivered_ = 0;
  Histogram latency_;
  long rss_before_kb_ = 0;
  long cpu_start_ = 0;
  int64_t self_start_ = 0;
};

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  bench::Options o;
  flags::Flags f("loadgen", "Load for the lessons' chat servers; prints one JSON line.");
  f.add("--proto", &o.proto, "poll (01), h2 (02), ws (03) or sio (04)");
  f.add("--port", &o.port, "the server's port on 127.0.0.1");
  f.add("--port2", &o.port2,
        "a second server's port: odd-numbered clients connect there (0: none)");
  f.add("--pid", &o.pid, "the server's process id, for its RSS and CPU (0: none)");
  f.add("--mode", &o.mode, "fanout (post and measure) or idle (memory per connection)");
  f.add("--clients", &o.clients, "connections to open");
  f.add("--posters", &o.posters, "how many of them post");
  f.add("--rate", &o.rate, "posts a second, shared by the posters (0: flat out)");
  f.add("--window", &o.window, "flat out: posts each poster keeps in flight");
  f.add("--size", &o.size, "bytes of text in each post");
  f.add("--warmup", &o.warmup_ms,
        "ms of load before measuring (idle: before reading RSS)");
  f.add("--duration", &o.duration_ms, "ms measured");
  f.add("--connect-batch", &o.connect_batch,
        "handshakes in flight at once while connecting");
  f.add("--setup-timeout", &o.setup_timeout_ms, "ms allowed for connecting");
  f.parse(argc, argv);
  // A poster's index has 8 digits in the stamp of its texts.
  if (o.port <= 0 || o.clients < 1 || o.posters < 0 || o.posters > o.clients ||
      o.posters >= 100'000'000) {
    std::fprintf(stderr, "loadgen: need --port, and 0 <= --posters <= --clients\n");
    return 2;
  }
  if (o.mode == "idle") o.posters = 0;
  // Each client is a file descriptor (two for a long-polling poster).
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  loop::Loop loop;
  bench::Driver driver(loop, o);
  driver.run();
  return 0;
}
