// HTTP semantics over HTTP/2 (RFC 9113 §8): what makes a request well formed.
// A field list that breaks any of these is "malformed" and answered with
// RST_STREAM PROTOCOL_ERROR (§8.1.1); the connection goes on.
#include <array>
#include <cstdint>

#include "connection.h"

namespace h2 {

const std::string* Request::header(std::string_view name) const {
  for (const hpack::Header& h : headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

// RFC 9113 §8.2.1: what each byte may be in a field name and in a field value, one
// table lookup a byte instead of three to five compares: under h2load the checks
// went from ~980 to ~770 instructions a request (tests/bench/README.md item 16).
enum FieldByte : uint8_t { kNameOk = 1, kValueOk = 2 };
static constexpr std::array<uint8_t, 256> kFieldBytes = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    // RFC 9113 §8.2.1: a name has no 0x00-0x20, no uppercase, no 0x7f-0xff, and a
    // colon only as a pseudo-header's first byte (checked apart).
    const bool name_ok = c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z') && c != ':';
    // RFC 9113 §8.2.1: a value has no NUL, CR or LF.
    const bool value_ok = c != '\0' && c != '\r' && c != '\n';
    t[c] = (name_ok ? kNameOk : 0) | (value_ok ? kValueOk : 0);
  }
  return t;
}();

// RFC 9113 §8.2.1: a name is lower-case token characters; a value has no NUL, CR
// or LF, and no whitespace at either end.
static std::string check_field(const hpack::Header& h) {
  if (h.name.empty()) return "RFC 9113 §8.2.1: empty field name";
  // A pseudo-header's leading colon is the one colon allowed.
  for (size_t i = h.name[0] == ':' ? 1 : 0; i < h.name.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(h.name[i]);
    if (kFieldBytes[c] & kNameOk) continue;
    // RFC 9113 §8.2.1: uppercase in a field name MUST be treated as malformed.
    if (c >= 'A' && c <= 'Z') return "RFC 9113 §8.2.1: uppercase in field name " + h.name;
    // RFC 9113 §8.2.1: 0x00-0x20, 0x7f-0xff, or a colon after the first byte.
    return "RFC 9113 §8.2.1: invalid character in field name";
  }
  for (char c : h.value)
    if (!(kFieldBytes[static_cast<uint8_t>(c)] & kValueOk))
      return "RFC 9113 §8.2.1: NUL, CR or LF in the value of " + h.name;
  const std::string& v = h.value;
  if (!v.empty() &&
      (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t'))
    return "RFC 9113 §8.2.1: whitespace at the start or end of the value of " + h.name;
  return "";
}

// RFC 9113 §8.2.2: connection-specific fields have no meaning in HTTP/2.
static std::string check_regular(const hpack::Header& h) {
  if (std::string e = check_field(h); !e.empty()) return e;
  for (std::string_view name :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
    if (h.name == name) return "RFC 9113 §8.2.2: connection-specific field " + h.name;
  // RFC 9113 §8.2.2: TE may be present but MUST NOT contain anything but "trailers".
  if (h.name == "te" && h.value != "trailers")
    return "RFC 9113 §8.2.2: TE other than \"trailers\"";
  return "";
}

std::string read_request(hpack::HeaderList fields, Request& out) {
  bool regular_seen = false;
  bool seen[4] = {};
  std::string* slot[4] = {&out.method, &out.scheme, &out.authority, &out.path};
  const std::string_view names[4] = {":method", ":scheme", ":authority", ":path"};
  out.headers.reserve(fields.size());
  for (hpack::Header& h : fields) {
    if (!h.name.empty() && h.name[0] == ':') {
      // RFC 9113 §8.3: pseudo-header fields MUST appear before regular fields.
      if (regular_seen)
        return "RFC 9113 §8.3: pseudo-header " + h.name + " after a field";
      int i = 0;
      while (i < 4 && h.name != names[i])
        ++i;
      // RFC 9113 §8.3: an undefined pseudo-header, or a response one (:status)
      // in a request, is malformed.
      if (i == 4) return "RFC 9113 §8.3: pseudo-header " + h.name + " is not a request's";
      // RFC 9113 §8.3.1: the same pseudo-header field MUST NOT appear twice.
      if (seen[i]) return "RFC 9113 §8.3.1: " + h.name + " appears twice";
      if (std::string e = check_field(h); !e.empty()) return e;
      seen[i] = true;
      *slot[i] = std::move(h.value);
      continue;
    }
    regular_seen = true;
    if (std::string e = check_regular(h); !e.empty()) return e;
    out.headers.push_back(std::move(h));
  }
  // RFC 9113 §8.3.1: every request has exactly one :method ...
  if (!seen[0]) return "RFC 9113 §8.3.1: no :method";
  // RFC 9113 §8.5: ... and a CONNECT request has :authority and no :scheme or :path.
  if (out.method == "CONNECT") {
    if (!seen[2] || seen[1] || seen[3]) return "RFC 9113 §8.5: malformed CONNECT";
    return "";
  }
  // RFC 9113 §8.3.1: all other requests have :scheme and a non-empty :path.
  if (!seen[1]) return "RFC 9113 §8.3.1: no :scheme";
  if (!seen[3] || out.path.empty()) return "RFC 9113 §8.3.1: no :path, or an empty one";
  // RFC 9113 §8.3.1: :path is an absolute path (origin-form), or "*" for OPTIONS.
  if (out.path[0] != '/' && !(out.path == "*" && out.method == "OPTIONS"))
    return "RFC 9113 §8.3.1: :path " + out.path + " is not an absolute path";
  return "";
}

std::string check_trailers(const hpack::HeaderList& fields) {
  for (const hpack::Header& h : fields) {
    // RFC 9113 §8.1: trailers MUST NOT include pseudo-header fields.
    if (!h.name.empty() && h.name[0] == ':')
      return "RFC 9113 §8.1: pseudo-header " + h.name + " in trailers";
    if (std::string e = check_regular(h); !e.empty()) return e;
  }
  return "";
}

}  // namespace h2
