// Fuzz target: the JSON reader and writer (common/json.h).
// Malformed input is an error, never a crash; whatever parses must write back
// to text that parses to the same text again (stringify is a fixed point).
// Both modes are fuzzed: strict, and with lone surrogates kept (the Socket.IO
// decoder's mode), where a strict refusal must be the only difference: whatever
// the strict mode takes, the lenient one takes and writes the same way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/utf8.h"

// Parses `in` with `options`; what parses must write back to a fixed point.
// Returns the written text, or nothing when `in` was refused.
static std::optional<std::string> round_trip(std::string_view in, json::ParseOptions options) {
  json::ParseResult r = json::parse(in, options);
  if (!r.value) {
    if (r.error.empty()) std::abort();  // a refusal always says why
    return std::nullopt;
  }
  std::string once = json::stringify(*r.value);
  // Strict text is UTF-8; kept lone surrogates are written back as \u escapes.
  if (!utf8::is_valid(once)) std::abort();
  json::ParseResult back = json::parse(once, options);
  if (!back.value) std::abort();
  if (json::stringify(*back.value) != once) std::abort();
  return once;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::optional<std::string> strict = round_trip(in, {});
  std::optional<std::string> lenient = round_trip(in, {.lone_surrogates = true});
  if (strict && (!lenient || *lenient != *strict)) std::abort();
  return 0;
}
