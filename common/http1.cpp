#include "http1.h"

#include <charconv>
#include <ctime>
#include <vector>

namespace http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

const std::string* Request::header(std::string_view name) const {
  for (const Header& h : headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

std::optional<std::string_view> Request::param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// RFC 9110 §5.6.2: token = 1*tchar.
static bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

static bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// RFC 9110 §5.5: field-value is VCHAR, obs-text, SP and HTAB; no other controls.
static bool is_field_value(std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

static ParseResult error(int status, std::string reason) {
  return ParseResult{Status::error, 0, status, std::move(reason)};
}

static bool parse_size(std::string_view s, size_t& out, int base = 10) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
static bool is_hexdig(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_ws(char c) {
  return c == ' ' || c == '\t';
}

// RFC 9112 §2.2: every line ends with CRLF. find_line() scans from pos and stops
// at the first CR or LF: `found` (stop is the CR of a CRLF), `need_more` (stop is
// the end of the input, or a CR that is its last byte), or a bare CR / bare LF,
// which a recipient must not take as a line end: we refuse them (a front end that
// does take bare LF would see other requests than we do: request smuggling).
enum class Line { found, need_more, bare_cr, bare_lf };

// Two memchr scans (find) for the first CR and an LF before it, rather than a loop
// over each byte: this was a third of parse_request's instructions.
static Line find_line(std::string_view in, size_t pos, size_t& stop) {
  size_t cr = in.find('\r', pos);
  size_t lf = in.substr(0, cr).find('\n', pos);
  if (lf != std::string_view::npos) {
    stop = lf;
    return Line::bare_lf;
  }
  if (cr == std::string_view::npos) {
    stop = in.size();
    return Line::need_more;
  }
  stop = cr;
  if (cr + 1 == in.size()) return Line::need_more;
  return in[cr + 1] == '\n' ? Line::found : Line::bare_cr;
}

static ParseResult bare_line_end(Line kind) {
  return error(400, kind == Line::bare_lf ? "RFC 9112 §2.2: bare LF; lines end with CRLF"
                                          : "RFC 9112 §2.2: bare CR not followed by LF");
}

// RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. Returns "" and
// fills h, or the rule broken.
static std::string parse_field_line(std::string_view fl, Header& h) {
  if (!fl.empty() && is_ws(fl[0]))
    return "RFC 9112 §5.2: obsolete line folding is rejected";
  size_t colon = fl.find(':');
  if (colon == std::string_view::npos) return "RFC 9112 §5: field line without ':'";
  std::string_view name = fl.substr(0, colon);
  // RFC 9112 §5.1: no whitespace is allowed between the field name and colon.
  if (!is_token(name)) return "RFC 9112 §5.1: invalid field name";
  std::string_view value = trim(fl.substr(colon + 1));
  if (!is_field_value(value)) return "RFC 9110 §5.5: invalid field value";
  h.name = name;
  for (char& c : h.name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  h.value = value;
  return "";
}

// RFC 9112 §7.1.1:
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
// We understand no extension, so they are checked and dropped.
static bool is_chunk_ext(std::string_view s) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && is_ws(s[i]))
      ++i;
  };
  auto token = [&] {
    size_t begin = i;
    while (i < s.size() && is_tchar(s[i]))
      ++i;
    return i > begin;
  };
  // RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
  auto quoted = [&] {
    for (++i; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c == '"') return ++i, true;
      if (c == '\\') {
        if (++i == s.size()) return false;
        c = static_cast<unsigned char>(s[i]);
        if (c != '\t' && (c < 0x20 || c == 0x7f)) return false;
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return false;
      }
    }
    return false;
  };
  while (i < s.size()) {
    skip_ws();
    if (i == s.size() || s[i] != ';') return false;
    ++i;
    skip_ws();
    if (!token()) return false;
    size_t after_name = i;
    skip_ws();
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_ws();
      if (i < s.size() && s[i] == '"' ? !quoted() : !token()) return false;
    } else {
      i = after_name;  // the whitespace belongs to the next ";", or is an error
    }
  }
  return true;
}

// RFC 9112 §7.1: a chunk line (size and extensions) of ours is at most this long.
constexpr size_t kMaxChunkLine = 1024;

