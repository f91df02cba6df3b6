// UTF-8 (RFC 3629): a validator that can be fed a byte at a time (a WebSocket
// text message arrives in fragments that may split a character), and the
// checks the chat model makes on a field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace utf8 {

// Incremental validation. feed() returns false at the first byte that cannot
// be part of valid UTF-8, however the input was split; complete() is true when
// no character is left unfinished.
//
// RFC 3629 §4 refuses overlong forms (C0 80 for U+0000), UTF-16 surrogates
// (ED A0 80 .. ED BF BF) and anything above U+10FFFF (F4 90 80 80 and up).
// They are refused at the first byte that makes them so, as the table in §4
// allows: E0 must be followed by A0..BF, ED by 80..9F, F0 by 90..BF, F4 by 80..8F.
class Validator {
 public:
  bool feed(std::string_view bytes);
  bool complete() const { return need_ == 0; }
  void reset() { need_ = 0, lo_ = 0x80, hi_ = 0xBF; }

 private:
  int need_ = 0;  // continuation bytes still to come
  uint8_t lo_ = 0x80;  // the range the next continuation byte must be in
  uint8_t hi_ = 0xBF;
};

bool is_valid(std::string_view bytes);
// The number of code points, or nullopt when the bytes are not valid UTF-8.
std::optional<size_t> count_code_points(std::string_view bytes);
// True when a C0 control (U+0000..U+001F), DEL or a C1 control (U+0080..U+009F)
// is present. Assumes valid UTF-8.
bool has_control(std::string_view bytes);

}  // namespace utf8
