// Fuzz target: UTF-8 validation (common/utf8.h). Fed whole or cut anywhere into
// pieces, the validator must give the same verdict; the counters must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks where to cut the rest.
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  bool whole = utf8::is_valid(in);
  utf8::Validator v;
  bool pieces = v.feed(in.substr(0, cut)) && v.feed(in.substr(cut)) && v.complete();
  if (whole != pieces) std::abort();
  auto count = utf8::count_code_points(in);
  if (count.has_value() != whole) std::abort();
  if (count && *count > in.size()) std::abort();
  if (whole) utf8::has_control(in);
  return 0;
}
