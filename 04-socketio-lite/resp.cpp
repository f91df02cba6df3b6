// RESP2, the wire format: the reply decoder, commands, and --trace's description.
#include "redis.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/log.h"
namespace redis {

// Reply decoder
// -------------
// Every RESP2 value starts with a type byte and ends its first line with CRLF:
//   +<text>\r\n   -<text>\r\n   :<integer>\r\n
//   $<length>\r\n<bytes>\r\n      ($-1\r\n: null)
//   *<count>\r\n<count values>    (*-1\r\n: null)

namespace {

struct Parser {
  std::string_view in;
  const Limits& limits;
  size_t pos = 0;
  std::string error;

  // The line at pos, without its CRLF; false = need more (or error set).
  bool line(std::string_view& out) {
    size_t end = in.find("\r\n", pos);
    if (end == std::string_view::npos) {
      // RESP: a line ends with CRLF; a bare LF or an overlong line is not RESP.
      size_t have = in.size() - pos;
      if (in.substr(pos).find('\n') != std::string_view::npos)
        error = "line: a line must end with CRLF, found a bare LF";
      else if (have > limits.max_line)
        error = "line: longer than " + std::to_string(limits.max_line) + " bytes";
      return false;
    }
    if (end - pos > limits.max_line) {
      error = "line: longer than " + std::to_string(limits.max_line) + " bytes";
      return false;
    }
    out = in.substr(pos, end - pos);
    if (out.find_first_of("\r\n") != std::string_view::npos) {
      error = "line: a CR or LF inside a line";
      return false;
    }
    pos = end + 2;
    return true;
  }

  // RESP: ":" and the lengths are signed decimal 64-bit integers, no "+", no spaces.
  bool number(std::string_view text, int64_t& out, const char* what) {
    const char* first = text.data();
    const char* last = first + text.size();
    auto r = std::from_chars(first, last, out);
    if (text.empty() || r.ec != std::errc() || r.ptr != last) {
      error = std::string(what) + ": not a decimal integer: \"" +
              logs::printable(text, 40) + "\"";
      return false;
    }
    return true;
  }

  // One value at pos; false = need more or error (error says which).
  bool value(Reply& out, size_t depth) {
    if (pos >= in.size()) return false;
    char type = in[pos++];
    std::string_view text;
    if (!line(text)) return false;
    switch (type) {
      case '+':
        out.type = Type::simple;
        out.str.assign(text);
        return true;
      case '-':
        out.type = Type::error;
        out.str.assign(text);
        return true;
      case ':':
        out.type = Type::integer;
        return number(text, out.integer, "integer");
      case '$': {
        int64_t length;
        if (!number(text, length, "bulk length")) return false;
        // RESP2: $-1 is the null bulk string; no other negative length exists.
        if (length == -1) {
          out.type = Type::null;
          return true;
        }
        if (length < 0) {
          error = "bulk length: negative and not -1";
          return false;
        }
        if (static_cast<uint64_t>(length) > limits.max_bulk) {
          error = "bulk length: " + std::to_string(length) + " is over the limit of " +
                  std::to_string(limits.max_bulk);
          return false;
        }
        size_t n = static_cast<size_t>(length);
        if (in.size() - pos < n + 2) return false;
        // RESP: the bytes are followed by CRLF, whatever they contain.
        if (in.substr(pos + n, 2) != "\r\n") {
          error =
              "bulk string: the " + std::to_string(n) + " bytes are not followed by CRLF";
          return false;
        }
        out.type = Type::bulk;
        out.str.assign(in.substr(pos, n));
        pos += n + 2;
        return true;
      }
      case '*': {
        int64_t count;
        if (!number(text, count, "array length")) return false;
        // RESP2: *-1 is the null array (XREAD BLOCK that timed out answers it).
        if (count == -1) {
          out.type = Type::null;
          return true;
        }
        if (count < 0) {
          error = "array length: negative and not -1";
          return false;
        }
        if (static_cast<uint64_t>(count) > limits.max_elements) {
          error = "array length: " + std::to_string(count) + " is over the limit of " +
                  std::to_string(limits.max_elements);
          return false;
        }
        if (depth + 1 > limits.max_depth) {
          error = "array: nested deeper than " + std::to_string(limits.max_depth);
          return false;
        }
        out.type = Type::array;
        // Each element takes at least 3 bytes (":0\r\n" is 4): no reservation
        // bigger than what has arrived, whatever the count claims.
        out.elements.reserve(
            std::min<size_t>(static_cast<size_t>(count), (in.size() - pos) / 3 + 1));
        for (int64_t i = 0; i < count; ++i) {
          out.elements.emplace_back();
          if (!value(out.elements.back(), depth + 1)) return false;
        }
        return true;
      }
      default:
        error = std::string("type: '") + logs::printable(std::string_view(&type, 1)) +
                "' is not a RESP2 type byte (+ - : $ *)";
        return false;
    }
  }
};

}  // namespace

ParseResult parse(std::string_view bytes, const Limits& limits) {
  Parser p{bytes, limits, 0, {}};
  ParseResult r;
  if (p.value(r.reply, 0)) {
    r.status = Status::done;
    r.consumed = p.pos;
  } else if (!p.error.empty()) {
    r.status = Status::error;
    r.error = std::move(p.error);
    r.reply = Reply{};
  } else {
    r.reply = Reply{};
  }
  return r;
}

// Commands
// --------
// *<n>\r\n then $<len>\r\n<bytes>\r\n for each argument: binary-safe, so a
// msgpack payload goes as it is.

void append_command(std::string& out, const std::vector<std::string>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out;
  append_command(out, args);
  return out;
}

static void describe_into(std::string& out, const Reply& r) {
  switch (r.type) {
    case Type::simple:
      out += r.str;
      return;
    case Type::error:
      out += "(error) " + r.str;
      return;
    case Type::integer:
      out += "(integer) " + std::to_string(r.integer);
      return;
    case Type::bulk:
      out += '"' + logs::printable(r.str, 80) + '"';
      return;
    case Type::null:
      out += "(nil)";
      return;
    case Type::array:
      out += '[';
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) out += ' ';
        describe_into(out, r.elements[i]);
      }
      out += ']';
      return;
  }
}

std::string describe(const Reply& reply) {
  std::string out;
  describe_into(out, reply);
  return out;
}

std::string parse_address(const std::string& text, std::string& host, int& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return "--redis: expected HOST:PORT, e.g. 127.0.0.1:6379, got \"" + text + "\"";
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:6379
  std::string_view digits(text.data() + colon + 1, text.size() - colon - 1);
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() ||
      port < 1 || port > 65535)
    return "--redis: the port must be 1 to 65535, got \"" + std::string(digits) + "\"";
  // A name would need a resolver that blocks the loop: numeric or localhost only.
  in6_addr scratch;
  if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &scratch) != 1)
    return "--redis: \"" + host + "\" is not an IP address; use e.g. 127.0.0.1:6379";
  return "";
}

}  // namespace redis
