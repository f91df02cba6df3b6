// UTF-8 validation (common/utf8.h), whole and a byte at a time. The invalid
// sequences are the classes RFC 3629 §4 and §10 single out.
#include <doctest/doctest.h>

#include <string>

#include "common/utf8.h"

// Feeds bytes one at a time; returns the index of the first refused byte, or -1.
static int first_bad_byte(std::string_view bytes) {
  utf8::Validator v;
  for (size_t i = 0; i < bytes.size(); ++i)
    if (!v.feed(bytes.substr(i, 1))) return static_cast<int>(i);
  return -1;
}

TEST_CASE("valid text of every length of sequence") {
  for (std::string s :
       {"", "ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF",
        "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80"}) {
    CAPTURE(s);
    CHECK(utf8::is_valid(s));
    CHECK(first_bad_byte(s) == -1);
  }
  CHECK(utf8::count_code_points("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == 4u);
}

TEST_CASE(
    "RFC 3629 §10: overlong forms are refused at the first byte that makes them so") {
  CHECK(first_bad_byte("\xC0\x80") == 0);  // U+0000 in two bytes
  CHECK(first_bad_byte("\xC1\xBF") == 0);
  CHECK(first_bad_byte("\xE0\x80\xAF") == 1);  // '/' in three bytes
  CHECK(first_bad_byte("\xE0\x9F\xBF") == 1);
  CHECK(first_bad_byte("\xF0\x80\x80\xAF") == 1);
  CHECK(first_bad_byte("\xF0\x8F\xBF\xBF") == 1);
}

TEST_CASE("RFC 3629 §3: surrogates U+D800..U+DFFF are not characters") {
  CHECK(first_bad_byte("\xED\xA0\x80") == 1);
  CHECK(first_bad_byte("\xED\xBF\xBF") == 1);
  CHECK(!utf8::is_valid("\xED\xA0\xBD\xED\xB8\x80"));  // a CESU-8 pair
}

TEST_CASE("code points above U+10FFFF and bytes F5..FF are refused") {
  CHECK(first_bad_byte("\xF4\x90\x80\x80") == 1);
  CHECK(first_bad_byte("\xF5\x80\x80\x80") == 0);
  CHECK(first_bad_byte("ok\xFF") == 2);
  CHECK(first_bad_byte("\xFE") == 0);
}

TEST_CASE("stray continuation bytes, and a sequence cut short") {
  CHECK(first_bad_byte("\x80") == 0);
  CHECK(first_bad_byte("a\xBF") == 1);
  CHECK(first_bad_byte("\xC3"
                       "a") == 1);  // a lead byte followed by ASCII
  CHECK(first_bad_byte("\xE2\x82"
                       "a") == 2);
  utf8::Validator v;
  CHECK(v.feed("\xF0\x9F\x98"));  // fine so far, but not finished
  CHECK(!v.complete());
  CHECK(v.feed("\x80"));
  CHECK(v.complete());
  CHECK(!utf8::is_valid("\xE2\x82"));
  CHECK(utf8::count_code_points("\xE2\x82") == std::nullopt);
}

TEST_CASE("a character split across feeds is the same as whole") {
  std::string text = "h\xC3\xA9llo \xF0\x9F\x98\x80 w\xE2\x82\xACrld";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    utf8::Validator v;
    CHECK(v.feed(std::string_view(text).substr(0, cut)));
    CHECK(v.feed(std::string_view(text).substr(cut)));
    CHECK(v.complete());
  }
}

TEST_CASE("control characters: C0, DEL and C1 are found; others are not") {
  CHECK(utf8::has_control("a\nb"));
  CHECK(utf8::has_control("\x7F"));
  CHECK(utf8::has_control("\xC2\x85"));  // U+0085 NEXT LINE
  CHECK(utf8::has_control("\xC2\x9F"));
  CHECK(!utf8::has_control("\xC2\xA0"));  // U+00A0 NO-BREAK SPACE is printable
  CHECK(!utf8::has_control("plain \xE2\x82\xAC text"));
}
