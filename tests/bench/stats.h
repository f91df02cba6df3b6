// What the load generator measures: a latency histogram, and a process's RSS
// and CPU time read from /proc.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

// Log-linear buckets (64 per power of two, so within 1.6% of the true value),
// in the spirit of HdrHistogram: constant memory however many samples.
class Histogram {
 public:
  Histogram() : counts_(128 + 64 * 64, 0) {}

  void add(uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    if (v > max_) max_ = v;
  }

  // The smallest bucket value with at least p% of the samples at or below it.
  uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.5);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want) return value(i);
    }
    return max_;
  }
  uint64_t max() const { return max_; }
  uint64_t count() const { return total_; }

 private:
  static size_t index(uint64_t v) {
    if (v < 128) return static_cast<size_t>(v);
    int msb = 63 - __builtin_clzll(v);  // >= 7
    int shift = msb - 6;
    uint64_t sub = v >> shift;  // 64..127
    return 128 + static_cast<size_t>(shift - 1) * 64 + static_cast<size_t>(sub - 64);
  }
  static uint64_t value(size_t i) {
    if (i < 128) return i;
    size_t shift = (i - 128) / 64 + 1;
    uint64_t sub = (i - 128) % 64 + 64;
    return sub << shift;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// VmRSS of the process, in kB (0 if unknown).
inline long proc_rss_kb(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// utime + stime of the process, in clock ticks (/proc/PID/stat fields 14, 15).
inline long proc_cpu_ticks(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = all.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(all.substr(paren + 2));
  std::string f;
  long utime = 0, stime = 0;
  // After the name: state is field 3, so utime (14) is the 12th from here.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return utime + stime;
}

}  // namespace bench
