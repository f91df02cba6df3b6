// Log lines go to stderr, one per event; --trace output goes to stdout, after
// the URL line, so a test or a learner can read the protocol apart from the log.
#pragma once

#include <string>
#include <string_view>

namespace logs {

void info(const char* format, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* format, ...) __attribute__((format(printf, 1, 2)));

// --trace: enabled once at start-up; trace() prints only when it is on.
void enable_trace();
// --trace-page (common/trace_page.h): every trace line, printed or not, also goes
// to sink. tracing() is true when either is on: callers then format their lines.
void set_trace_sink(void (*sink)(std::string_view line));
bool tracing();
void trace(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Bytes as a readable one-line string: printable ASCII kept, the rest escaped
// (\r \n \xNN), cut after max bytes with a note of how many were left out.
std::string printable(std::string_view bytes, size_t max = 200);

}  // namespace logs
