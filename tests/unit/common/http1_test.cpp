// The HTTP/1.1 request parser (common/http1.h), fed from memory.
#include <doctest/doctest.h>

#include <string>

#include "common/http1.h"

using http::ParseResult;
using http::Request;
using http::Status;

static ParseResult parse(std::string_view in, Request& req, http::Limits limits = {}) {
  return http::parse_request(in, limits, req);
}

static const std::string kGet =
    "GET /messages?since=12&wait=0 HTTP/1.1\r\n"
    "Host: localhost:8001\r\n"
    "Accept: application/json\r\n"
    "\r\n";

static const std::string kPost =
    "POST /messages HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 26\r\n"
    "\r\n"
    "{\"user\":\"ada\",\"text\":\"hi\"}";

static const std::string kChunked =
    "POST /messages HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;note=x\r\n{\"use\r\n"
    "15\r\nr\":\"ada\",\"text\":\"hi\"}\r\n"
    "0\r\n"
    "Trailer-Field: dropped\r\n"
    "\r\n";

TEST_CASE("a GET request: request line, headers, query parameters") {
  Request req;
  ParseResult r = parse(kGet, req);
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == kGet.size());
  CHECK(req.method == "GET");
  CHECK(req.target == "/messages?since=12&wait=0");
  CHECK(req.path == "/messages");
  CHECK(req.param("since") == "12");
  CHECK(req.param("wait") == "0");
  CHECK(!req.param("nope"));
  REQUIRE(req.header("host"));
  CHECK(*req.header("host") == "localhost:8001");
  CHECK(req.keep_alive);
  CHECK(req.body.empty());
}

TEST_CASE("every prefix of a request needs more; the whole is done") {
  for (const std::string* msg : {&kGet, &kPost, &kChunked}) {
    for (size_t n = 0; n < msg->size(); ++n) {
      Request req;
      ParseResult r = parse(std::string_view(*msg).substr(0, n), req);
      INFO("prefix of " << n << " bytes");
      CHECK(r.status == Status::need_more);
    }
    Request req;
    ParseResult r = parse(*msg, req);
    REQUIRE(r.status == Status::done);
    CHECK(r.consumed == msg->size());
    if (msg != &kGet) CHECK(req.body == "{\"user\":\"ada\",\"text\":\"hi\"}");
  }
}

TEST_CASE("a request arriving one byte at a time") {
  std::string buffer;
  Request req;
  ParseResult r;
  for (char c : kPost) {
    buffer += c;
    r = parse(buffer, req);
    if (r.status != Status::need_more) break;
  }
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == kPost.size());
  CHECK(req.body.size() == 26);
}

TEST_CASE("pipelined requests in one read are parsed one after another") {
  std::string in = kGet + kPost + kGet;
  std::string_view rest = in;
  std::vector<std::string> methods;
  while (!rest.empty()) {
    Request req;
    ParseResult r = parse(rest, req);
    REQUIRE(r.status == Status::done);
    methods.push_back(req.method);
    rest.remove_prefix(r.consumed);
  }
  CHECK(methods == std::vector<std::string>{"GET", "POST", "GET"});
}

TEST_CASE("keep-alive defaults: HTTP/1.1 on unless close, HTTP/1.0 off unless asked") {
  Request req;
  REQUIRE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", req).status ==
          Status::done);
  CHECK(!req.keep_alive);
  REQUIRE(parse("GET / HTTP/1.0\r\n\r\n", req).status == Status::done);
  CHECK(!req.keep_alive);
  REQUIRE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", req).status ==
          Status::done);
  CHECK(req.keep_alive);
}

TEST_CASE("limits: head over 8 KiB is 431, body over 64 KiB is 413") {
  Request req;
  std::string big =
      "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  ParseResult r = parse(big, req);
  CHECK(r.status == Status::error);
  CHECK(r.http_status == 431);
  // Refused before the end of the head arrives: no need to buffer the rest.
  r = parse(std::string_view(big).substr(0, 8300), req);
  CHECK(r.http_status == 431);

  r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n", req);
  CHECK(r.http_status == 413);
  r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65536\r\n\r\n", req);
  CHECK(r.status == Status::need_more);

  std::string chunked =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  chunked += "10001\r\n";
  CHECK(parse(chunked, req).http_status == 413);
}

TEST_CASE("malformed requests are 400, with a reason naming the rule") {
  const char* bad[] = {
      "GET /\r\nHost: a\r\n\r\n",  // no version
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",  // two spaces
      "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",  // trailing space
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",  // method not a token
      "GET / HTTQ/1.1\r\nHost: a\r\n\r\n",  // bad version
      "GET nothing HTTP/1.1\r\nHost: a\r\n\r\n",  // not origin-form
      "GET / HTTP/1.1\r\n\r\n",  // no Host
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",  // space before colon
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",  // no colon
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",  // obs-fold
      "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",  // control in value
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  };
  for (const char* in : bad) {
    Request req;
    ParseResult r = parse(in, req);
    INFO(in);
    CHECK(r.status == Status::error);
    CHECK(r.http_status == 400);
    CHECK(!r.reason.empty());
  }
}

TEST_CASE("unsupported transfer codings are 501, other HTTP versions 505") {
  Request req;
  CHECK(
      parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", req)
          .http_status == 501);
  // RFC 9112 §6.3: a request whose final coding is not chunked has no knowable length.
  CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", req)
            .http_status == 400);
  CHECK(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", req).http_status == 505);
}

TEST_CASE("leading empty lines are skipped; absolute-form keeps the path") {
  Request req;
  REQUIRE(
      parse("\r\nGET http://localhost:8001/messages?since=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            req)
          .status == Status::done);
  CHECK(req.path == "/messages");
  CHECK(req.param("since") == "1");
}

TEST_CASE("has_token reads comma-separated lists, ignoring case") {
  CHECK(http::has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(http::has_token("Upgrade", "upgrade"));
  CHECK(!http::has_token("upgrades", "upgrade"));
  CHECK(!http::has_token("", "upgrade"));
}

TEST_CASE("serialize writes the status line, length and headers") {
  http::Response r;
  r.status = 405;
  r.body = "no\n";
  r.headers.push_back({"Allow", "GET, POST"});
  std::string out = http::serialize(r, false);
  // Date is the current time (RFC 9110 §5.6.7 IMF-fixdate): check its shape, then drop
  // it.
  size_t at = out.find("Date: ");
  REQUIRE(at != std::string::npos);
  size_t eol = out.find("\r\n", at);
  std::string date = out.substr(at + 6, eol - at - 6);
  CHECK(date.size() == 29);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(date.substr(3, 2) == ", ");
  CHECK(date.substr(25) == " GMT");
  out.erase(at, eol + 2 - at);
  CHECK(out ==
        "HTTP/1.1 405 Method Not Allowed\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 3\r\n"
        "Allow: GET, POST\r\n"
        "Connection: close\r\n"
        "\r\n"
        "no\n");
  CHECK(at == out.find("Content-Type"));  // right after the status line
}

TEST_CASE("busy_response is a whole 503 that closes the connection") {
  std::string r = http::busy_response();
  CHECK(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(r.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(r.find("\r\nConnection: close\r\n") != std::string::npos);
  size_t body = r.find("\r\n\r\n") + 4;
  CHECK(r.find("Content-Length: " + std::to_string(r.size() - body) + "\r\n") !=
        std::string::npos);
}
