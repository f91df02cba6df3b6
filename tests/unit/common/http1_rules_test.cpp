// The HTTP/1.1 parser against the rules of RFC 9112 and RFC 9110 that a request
// smuggler leans on: chunked framing, bare CR and LF, repeated fields, Host, and
// verdicts that must not depend on how TCP split the bytes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/http1.h"

using http::ParseResult;
using http::Request;
using http::Status;

static ParseResult parse(std::string_view in, Request& req, http::Limits limits = {}) {
  return http::parse_request(in, limits, req);
}

static std::string chunked(std::string_view body_bytes) {
  return "POST /messages HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(body_bytes);
}

static int status_of(std::string_view in) {
  Request req;
  ParseResult r = parse(in, req);
  if (r.status == Status::need_more) return 0;
  return r.status == Status::done ? 200 : r.http_status;
}

TEST_CASE("RFC 9112 §7.1.1: chunk extensions follow the chunk-ext grammar") {
  CHECK(status_of(chunked("1;a\r\nx\r\n0\r\n\r\n")) == 200);
  CHECK(status_of(chunked("1;a=b\r\nx\r\n0\r\n\r\n")) == 200);
  CHECK(status_of(chunked("1 ; a = \"q \\\" d\" ;b\r\nx\r\n0;z\r\n\r\n")) == 200);
  CHECK(status_of(chunked("1;\r\nx\r\n0\r\n\r\n")) == 400);  // no name
  CHECK(status_of(chunked("1;a=\r\nx\r\n0\r\n\r\n")) == 400);  // no value
  CHECK(status_of(chunked("1;a b\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1;a=\"open\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1;a=b@c\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1;a\x01\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1x\r\nx\r\n0\r\n\r\n")) == 400);
}

TEST_CASE("RFC 9112 §7.1: no whitespace is trimmed around the chunk size") {
  CHECK(status_of(chunked(" 1\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1 \r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1\t\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0 \r\n\r\n")) == 400);
  CHECK(status_of(chunked("\r\n0\r\n\r\n")) == 400);  // empty size
  CHECK(status_of(chunked("+1\r\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0x1\r\nx\r\n0\r\n\r\n")) == 400);
}

TEST_CASE("RFC 9112 §7.1.2: a trailer line is a field line") {
  CHECK(status_of(chunked("0\r\nX-T: 1\r\n\r\n")) == 200);
  CHECK(status_of(chunked("0\r\nno colon here\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0\r\nX T: 1\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0\r\nX: 1\r\n folded\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0\r\nX: a\x01\r\n\r\n")) == 400);
}

TEST_CASE("RFC 9112 §2.2: bare LF and bare CR are refused, in the head and in chunks") {
  // The smuggling case of issue 11: with bare LF as a line end, a front end sees a
  // second request (GET /style.css) where a lax trailer parser sees trailers.
  std::string smuggle = chunked("0\r\n\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
  Request req;
  ParseResult r = parse(smuggle, req);
  CHECK(r.status == Status::error);
  CHECK(r.http_status == 400);
  CHECK(status_of(chunked("1\nx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1\rx\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("1\r\nx\n0\r\n\r\n")) == 400);
  CHECK(status_of(chunked("0\r\nX: 1\n\r\n")) == 400);
  CHECK(status_of(chunked("0\r\nX: 1\r\r\n\r\n")) == 400);
  CHECK(status_of("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n") == 400);
  CHECK(status_of("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  // Refused as soon as the bare LF is seen, not after the head timeout.
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\n\nmore") == 400);
}

TEST_CASE("RFC 9110 §5.3: repeated field lines are one comma-separated field") {
  Request req;
  REQUIRE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                "Connection: close\r\n\r\n",
                req)
              .status == Status::done);
  REQUIRE(req.header("connection"));
  CHECK(*req.header("connection") == "keep-alive, close");
  // RFC 9112 §9.6: "close" anywhere in Connection closes.
  CHECK(!req.keep_alive);
  REQUIRE(parse("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                req)
              .status == Status::done);
  CHECK(http::has_token(*req.header("connection"), "upgrade"));
}

TEST_CASE("RFC 9110 §8.6: a repeated Content-Length is refused, even when equal") {
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                  "Content-Length: 1\r\n\r\nx") == 400);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx") == 400);
}

TEST_CASE("RFC 9112 §3.2: Host must be present once, and valid") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost: localhost:8001\r\n\r\n") == 200);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: [::1]:8001\r\n\r\n") == 200);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: \r\n\r\n") == 200);  // empty is allowed
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n") == 200);  // sub-delims
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == 200);
}

TEST_CASE("RFC 9112 §3.2, RFC 3986 §2: a request-target is ASCII") {
  CHECK(status_of("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n") == 200);
}

