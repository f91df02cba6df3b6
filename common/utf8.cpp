#include "utf8.h"

namespace utf8 {

bool Validator::feed(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (need_ > 0) {
      if (c < lo_ || c > hi_) return false;
      --need_;
      lo_ = 0x80, hi_ = 0xBF;
      continue;
    }
    if (c < 0x80) continue;
    // RFC 3629 §4: the first byte says how many follow, and for E0, ED, F0 and F4
    // narrows the range of the second byte.
    if (c >= 0xC2 && c <= 0xDF) {
      need_ = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need_ = 2;
      if (c == 0xE0) lo_ = 0xA0;  // overlong below U+0800
      if (c == 0xED) hi_ = 0x9F;  // U+D800..U+DFFF are surrogates, not characters
    } else if (c >= 0xF0 && c <= 0xF4) {
      need_ = 3;
      if (c == 0xF0) lo_ = 0x90;  // overlong below U+10000
      if (c == 0xF4) hi_ = 0x8F;  // above U+10FFFF
    } else {
      return false;  // 80..BF with nothing to continue, C0, C1 (overlong), F5..FF
    }
  }
  return true;
}

bool is_valid(std::string_view bytes) {
  Validator v;
  return v.feed(bytes) && v.complete();
}

std::optional<size_t> count_code_points(std::string_view bytes) {
  if (!is_valid(bytes)) return std::nullopt;
  size_t n = 0;
  for (unsigned char c : bytes)
    if ((c & 0xC0) != 0x80) ++n;  // every byte but a continuation starts one
  return n;
}

bool has_control(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x20 || c == 0x7F) return true;
    // U+0080..U+009F are encoded C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < bytes.size() &&
        static_cast<unsigned char>(bytes[i + 1]) <= 0x9F)
      return true;
  }
  return false;
}

}  // namespace utf8