// The chunked transfer coding (RFC 9112 §7.1), from p.pos (set to the body's start
// on the first call). Returns need_more, an error, or done with `consumed` set to
// where the message ends; the chunk data is in p.body.
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
static ParseResult parse_chunked(std::string_view in, const Limits& limits, Progress& p) {
  while (!p.in_trailers) {
    size_t stop = 0;
    Line kind = find_line(in, p.pos, stop);
    // Checked on what has arrived, line end or not: the same bytes, the same verdict.
    if (stop - p.pos > kMaxChunkLine)
      return error(400, "RFC 9112 §7.1: chunk line over " +
                            std::to_string(kMaxChunkLine) + " bytes");
    if (kind == Line::need_more) return ParseResult{};
    if (kind != Line::found) return bare_line_end(kind);
    std::string_view line = in.substr(p.pos, stop - p.pos);
    // RFC 9112 §7.1: chunk-size = 1*HEXDIG, right at the start of the line (no
    // whitespace is trimmed: " 5" and "5 " are not sizes).
    size_t digits = 0;
    while (digits < line.size() && is_hexdig(line[digits]))
      ++digits;
    if (digits == 0) return error(400, "RFC 9112 §7.1: invalid chunk size");
    if (!is_chunk_ext(line.substr(digits)))
      return error(400, "RFC 9112 §7.1.1: invalid chunk extension");
    std::string_view hex = line.substr(0, digits);
    while (hex.size() > 1 && hex[0] == '0')
      hex.remove_prefix(1);
    size_t size = 0;
    // Over 15 hex digits cannot fit any body limit (and would overflow 64 bits).
    if (hex.size() > 15 || !parse_size(hex, size, 16) ||
        p.body.size() + size > limits.max_body)
      return error(413,
                   "request body over " + std::to_string(limits.max_body) + " bytes");
    size_t data = stop + 2;
    if (size == 0) {
      p.pos = p.trailers_start = data;
      p.in_trailers = true;
      break;
    }
    if (in.size() - data < size + 2) return ParseResult{};
    if (in.substr(data + size, 2) != "\r\n")
      return error(400, "RFC 9112 §7.1: chunk data not followed by CRLF");
    p.body.append(in.substr(data, size));
    p.pos = data + size + 2;
  }
  // RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), up to an empty line.
  // We use no trailer field, so they are checked and dropped.
  for (;;) {
    size_t stop = 0;
    Line kind = find_line(in, p.pos, stop);
    if (stop - p.trailers_start > limits.max_head)
      return error(431,
                   "trailer section over " + std::to_string(limits.max_head) + " bytes");
    if (kind == Line::need_more) return ParseResult{};
    if (kind != Line::found) return bare_line_end(kind);
    if (stop == p.pos) return ParseResult{Status::done, stop + 2, 0, ""};
    Header h;
    std::string why = parse_field_line(in.substr(p.pos, stop - p.pos), h);
    if (!why.empty()) return error(400, "RFC 9112 §7.1.2: trailer: " + why);
    p.pos = stop + 2;
  }
}

// RFC 9112 §3.2 and RFC 3986 §3.2.2: Host = uri-host [ ":" port ], where uri-host
// is an IP-literal in brackets, or a reg-name (which covers IPv4 addresses).
static bool is_host(std::string_view s) {
  size_t i = 0;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1))
      if (!is_hexdig(c) && c != ':' && c != '.') return false;
    i = close + 1;
  } else {
    // reg-name = *( unreserved / pct-encoded / sub-delims )
    for (; i < s.size() && s[i] != ':'; ++i) {
      char c = s[i];
      if (c == '%') {
        if (i + 2 >= s.size() || !is_hexdig(s[i + 1]) || !is_hexdig(s[i + 2]))
          return false;
        i += 2;
      } else if (!(is_hexdig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   is_digit(c) ||
                   std::string_view("-._~!$&'()*+,;=").find(c) !=
                       std::string_view::npos)) {
        return false;
      }
    }
  }
  if (i == s.size()) return true;
  if (s[i] != ':') return false;
  for (char c : s.substr(i + 1))
    if (!is_digit(c)) return false;
  return true;
}

// RFC 9112 §3.2.2: absolute-form = absolute-URI, e.g. http://localhost:8001/x?y.
// Returns false if it is not one we serve; else sets authority and the origin-form
// rest ("/x?y"; "/" when the path is empty).
static bool split_absolute(std::string_view target, std::string_view& authority,
                           std::string& rest) {
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return false;
  // RFC 3986 §3.1: schemes are case-insensitive.
  std::string_view scheme = target.substr(0, colon);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
  std::string_view after = target.substr(colon + 3);
  size_t end = after.find_first_of("/?#");
  authority = after.substr(0, end);
  // RFC 9110 §4.2.1: an http URI with an empty host is invalid.
  if (authority.empty() || authority[0] == ':' || !is_host(authority)) return false;
  std::string_view tail = end == std::string_view::npos ? "" : after.substr(end);
  rest = tail.empty() || tail[0] != '/' ? "/" + std::string(tail) : std::string(tail);
  return true;
}

