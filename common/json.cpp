#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "utf8.h"

namespace json {

Value::Value(Array a) : type_(Type::array), array_(std::move(a)) {}
Value::Value(Object o) : type_(Type::object), object_(std::move(o)) {}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : object_)
    if (k == key) return &v;
  return nullptr;
}

Value& Value::set(std::string key, Value value) {
  type_ = Type::object;
  for (auto& [k, v] : object_)
    if (k == key) return v = std::move(value);
  object_.emplace_back(std::move(key), std::move(value));
  return object_.back().second;
}

namespace {

constexpr int kMaxDepth = 64;

// A recursive-descent reader over the whole text (RFC 8259 §2-§7).
class Reader {
 public:
  Reader(std::string_view text, ParseOptions options) : s_(text), options_(options) {}

  ParseResult run() {
    ParseResult r;
    Value v;
    skip_space();
    if (read_value(v, 0)) {
      skip_space();
      if (pos_ == s_.size()) {
        r.value = std::move(v);
        return r;
      }
      fail("unexpected data after the JSON value");
    }
    r.error = error_ + " at byte " + std::to_string(pos_);
    return r;
  }

 private:
  bool fail(const char* why) {
    if (error_.empty()) error_ = why;
    return false;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_space() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool read_value(Value& out, int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 64");
    switch (peek()) {
      case '{':
        return read_object(out, depth);
      case '[':
        return read_array(out, depth);
      case '"': {
        std::string s;
        if (!read_string(s)) return false;
        out = Value(std::move(s));
        return true;
      }
      case 't':
        out = Value(true);
        return literal("true");
      case 'f':
        out = Value(false);
        return literal("false");
      case 'n':
        out = Value();
        return literal("null");
      default:
        return read_number(out);
    }
  }

  bool read_object(Value& out, int depth) {
    ++pos_;  // {
    out = Value(Object{});
    skip_space();
    if (peek() == '}') return ++pos_, true;
    for (;;) {
      skip_space();
      if (peek() != '"') return fail("expected a string key");
      std::string key;
      if (!read_string(key)) return false;
      skip_space();
      if (peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_space();
      Value v;
      if (!read_value(v, depth + 1)) return false;
      // A repeated key keeps its first position and its last value, as JSON.parse does.
      out.set(std::move(key), std::move(v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') return ++pos_, true;
      return fail("expected ',' or '}'");
    }
  }

  bool read_array(Value& out, int depth) {
    ++pos_;  // [
    out = Value(Array{});
    skip_space();
    if (peek() == ']') return ++pos_, true;
    for (;;) {
      skip_space();
      Value v;
      if (!read_value(v, depth + 1)) return false;
      out.as_array().push_back(std::move(v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') return ++pos_, true;
      return fail("expected ',' or ']'");
    }
  }

  bool read_hex4(uint32_t& out) {
    if (s_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= c - '0';
      else if (c >= 'a' && c <= 'f')
        out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        out |= c - 'A' + 10;
      else
        return fail("invalid hex digit in \\u escape");
    }
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool read_string(std::string& out) {
    ++pos_;  // "
    for (;;) {
      if (at_end()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return fail("control character in string (must be escaped)");
      if (c != '\\') {
        // Copy a run of plain bytes at once. It ends at an ASCII byte, which no
        // UTF-8 sequence contains, so each run is checked as UTF-8 on its own.
        size_t run = pos_;
        while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' &&
               static_cast<unsigned char>(s_[run]) >= 0x20)
          ++run;
        // RFC 8259 §8.1: JSON text is UTF-8 (so a raw surrogate, ED A0 80, is
        // refused even where a lone \ud800 escape is allowed).
        if (!utf8::is_valid(s_.substr(pos_, run - pos_)))
          return fail("string is not valid UTF-8");
        out.append(s_.substr(pos_, run - pos_));
        pos_ = run;
        continue;
      }
      ++pos_;
      if (at_end()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!read_hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF && !options_.lone_surrogates)
            return fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // RFC 8259 §7: a character outside the BMP is a surrogate pair.
            uint32_t low = 0;
            size_t after_high = pos_;
            bool paired = s_.substr(pos_, 2) == "\\u";
            if (paired) {
              pos_ += 2;
              if (!read_hex4(low)) return false;
              paired = low >= 0xDC00 && low <= 0xDFFF;
            }
            if (paired) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (!options_.lone_surrogates) {
              return fail("lone high surrogate");
            } else {
              pos_ = after_high;  // what follows is read on its own, as JSON.parse does
            }
          }
          // A lone surrogate (with the option) is written as generalized UTF-8.
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("invalid escape");
      }
    }
    ++pos_;  // "
    return true;
  }

  bool read_number(Value& out) {
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    size_t start = pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
      return pos_ > from;
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail(start == pos_ ? "unexpected character" : "invalid number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number: no digits after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digits()) return fail("invalid number: no digits in exponent");
    }
    double d = 0;
    auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, d);
    if (ec == std::errc::result_out_of_range) {
      // Too large for a double: JavaScript reads it as Infinity, which it then
      // writes as null. We refuse it instead of guessing.
      return fail("number out of range");
    }
    if (ec != std::errc() || end != s_.data() + pos_) return fail("invalid number");
    out = Value(d);
    return true;
  }

  std::string_view s_;
  ParseOptions options_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

ParseResult parse(std::string_view text, ParseOptions options) {
  return Reader(text, options).run();
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  // Characters that need no escape are copied in runs, not one push_back each
  // (a tenth of lesson 04's instructions per post: tests/bench/README.md item 14).
  size_t run = 0;  // where the characters not yet copied start
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0xED) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    // ED A0..BF 80..BF: a surrogate code unit in generalized UTF-8 (a lone one
    // read with ParseOptions::lone_surrogates), written as JSON.stringify writes
    // a lone surrogate: \ud83d.
    if (c == 0xED && i + 2 < s.size() &&
        (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xC0) == 0x80) {
      unsigned unit = 0xD000 | (static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6 |
                      (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", unit);
      out += hex;
      i += 2;
      run = i + 1;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out += hex;
        } else {
          out += ch;
        }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_number(std::string& out, double d) {
  // ECMAScript Number::toString(10), which JSON.stringify uses for finite numbers.
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == 0) {
    out += '0';  // also for -0
    return;
  }
  if (d < 0) {
    out += '-';
    d = -d;
  }
  // The shortest digits that read back as d, and the exponent: d = 0.DIGITS × 10^n.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp10 = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(),
                  exp10);
  int k = static_cast<int>(digits.size());
  int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out += '.';
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void append(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::null:
      out += "null";
      break;
    case Value::Type::boolean:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Type::number:
      append_number(out, v.as_number());
      break;
    case Value::Type::string:
      append_string(out, v.as_string());
      break;
    case Value::Type::array: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        append(out, item);
      }
      out += ']';
      break;
    }
    case Value::Type::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.as_object()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append(out, item);
      }
      out += '}';
      break;
    }
  }
}

std::string stringify(const Value& value) {
  std::string out;
  append(out, value);
  return out;
}

}  // namespace json
