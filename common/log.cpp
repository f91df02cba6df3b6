#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace logs {

static bool trace_on = false;
static void (*trace_sink)(std::string_view) = nullptr;

static void emit(FILE* out, const char* level, const char* format, va_list args) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::fprintf(out, "%s %s", stamp, level);
  std::vfprintf(out, format, args);
  std::fputc('\n', out);
  std::fflush(out);
}

void info(const char* format, ...) {
  va_list args;
  va_start(args, format);
  emit(stderr, "", format, args);
  va_end(args);
}

void warn(const char* format, ...) {
  va_list args;
  va_start(args, format);
  emit(stderr, "warning: ", format, args);
  va_end(args);
}

void enable_trace() {
  trace_on = true;
}
void set_trace_sink(void (*sink)(std::string_view)) {
  trace_sink = sink;
}
bool tracing() {
  return trace_on || trace_sink;
}

void trace(const char* format, ...) {
  if (!trace_on && !trace_sink) return;
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  char small[512];
  const int n = std::vsnprintf(small, sizeof small, format, args);
  std::string line;
  if (n >= 0 && static_cast<size_t>(n) < sizeof small) {
    line.assign(small, static_cast<size_t>(n));
  } else if (n >= 0) {
    line.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(line.data(), line.size(), format, again);
    line.resize(static_cast<size_t>(n));
  }
  va_end(again);
  va_end(args);
  if (trace_on) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (trace_sink) trace_sink(line);
}

std::string printable(std::string_view bytes, size_t max) {
  std::string out;
  size_t n = bytes.size() < max ? bytes.size() : max;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (n < bytes.size())
    out += "... (" + std::to_string(bytes.size() - n) + " more bytes)";
  return out;
}

}  // namespace logs