// RFC 9112 §6.1: Transfer-Encoding lists the codings applied, the last one first
// to undo. Returns 0 when the list is exactly "chunked", else the status to answer.
static int check_transfer_coding(std::string_view list, std::string& why) {
  std::vector<std::string_view> codings;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view c = trim(list.substr(0, comma));
    if (!c.empty()) codings.push_back(c);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  // RFC 9112 §6.3: in a request whose final coding is not chunked the body's length
  // cannot be known: 400 and close.
  if (codings.empty() || !iequals(codings.back(), "chunked")) {
    why = "RFC 9112 §6.3: the final transfer coding of a request must be chunked";
    return 400;
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    // RFC 9112 §6.1: chunked MUST NOT be applied more than once.
    if (iequals(codings[i], "chunked")) {
      why = "RFC 9112 §6.1: chunked applied more than once";
      return 400;
    }
    // RFC 9112 §6.1: a coding we do not understand is answered with 501.
    why = "RFC 9112 §6.1: unsupported transfer coding '" + std::string(codings[i]) + "'";
    return 501;
  }
  return 0;
}

ParseResult parse_request(std::string_view in, const Limits& limits, Request& out,
                          Progress* progress) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request.
  size_t start = 0;
  while (in.substr(start, 2) == "\r\n")
    start += 2;
  // The head, line by line, each checked as soon as it is complete. A limit is
  // checked on what has arrived, so the verdict never depends on the split.
  size_t pos = start;
  size_t fields = 0;  // field lines, after the request line
  for (;; ++fields) {
    size_t stop = 0;
    Line kind = find_line(in, pos, stop);
    if (stop + 2 - start > limits.max_head)
      return error(431,
                   "request head over " + std::to_string(limits.max_head) + " bytes");
    if (kind == Line::need_more) return ParseResult{};
    if (kind != Line::found) return bare_line_end(kind);
    if (stop == pos) {
      pos = stop + 2;
      break;
    }
    pos = stop + 2;
  }
  size_t body_start = pos;
  --fields;
  // The whole head is there, every line ending in CRLF (checked above): its lines
  // are read again from the start, each up to its CR. No list of them is kept.
  std::string_view head = in.substr(start, body_start - 2 - start);
  auto next_line = [&head] {
    size_t cr = head.find('\r');
    std::string_view line = head.substr(0, cr);
    head.remove_prefix(cr + 2);
    return line;
  };

  out = Request{};
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version CRLF
  std::string_view line = next_line();
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error(400, "RFC 9112 §3: request line is not 'method SP target SP version'");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return error(400, "RFC 9112 §3.1: method is not a token");
  // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !is_digit(version[5]) || !is_digit(version[7]))
    return error(400, "RFC 9112 §2.3: invalid HTTP-version");
  if (version[5] != '1') return error(505, "only HTTP/1.x is spoken on this port");
  out.minor_version = version[7] - '0';
  // RFC 9112 §3.2 and RFC 3986 §2: a target is ASCII without controls or spaces
  // (other octets travel percent-encoded).
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return error(400, "RFC 9112 §3.2: invalid character in request-target");
  // RFC 9112 §3.2.2: a server MUST accept the absolute-form, and then use its
  // authority instead of Host.
  std::string_view authority;
  std::string origin_form;
  bool absolute = target.find("://") != std::string_view::npos && target[0] != '/';
  if (absolute) {
    if (!split_absolute(target, authority, origin_form))
      return error(400, "RFC 9112 §3.2.2: not an http or https absolute-URI");
    target = origin_form;
  }
  if (target.empty() || (target[0] != '/' && !(target == "*" && method == "OPTIONS")))
    return error(400, "RFC 9112 §3.2: request-target must be in origin-form");
  out.method = method;
  out.target = target;
  size_t qmark = target.find('?');
  out.path = target.substr(0, qmark);
  if (qmark != std::string_view::npos) out.query = target.substr(qmark + 1);

  int hosts = 0, lengths = 0;
  out.headers.reserve(fields);
  for (size_t i = 0; i < fields; ++i) {
    Header h;
    std::string why = parse_field_line(next_line(), h);
    if (!why.empty()) return error(400, why);
    hosts += h.name == "host";
    lengths += h.name == "content-length";
    // RFC 9110 §5.3: repeated field lines are one field, values joined by commas.
    Header* same = nullptr;
    for (Header& seen : out.headers)
      if (seen.name == h.name) same = &seen;
    if (same)
      same->value += ", " + h.value;
    else
      out.headers.push_back(std::move(h));
  }

  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, for more than one
  // Host line, and for an invalid Host.
  if (out.minor_version >= 1 && hosts == 0)
    return error(400, "RFC 9112 §3.2: an HTTP/1.1 request needs a Host");
  if (hosts > 1) return error(400, "RFC 9112 §3.2: more than one Host");
  for (Header& h : out.headers) {
    if (h.name != "host") continue;
    if (!is_host(h.value)) return error(400, "RFC 9112 §3.2: invalid Host");
    if (absolute) h.value = authority;
  }
  if (absolute && hosts == 0) out.headers.push_back({"host", std::string(authority)});

  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with
  // "keep-alive" (RFC 9112 §C.2.2), and "close" wins over it (§9.6).
  const std::string* connection = out.header("connection");
  bool close = connection && has_token(*connection, "close");
  if (out.minor_version == 0)
    out.keep_alive = !close && connection && has_token(*connection, "keep-alive");
  else
    out.keep_alive = !close;

  // RFC 9110 §10.1.1: a client that sent 100-continue may wait for our word before
  // sending the body; an HTTP/1.0 request's expectation is ignored.
  const std::string* expect = out.header("expect");
  bool expects_continue =
      out.minor_version >= 1 && expect && iequals(*expect, "100-continue");
  // RFC 9110 §10.1.1: 100-continue is the only expectation defined; a server MAY
  // answer 417 to any other, and we do, rather than go on as if it was met.
  if (out.minor_version >= 1 && expect && !expects_continue)
    return error(417, "RFC 9110 §10.1.1: the only expectation met here is 100-continue");

  const std::string* te = out.header("transfer-encoding");
  const std::string* cl = out.header("content-length");
  if (te) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (out.minor_version == 0)
      return error(400, "RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.3: both framings at once is how requests are smuggled; refuse.
    if (cl) return error(400, "RFC 9112 §6.3: both Transfer-Encoding and Content-Length");
    std::string why;
    if (int status = check_transfer_coding(*te, why)) return error(status, why);
    Progress local;
    Progress& p = progress ? *progress : local;
    if (p.pos == 0) {
      p = Progress();
      p.pos = body_start;
    }
    ParseResult r = parse_chunked(in, limits, p);
    if (r.status == Status::done) out.body = std::move(p.body);
    if (r.status != Status::need_more) p = Progress();
    r.expects_continue = r.status == Status::need_more && expects_continue;
    return r;
  }
  size_t length = 0;
  if (cl) {
    // RFC 9110 §8.6: a list of lengths ("5, 5") or repeated lines MAY be refused;
    // we refuse any, since two parsers that disagree on it can be made to split one
    // request stream differently.
    if (lengths > 1) return error(400, "RFC 9110 §8.6: more than one Content-Length");
    // RFC 9110 §8.6: Content-Length = 1*DIGIT
    std::string_view digits = *cl;
    for (char c : digits)
      if (!is_digit(c)) return error(400, "RFC 9110 §8.6: invalid Content-Length");
    if (digits.empty()) return error(400, "RFC 9110 §8.6: invalid Content-Length");
    while (digits.size() > 1 && digits[0] == '0')
      digits.remove_prefix(1);
    if (digits.size() > 18 || !parse_size(digits, length) || length > limits.max_body)
      return error(413,
                   "request body over " + std::to_string(limits.max_body) + " bytes");
  }
  if (in.size() - body_start < length) {
    ParseResult r;
    r.expects_continue = expects_continue;
    return r;
  }
  out.body = in.substr(body_start, length);
  return ParseResult{Status::done, body_start + length, 0, ""};
}

const char* status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string busy_response() {
  std::string body = "too many connections; try again\n";
  return "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
         "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// RFC 9110 §5.6.7: IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". Formatted once a second.
const std::string& http_date() {
  static std::time_t cached_second = -1;
  static std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
    cached = buf;
  }
  return cached;
}

// Appended piece by piece into one string sized up front: no temporaries.
std::string serialize(const Response& r, bool keep_alive) {
  bool body_allowed = r.status >= 200 && r.status != 204;
  size_t size = 160 + r.content_type.size() + (body_allowed ? r.body.size() : 0);
  for (const Header& h : r.headers)
    size += h.name.size() + h.value.size() + 4;
  std::string out;
  out.reserve(size);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\n";
  // RFC 9110 §6.6.1: an origin server with a clock MUST send Date in 2xx-4xx answers.
  if (r.status >= 200) {
    out += "Date: ";
    out += http_date();
    out += "\r\n";
  }
  if (body_allowed) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\nContent-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  for (const Header& h : r.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (!keep_alive && r.status != 101) out += "Connection: close\r\n";
  out += "\r\n";
  if (body_allowed) out += r.body;
  return out;
}

}  // namespace http
