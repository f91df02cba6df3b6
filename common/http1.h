// HTTP/1.1 messages (RFC 9112): a request parser over bytes and a response writer.
//
// parse_request(bytes, limits, request) looks at the unconsumed input and returns:
//   done      request filled in; `consumed` bytes belong to it (pipelined
//             requests that follow are left for the next call)
//   need_more the request is not complete yet; call again with more bytes
//   error     `status` (400, 408, 411, 413, 431, 501, 505) and `reason`, which names
//             the rule; the connection is answered with that status and closed
// The head is parsed again from its start on every call, which costs little
// because a head is at most 8 KiB. A chunked body can be far longer (up to the
// input cap, 1 MiB, with its framing), so a caller that passes a Progress has the
// chunks already read kept there, and each call reads only the bytes that are new.
// Without one (or with a fresh one) the whole request is read from its start.
// The verdict never depends on how the bytes were split: every limit is checked on
// what has arrived, whether or not the line it is in is complete.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace http {

struct Header {
  std::string name;  // lower-cased: field names are case-insensitive (RFC 9110 §5.1)
  std::string value;
};

struct Request {
  std::string method;
  std::string target;  // as sent: /messages?since=3
  std::string path;  // /messages
  std::string query;  // since=3
  int minor_version = 1;
  std::vector<Header> headers;
  std::string body;
  bool keep_alive = true;

  // The first field with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const;
  // A query parameter's raw value, or nullptr.
  std::optional<std::string_view> param(std::string_view name) const;
};

struct Limits {
  size_t max_head = 8 * 1024;
  size_t max_body = 64 * 1024;
};

enum class Status { done, need_more, error };

struct ParseResult {
  Status status = Status::need_more;
  size_t consumed = 0;
  int http_status = 0;
  std::string reason;
  // need_more with the head complete, an HTTP/1.1 `Expect: 100-continue`, and the
  // body still to come: the caller sends 100 Continue (RFC 9110 §10.1.1).
  bool expects_continue = false;
};

// How far a chunked body that is still arriving has been read: offsets into the
// same input (which must start at the same request on every call).
struct Progress {
  size_t pos = 0;  // the next chunk line, or trailer line, starts here (0: not begun)
  bool in_trailers = false;
  size_t trailers_start = 0;
  std::string body;  // the chunk data so far
};

ParseResult parse_request(std::string_view in, const Limits& limits, Request& out,
                          Progress* progress = nullptr);

// True when a comma-separated field value contains token (case-insensitive),
// e.g. has_token("keep-alive, Upgrade", "upgrade").
bool has_token(std::string_view list, std::string_view token);
bool iequals(std::string_view a, std::string_view b);

const char* status_text(int status);

struct Response {
  int status = 200;
  std::vector<Header> headers;  // written as given, after Content-Length
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

// 503 with Retry-After: 1 and Connection: close, for a connection refused over
// --max-connections. Made once at start-up, so without a Date (RFC 9110 §6.6.1
// makes Date optional in a 5xx answer).
std::string busy_response();

// The current time as an HTTP date (RFC 9110 §5.6.7), e.g. for a Date header.
const std::string& http_date();

// The status line, Date, Content-Type, Content-Length, the headers, and the body.
std::string serialize(const Response& response, bool keep_alive);

}  // namespace http
