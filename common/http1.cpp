#include "http1.h"

#include <charconv>
#include <ctime>

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

// The chunked transfer coding (RFC 9112 §7.1), starting at in[pos]. Returns
// need_more, an error, or done with `consumed` set to where the message ends.
static ParseResult parse_chunked(std::string_view in, size_t pos, const Limits& limits,
                                 std::string& body) {
  body.clear();
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (in.size() - pos > 1024) return error(400, "RFC 9112 §7.1: chunk line too long");
      return ParseResult{};
    }
    std::string_view line = in.substr(pos, eol - pos);
    // RFC 9112 §7.1.1: chunk extensions follow ';' and are ignored.
    std::string_view hex = trim(line.substr(0, line.find(';')));
    size_t size = 0;
    if (hex.size() > 8 || !parse_size(hex, size, 16))
      return error(400, "RFC 9112 §7.1: invalid chunk size");
    if (body.size() + size > limits.max_body)
      return error(413,
                   "request body over " + std::to_string(limits.max_body) + " bytes");
    pos = eol + 2;
    if (size == 0) break;
    if (in.size() - pos < size + 2) return ParseResult{};
    body.append(in.substr(pos, size));
    pos += size;
    if (in.substr(pos, 2) != "\r\n")
      return error(400, "RFC 9112 §7.1: chunk data not followed by CRLF");
    pos += 2;
  }
  // RFC 9112 §7.1.2: trailer fields up to an empty line; we read and drop them.
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (in.size() - pos > limits.max_head)
        return error(431, "trailer section too large");
      return ParseResult{};
    }
    bool empty = eol == pos;
    pos = eol + 2;
    if (empty) return ParseResult{Status::done, pos, 0, ""};
  }
}

ParseResult parse_request(std::string_view in, const Limits& limits, Request& out) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request.
  size_t start = 0;
  while (in.substr(start, 2) == "\r\n")
    start += 2;
  size_t head_end = in.find("\r\n\r\n", start);
  if (head_end == std::string_view::npos) {
    if (in.size() - start > limits.max_head)
      return error(431,
                   "request head over " + std::to_string(limits.max_head) + " bytes");
    return ParseResult{};
  }
  if (head_end + 4 - start > limits.max_head)
    return error(431, "request head over " + std::to_string(limits.max_head) + " bytes");
  std::string_view head = in.substr(start, head_end + 2 - start);

  out = Request{};
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version CRLF
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
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
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return error(400, "RFC 9112 §2.3: invalid HTTP-version");
  if (version[5] != '1') return error(505, "only HTTP/1.x is spoken on this port");
  out.minor_version = version[7] - '0';
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return error(400, "RFC 9112 §3.2: invalid character in request-target");
  // RFC 9112 §3.2.2: a server MUST accept the absolute-form; we keep only its path.
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  if (target.empty() || (target[0] != '/' && !(target == "*" && method == "OPTIONS")))
    return error(400, "RFC 9112 §3.2: request-target must be in origin-form");
  out.method = method;
  out.target = target;
  size_t qmark = target.find('?');
  out.path = target.substr(0, qmark);
  if (qmark != std::string_view::npos) out.query = target.substr(qmark + 1);

  // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS
  std::string_view fields = head.substr(eol + 2);
  while (!fields.empty()) {
    size_t end = fields.find("\r\n");
    std::string_view fl = fields.substr(0, end);
    fields.remove_prefix(end + 2);
    if (fl[0] == ' ' || fl[0] == '\t')
      return error(400, "RFC 9112 §5.2: obsolete line folding is rejected");
    size_t colon = fl.find(':');
    if (colon == std::string_view::npos)
      return error(400, "RFC 9112 §5: header line without ':'");
    std::string_view name = fl.substr(0, colon);
    // RFC 9112 §5.1: no whitespace is allowed between the field name and colon.
    if (!is_token(name)) return error(400, "RFC 9112 §5.1: invalid field name");
    std::string_view value = trim(fl.substr(colon + 1));
    if (!is_field_value(value)) return error(400, "RFC 9110 §5.5: invalid field value");
    Header h{std::string(name), std::string(value)};
    for (char& c : h.name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.headers.push_back(std::move(h));
  }

  int hosts = 0;
  for (const Header& h : out.headers)
    hosts += h.name == "host";
  // RFC 9112 §3.2: a request without Host, or with more than one, gets 400.
  if (out.minor_version >= 1 && hosts != 1)
    return error(400, "RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host");
  if (hosts > 1) return error(400, "RFC 9112 §3.2: more than one Host");

  const std::string* connection = out.header("connection");
  if (out.minor_version == 0)
    out.keep_alive = connection && has_token(*connection, "keep-alive");
  else
    out.keep_alive = !(connection && has_token(*connection, "close"));

  size_t body_start = head_end + 4;
  const std::string* te = out.header("transfer-encoding");
  const std::string* cl = out.header("content-length");
  if (te) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (out.minor_version == 0)
      return error(400, "RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.3: both framings at once is how requests are smuggled; refuse.
    if (cl) return error(400, "RFC 9112 §6.3: both Transfer-Encoding and Content-Length");
    for (const Header& h : out.headers)
      if (h.name == "transfer-encoding" && &h.value != te)
        return error(501, "only a single 'Transfer-Encoding: chunked' is supported");
    // RFC 9112 §6.1: a coding we do not understand is answered with 501.
    if (!iequals(*te, "chunked"))
      return error(501, "RFC 9112 §6.1: unsupported transfer coding '" + *te + "'");
    ParseResult r = parse_chunked(in, body_start, limits, out.body);
    return r;
  }
  size_t length = 0;
  if (cl) {
    for (const Header& h : out.headers)
      if (h.name == "content-length" && h.value != *cl)
        return error(400, "RFC 9112 §6.3: conflicting Content-Length values");
    // RFC 9110 §8.6: Content-Length = 1*DIGIT
    if (cl->size() > 18 || !parse_size(*cl, length) || (*cl)[0] == '+')
      return error(400, "RFC 9110 §8.6: invalid Content-Length");
    if (length > limits.max_body)
      return error(413,
                   "request body over " + std::to_string(limits.max_body) + " bytes");
  }
  if (in.size() - body_start < length) return ParseResult{};
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

std::string serialize(const Response& r, bool keep_alive) {
  std::string out;
  out.reserve(128 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\n";
  // RFC 9110 §6.6.1: an origin server with a clock MUST send Date in 2xx-4xx answers.
  if (r.status >= 200) out += "Date: " + http_date() + "\r\n";
  bool body_allowed = r.status >= 200 && r.status != 204;
  if (body_allowed) {
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  for (const Header& h : r.headers)
    out += h.name + ": " + h.value + "\r\n";
  if (!keep_alive && r.status != 101) out += "Connection: close\r\n";
  out += "\r\n";
  if (body_allowed) out += r.body;
  return out;
}

}  // namespace http
