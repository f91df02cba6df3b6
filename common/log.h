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
bool tracing();
void trace(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Bytes as a readable one-line string: printable ASCII kept, the rest escaped
// (\r \n \xNN), cut after max bytes with a note of how many were left out.
std::string printable(std::string_view bytes, size_t max = 200);

}  // namespace logs
