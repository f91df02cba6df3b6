// Shared by the HPACK fuzz targets (lesson2_hpack.cpp, lesson2_hpack_nghttp2.cpp):
// how their input is cut into header blocks, and a check that aborts, so that
// libFuzzer records the input that broke it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

inline void check(bool ok) {
  if (!ok) std::abort();
}

// The next block: a 2-byte length, then the bytes (or what is left).
inline std::string_view next_block(std::string_view& in) {
  if (in.size() < 2) {
    std::string_view b = in;
    in = {};
    return b;
  }
  const size_t n = static_cast<uint8_t>(in[0]) << 8 | static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  std::string_view b = in.substr(0, n);
  in.remove_prefix(b.size());
  return b;
}
