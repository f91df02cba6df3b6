// The strict JSON reader and the JSON.stringify-compatible writer (common/json.h).
#include <doctest/doctest.h>

#include <cmath>

#include "common/json.h"

static std::string roundtrip(std::string_view in) {
  json::ParseResult r = json::parse(in);
  REQUIRE_MESSAGE(r.value, r.error);
  return json::stringify(*r.value);
}

static bool refused(std::string_view in) {
  return !json::parse(in).value;
}

TEST_CASE("values read back as JSON.stringify writes them") {
  CHECK(roundtrip(R"( { "user" : "ada", "n" : [1, 2.5, -3e2, true, false, null] } )") ==
        R"({"user":"ada","n":[1,2.5,-300,true,false,null]})");
  CHECK(roundtrip("{}") == "{}");
  CHECK(roundtrip("[]") == "[]");
  CHECK(roundtrip("\"\"") == "\"\"");
  CHECK(roundtrip("0") == "0");
  CHECK(roundtrip("-0") == "0");
}

TEST_CASE("object keys keep their order; a repeated key keeps its first place") {
  CHECK(roundtrip(R"({"b":1,"a":2,"b":3})") == R"({"b":3,"a":2})");
}

TEST_CASE("numbers are written like Number.prototype.toString") {
  CHECK(roundtrip("1.5") == "1.5");
  CHECK(roundtrip("1.50") == "1.5");
  CHECK(roundtrip("100") == "100");
  CHECK(roundtrip("1e21") == "1e+21");
  CHECK(roundtrip("1e20") == "100000000000000000000");
  CHECK(roundtrip("0.000001") == "0.000001");
  CHECK(roundtrip("0.0000001") == "1e-7");
  CHECK(roundtrip("123456789012345678") == "123456789012345680");
  CHECK(roundtrip("-1.25e-10") == "-1.25e-10");
  CHECK(roundtrip("0.1") == "0.1");
  CHECK(roundtrip("1732280000000") == "1732280000000");
  CHECK(roundtrip("9007199254740993") == "9007199254740992");
}

TEST_CASE("string escapes: all of them, and \\u with surrogate pairs") {
  json::ParseResult r = json::parse(R"("a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u0000")");
  REQUIRE(r.value);
  CHECK(r.value->as_string() ==
        std::string("a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0", 19));
  // JSON.stringify escapes only quote, backslash and the C0 controls.
  CHECK(json::stringify(*r.value) ==
        "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\xc3\xa9\xf0\x9f\x98\x80\\u0000\"");
  CHECK(json::stringify(json::Value("\x01\x1f\x7f")) == "\"\\u0001\\u001f\x7f\"");
}

// The writer copies plain characters in runs: every escape must still land in its
// place, first, last, alone or between runs.
TEST_CASE("string escapes between runs of plain characters keep their places") {
  auto w = [](std::string s) { return json::stringify(json::Value(std::move(s))); };
  CHECK(w("plain text, no escape") == "\"plain text, no escape\"");
  CHECK(w("\"starts") == "\"\\\"starts\"");
  CHECK(w("ends\\") == "\"ends\\\\\"");
  CHECK(w("a\nb\tc") == "\"a\\nb\\tc\"");
  CHECK(w("\n\n") == "\"\\n\\n\"");
  CHECK(w(std::string("x\0y", 3)) == "\"x\\u0000y\"");
  // ED 9F BF is U+D7FF, not a surrogate: written as it is, like the bytes around it.
  CHECK(w("a\xed\x9f\xbf\"b") == "\"a\xed\x9f\xbf\\\"b\"");
  // A lone surrogate (WTF-8 ED A0 BD) between runs, as JSON.stringify writes it.
  CHECK(w("ab\xed\xa0\xbd"
          "cd") == "\"ab\\ud83dcd\"");
}

