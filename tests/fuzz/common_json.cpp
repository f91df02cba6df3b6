// Fuzz target: the JSON reader and writer (common/json.h).
// Malformed input is an error, never a crash; whatever parses must write back
// to text that parses to the same text again (stringify is a fixed point).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  json::ParseResult r = json::parse(in);
  if (!r.value) {
    if (r.error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  std::string once = json::stringify(*r.value);
  if (!utf8::is_valid(once)) std::abort();
  json::ParseResult back = json::parse(once);
  if (!back.value) std::abort();
  if (json::stringify(*back.value) != once) std::abort();
  return 0;
}