TEST_CASE("RFC 9112 §3.2.2: absolute-form, scheme and host in any case, query kept") {
  Request req;
  REQUIRE(
      parse("GET HTTP://LocalHost:8001/style.css?v=1 HTTP/1.1\r\nHost: x\r\n\r\n", req)
          .status == Status::done);
  CHECK(req.path == "/style.css");
  CHECK(req.query == "v=1");
  CHECK(req.target == "/style.css?v=1");
  // The target's authority replaces Host (RFC 9112 §3.2.2: Host is ignored).
  CHECK(*req.header("host") == "LocalHost:8001");
  REQUIRE(parse("GET hTtPs://a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", req).status ==
          Status::done);
  CHECK(req.path == "/");
  CHECK(req.query == "x=1");
  CHECK(status_of("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("RFC 9110 §10.1.1: a complete head with Expect: 100-continue is reported") {
  Request req;
  ParseResult r = parse(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
      "Expect: 100-continue\r\n\r\n",
      req);
  CHECK(r.status == Status::need_more);
  CHECK(r.expects_continue);
  r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", req);
  CHECK(!r.expects_continue);
  // RFC 9110 §10.1.1: an HTTP/1.0 request's 100-continue is ignored.
  r = parse("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", req);
  CHECK(!r.expects_continue);
  // Over the limit: the final status at once, not after the body.
  r = parse(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n"
      "Expect: 100-continue\r\n\r\n",
      req);
  CHECK(r.http_status == 413);
}

TEST_CASE("RFC 9110 §10.1.1: an expectation other than 100-continue gets 417") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n") == 417);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                  "Expect: 100-continue, x\r\n\r\n") == 417);
  // Matched case-insensitively (RFC 9110 §10.1.1: the value is case-insensitive).
  Request req;
  ParseResult r = parse(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
      "Expect: 100-Continue\r\n\r\n",
      req);
  CHECK(r.status == Status::need_more);
  CHECK(r.expects_continue);
  // HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1).
  r = parse("GET / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n", req);
  CHECK(r.status == Status::done);
}

// Feeds `in` as two writes split at every point, with one Progress for the
// request (as the server does), and checks the verdict is the one-write verdict.
static void check_every_split(const std::string& in, http::Limits limits = {}) {
  Request whole_req;
  ParseResult whole = parse(in, whole_req, limits);
  for (size_t split = 0; split <= in.size(); ++split) {
    http::Progress progress;
    Request req;
    ParseResult first = http::parse_request(std::string_view(in).substr(0, split), limits,
                                            req, &progress);
    ParseResult r = first;
    if (first.status == Status::need_more)
      r = http::parse_request(in, limits, req, &progress);
    INFO("split at " << split << " of " << in.size());
    REQUIRE(r.status == whole.status);
    CHECK(r.http_status == whole.http_status);
    CHECK(r.consumed == whole.consumed);
    if (r.status == Status::done) CHECK(req.body == whole_req.body);
  }
}

TEST_CASE("limits hold for every TCP split: the same bytes get the same verdict") {
  std::string ext(1100, 'e');
  // A 1,100-byte chunk line: over the 1,024-byte limit however it arrives.
  check_every_split(chunked("1;" + ext + "\r\nx\r\n0\r\n\r\n"));
  CHECK(status_of(chunked("1;" + ext + "\r\nx\r\n0\r\n\r\n")) == 400);
  // Trailers over the head limit (8 KiB): 431 however they arrive.
  std::string trailers = "0\r\n";
  for (int i = 0; i < 10; ++i)
    trailers += "X-T" + std::to_string(i) + ": " + std::string(1000, 't') + "\r\n";
  check_every_split(chunked(trailers + "\r\n"));
  CHECK(status_of(chunked(trailers + "\r\n")) == 431);
  // Good requests, and the bare-LF smuggle.
  check_every_split(chunked("5;note=x\r\nhello\r\n3\r\n, w\r\n0\r\nX-T: y\r\n\r\n"));
  check_every_split(chunked("0\r\n\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n"));
  check_every_split("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  check_every_split("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a') +
                    "\r\n\r\n");
}

TEST_CASE("every prefix of a chunked request, fed in order with one Progress") {
  std::string in = chunked("5;note=x\r\nhello\r\n3\r\n, w\r\n0\r\nX-T: y\r\n\r\n");
  http::Progress progress;
  Request req;
  for (size_t n = 0; n < in.size(); ++n) {
    INFO("prefix " << n);
    REQUIRE(http::parse_request(std::string_view(in).substr(0, n), {}, req, &progress)
                .status == Status::need_more);
  }
  ParseResult r = http::parse_request(in, {}, req, &progress);
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == in.size());
  CHECK(req.body == "hello, w");
}

TEST_CASE("RFC 9112 §7.1: a chunk once read is kept in Progress, not read again") {
  std::string in = chunked("5\r\nhello\r\n3\r\n, w\r\n0\r\n\r\n");
  size_t second = in.find("3\r\n");
  http::Progress progress;
  Request req;
  REQUIRE(
      http::parse_request(std::string_view(in).substr(0, second + 2), {}, req, &progress)
          .status == Status::need_more);
  // The first chunk is done with: the next call starts at the second chunk line.
  CHECK(progress.body == "hello");
  CHECK(progress.pos == second);
  // So bytes before it are not looked at again (here: changed, and not noticed).
  std::string changed = in;
  changed[second - 3] = 'J';
  ParseResult r = http::parse_request(changed, {}, req, &progress);
  REQUIRE(r.status == Status::done);
  CHECK(req.body == "hello, w");
  // Done resets it for the next request.
  CHECK(progress.pos == 0);
  CHECK(progress.body.empty());
}