TEST_CASE("malformed input is refused with a reason, never guessed") {
  const char* bad[] = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":1,}",
      "{a:1}",
      "'a'",
      "01",
      "1.",
      ".5",
      "1e",
      "+1",
      "-",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      "[1 2]",
      "{\"a\" 1}",
      "\"abc",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u12g4\"",
      "1 2",
      "{} x",
      "\"\t\"",
      "\"\n\"",
      "1e999",
      "\"\\ud800\"",  // lone high surrogate
      "\"\\udc00\"",  // lone low surrogate
      "\"\\ud800\\u0041\"",  // high surrogate + non-surrogate
      "\"\xc3\x28\"",  // invalid UTF-8
      "\"\xed\xa0\x80\"",  // a surrogate encoded in UTF-8
      "\"\xc0\xaf\"",  // overlong
  };
  for (const char* in : bad) {
    INFO("input: " << in);
    json::ParseResult r = json::parse(in);
    CHECK(!r.value);
    CHECK(!r.error.empty());
  }
}

// RFC 8259 §8.2: "\uDEAD" is allowed by the grammar though it is no character;
// JavaScript reads it, so Socket.IO packets may hold it (ParseOptions).
TEST_CASE("RFC 8259 §8.2 lone surrogates: refused by default, kept as WTF-8 on request") {
  json::ParseOptions lenient;
  lenient.lone_surrogates = true;
  struct Case {
    const char* in;
    std::string bytes;  // what the string holds with the option
    const char* out;  // stringify of it: JSON.stringify's escapes
    const char* strict_error;
  };
  const Case cases[] = {
      {R"("cut \ud83d")", "cut \xed\xa0\xbd", R"("cut \ud83d")", "lone high surrogate"},
      {R"("\uDE00x")", "\xed\xb8\x80x", R"("\ude00x")", "lone low surrogate"},
      {R"("\ud800\u0041")",
       "\xed\xa0\x80"
       "A",
       R"("\ud800A")", "lone high surrogate"},
      // Two highs then a low: the second high pairs with the low, as in JavaScript.
      {R"("\ud83d\ud83d\ude00")", "\xed\xa0\xbd\xf0\x9f\x98\x80",
       "\"\\ud83d\xf0\x9f\x98\x80\"", "lone high surrogate"},
      {R"("\udbff")", "\xed\xaf\xbf", R"("\udbff")", "lone high surrogate"},
      {R"("\udfff\ud800")", "\xed\xbf\xbf\xed\xa0\x80", R"("\udfff\ud800")",
       "lone low surrogate"},
  };
  for (const Case& c : cases) {
    INFO("input: " << c.in);
    json::ParseResult strict = json::parse(c.in);
    CHECK(!strict.value);
    CHECK(strict.error.find(c.strict_error) == 0);
    json::ParseResult r = json::parse(c.in, lenient);
    REQUIRE_MESSAGE(r.value, r.error);
    CHECK(r.value->as_string() == c.bytes);
    CHECK(json::stringify(*r.value) == c.out);
    // What is written back reads back the same.
    json::ParseResult again = json::parse(json::stringify(*r.value), lenient);
    REQUIRE(again.value);
    CHECK(again.value->as_string() == c.bytes);
  }
  // A pair stays one character either way.
  json::ParseResult pair = json::parse(R"("\ud83d\ude00")", lenient);
  REQUIRE(pair.value);
  CHECK(pair.value->as_string() == "\xf0\x9f\x98\x80");
  // RFC 8259 §8.1: the text itself is UTF-8, so a raw surrogate is refused still.
  CHECK(!json::parse("\"\xed\xa0\x80\"", lenient).value);
  CHECK(!json::parse("\"\xc3\x28\"", lenient).value);
  // The option is for strings only: an unpaired high still needs a valid escape after.
  CHECK(!json::parse(R"("\ud83d\u12")", lenient).value);
  // Keys too, as JSON.parse.
  json::ParseResult key = json::parse(R"({"\ud800":1})", lenient);
  REQUIRE(key.value);
  CHECK(json::stringify(*key.value) == R"({"\ud800":1})");
}

TEST_CASE("nesting is limited to 64 levels") {
  CHECK(!refused(std::string(64, '[') + std::string(64, ']')));
  CHECK(refused(std::string(66, '[') + std::string(66, ']')));
  CHECK(refused(std::string(100000, '[')));
}

TEST_CASE("building values and looking up members") {
  json::Value v(json::Object{});
  v.set("type", "message");
  v.set("id", 7);
  v.set("type", "post");
  CHECK(json::stringify(v) == R"({"type":"post","id":7})");
  REQUIRE(v.find("id"));
  CHECK(v.find("id")->as_number() == 7);
  CHECK(!v.find("nope"));
}
