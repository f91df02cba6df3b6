#include "store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

namespace store {

namespace {

// The table for one byte at a time, computed once: entry n is the CRC of byte n.
std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[n] = c;
  }
  return table;
}

std::string errno_text(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool hex8(std::string_view s, uint32_t& out) {
  out = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<uint32_t>(c - 'a' + 10);
    else
      return false;
    out = out << 4 | d;
  }
  return true;
}

void put_hex8(std::string& out, uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int shift = 28; shift >= 0; shift -= 4)
    out += digits[(v >> shift) & 0xf];
}

std::string write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::strerror(errno);
    if (n == 0) return "write wrote nothing";
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return "";
}

}  // namespace

uint32_t crc32c(std::string_view bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_table();
  crc = ~crc;
  for (unsigned char b : bytes)
    crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string frame(std::string_view payload) {
  std::string out;
  out.reserve(kHeader + payload.size() + 1);
  put_hex8(out, static_cast<uint32_t>(payload.size()));
  out += ' ';
  put_hex8(out, crc32c(payload));
  out += ' ';
  out += payload;
  out += '\n';
  return out;
}

ReadResult read_record(std::string_view bytes) {
  using S = ReadResult::Status;
  auto error = [](std::string reason) { return ReadResult{S::error, 0, {}, reason}; };
  // Each header byte is checked as soon as it is there, so a torn header is
  // told apart from a bad one.
  for (size_t i = 0; i < kHeader && i < bytes.size(); ++i) {
    char c = bytes[i];
    bool space = i == 8 || i == 17;
    if (space ? c != ' ' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return error("header: expected 8 hex digits, a space, 8 hex digits, a space");
  }
  if (bytes.size() < kHeader) return ReadResult{S::need_more, 0, {}, ""};
  uint32_t length = 0, crc = 0;
  hex8(bytes.substr(0, 8), length);
  hex8(bytes.substr(9, 8), crc);
  if (length > kMaxPayload)
    return error("length: " + std::to_string(length) + " is over the 1 MiB limit");
  if (bytes.size() < kHeader + length + 1) return ReadResult{S::need_more, 0, {}, ""};
  std::string_view payload = bytes.substr(kHeader, length);
  if (bytes[kHeader + length] != '\n') return error("the payload must end in a newline");
  if (crc32c(payload) != crc) return error("CRC-32C does not match the payload");
  return ReadResult{S::done, kHeader + length + 1, payload, ""};
}

Scan scan(std::string_view bytes) {
  Scan result;
  size_t at = 0;
  while (at < bytes.size()) {
    ReadResult r = read_record(bytes.substr(at));
    if (r.status == ReadResult::Status::done) {
      result.records.push_back({at, r.payload});
      at += r.size;
      continue;
    }
    // A record is one line and a payload never holds a raw newline (JSON
    // escapes it), so a bad record with no newline before the file's last
    // byte is the last line: a torn append. Anything else is damage.
    std::string_view rest = bytes.substr(at);
    size_t newline = rest.find('\n');
    if (newline == std::string_view::npos || newline + 1 == rest.size()) {
      result.torn = rest.size();
    } else {
      result.error = r.status == ReadResult::Status::error
                         ? r.reason
                         : "a record cut short with more records after it";
      result.error_offset = at;
    }
    break;
  }
  result.good = at;
  return result;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

std::string File::open(const std::string& path, std::string& contents) {
  if (fd_ >= 0) ::close(fd_);
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_text("cannot open", path);
  contents.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_text("cannot read", path);
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  size_ = contents.size();
  return "";
}

std::string File::append(std::string_view bytes) {
  std::string error = write_all(fd_, bytes);
  if (error.empty()) {
    size_ += bytes.size();
    return "";
  }
  // Whatever part of the record did reach the file is cut back off.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
    error += std::string("; and cutting the half-written record failed: ") +
             std::strerror(errno);
  return "cannot write " + path_ + ": " + error;
}

std::string File::sync() {
  if (::fdatasync(fd_) != 0) return errno_text("fdatasync", path_);
  return "";
}

std::string File::truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    return errno_text("cannot truncate", path_);
  size_ = size;
  if (::fsync(fd_) != 0) return errno_text("fsync", path_);
  return "";
}

std::string File::replace(std::string_view contents) {
  const std::string temp = path_ + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_text("cannot create", temp);
  std::string error = write_all(fd, contents);
  if (!error.empty()) error = "cannot write " + temp + ": " + error;
  if (error.empty() && ::fsync(fd) != 0) error = errno_text("fsync", temp);
  ::close(fd);
  if (error.empty() && ::rename(temp.c_str(), path_.c_str()) != 0)
    error = errno_text("cannot rename over", path_);
  if (!error.empty()) {
    ::unlink(temp.c_str());
    return error;
  }
  // The rename is durable only once the directory holding it is.
  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno_text("cannot open the folder", dir);
  if (::fsync(dfd) != 0) error = errno_text("fsync", dir);
  ::close(dfd);
  if (!error.empty()) return error;
  // Appends go to the new file from now on.
  int nfd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (nfd < 0) return errno_text("cannot reopen", path_);
  ::close(fd_);
  fd_ = nfd;
  size_ = contents.size();
  return "";
}

std::string beside_binary(const char* argv0, const std::string& name) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path =
      n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv0);
  size_t slash = path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/" +
         name;
}

std::string random_id() {
  unsigned char bytes[8] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::read(fd, bytes, sizeof bytes) == sizeof bytes;
  if (fd >= 0) ::close(fd);
  uint64_t v = 0;
  for (unsigned char b : bytes)
    v = v << 8 | b;
  // Without /dev/urandom, the clock and the pid still tell two histories apart.
  if (!ok)
    v ^= static_cast<uint64_t>(::time(nullptr)) << 20 ^ static_cast<uint64_t>(::getpid());
  std::string out;
  put_hex8(out, static_cast<uint32_t>(v >> 32));
  put_hex8(out, static_cast<uint32_t>(v));
  return out;
}

}  // namespace store
