// --trace-page's router (common/trace_page.h): which trace lines a page is shown,
// and the bounds on what is kept. The state is the process's own, so each case
// uses connection ids and tokens of its own.
#include <doctest/doctest.h>

#include <string>

#include "common/json.h"
#include "common/log.h"
#include "common/trace_page.h"

namespace {

// GET /trace?page=TOKEN&after=N, parsed.
json::Value fetch(const std::string& token, uint64_t after = 0) {
  http::Request req;
  req.query = "page=" + token + "&after=" + std::to_string(after);
  http::Response r = trace_page::answer(req);
  REQUIRE(r.status == 200);
  auto parsed = json::parse(r.body);
  REQUIRE(parsed.value);
  return *parsed.value;
}

std::vector<std::string> lines(const json::Value& v) {
  std::vector<std::string> out;
  for (const json::Value& l : v.find("lines")->as_array())
    out.push_back(l.as_string());
  return out;
}

}  // namespace

TEST_CASE("trace page: a connection's lines go to the page of the request it carries") {
  trace_page::enable();
  const std::string a = "aaaaaaaaaaaaaaaa01", b = "bbbbbbbbbbbbbbbb01";
  trace_page::bind(101, a);
  trace_page::bind(102, b);
  logs::trace("#101 ← GET /messages HTTP/1.1");
  logs::trace("#102 ← POST /messages HTTP/1.1");
  logs::trace("#103 ← GET / HTTP/1.1");  // no page's
  CHECK(lines(fetch(a)) == std::vector<std::string>{"#101 ← GET /messages HTTP/1.1"});
  CHECK(lines(fetch(b)) == std::vector<std::string>{"#102 ← POST /messages HTTP/1.1"});
  // The next request on 101 names no page: its lines are nobody's.
  trace_page::bind(101, std::nullopt);
  logs::trace("#101 ← GET /style.css HTTP/1.1");
  CHECK(lines(fetch(a)).size() == 1);
}

TEST_CASE("trace page: after= asks only for newer lines") {
  trace_page::enable();
  const std::string t = "cccccccccccccccc01";
  trace_page::bind(201, t);
  logs::trace("#201 one");
  json::Value first = fetch(t);
  const auto next = static_cast<uint64_t>(first.find("next")->as_number());
  logs::trace("#201 two");
  CHECK(lines(fetch(t, next)) == std::vector<std::string>{"#201 two"});
  CHECK(lines(fetch(t, next + 1)).empty());
}

TEST_CASE("trace page: a malformed token binds nothing and GET /trace answers 400") {
  trace_page::enable();
  trace_page::bind(301, "short");
  trace_page::bind(302, "has spaces in it, many");
  logs::trace("#301 x");
  http::Request req;
  req.query = "page=short";
  CHECK(trace_page::answer(req).status == 400);
  req.query = "";
  CHECK(trace_page::answer(req).status == 400);
}

TEST_CASE("trace page: an Engine.IO session follows the connection that opened it") {
  trace_page::enable();
  const std::string t = "dddddddddddddddd01";
  trace_page::bind(401, t);
  trace_page::alias("SIDSIDSIDSIDSIDSID01", 401);
  logs::trace("eio SIDSIDSIDSIDSIDSID01 → polling 0{}");
  logs::trace("sio SIDSIDSIDSIDSIDSID01 ← CONNECT / {}");
  logs::trace("eio OTHEROTHEROTHEROT01 → polling 0{}");
  logs::trace("sio → 2 socket(s) EVENT / [\"msg:new\"]");  // a broadcast: nobody's
  CHECK(lines(fetch(t)) == std::vector<std::string>{
                               "eio SIDSIDSIDSIDSIDSID01 → polling 0{}",
                               "sio SIDSIDSIDSIDSIDSID01 ← CONNECT / {}"});
}

TEST_CASE("trace page: a muted HTTP/2 stream (its GET /trace) is taken back and left out") {
  trace_page::enable();
  const std::string t = "eeeeeeeeeeeeeeee01";
  trace_page::bind(501, t);
  logs::trace("#501 ← HEADERS stream=1 len=9 flags=END_HEADERS  [..]");
  logs::trace("#501 ←   :path: /messages");
  logs::trace("#501 ← HEADERS stream=3 len=9 flags=END_HEADERS  [..]");
  logs::trace("#501 ←   :path: /trace?page=x");
  trace_page::mute(501, 3);
  logs::trace("#501 → HEADERS stream=3 len=4 flags=END_HEADERS  [..]");
  logs::trace("#501 →   :status: 200");
  logs::trace("#501 → DATA stream=1 len=3  [..]");
  logs::trace("#501 → SETTINGS stream=0 len=0 flags=ACK  [..]");
  CHECK(lines(fetch(t)) == std::vector<std::string>{
                               "#501 ← HEADERS stream=1 len=9 flags=END_HEADERS  [..]",
                               "#501 ←   :path: /messages",
                               "#501 → DATA stream=1 len=3  [..]",
                               "#501 → SETTINGS stream=0 len=0 flags=ACK  [..]"});
}

TEST_CASE("trace page: a page keeps its latest 400 lines, of 400 bytes at most") {
  trace_page::enable();
  const std::string t = "ffffffffffffffff01";
  trace_page::bind(601, t);
  for (int i = 0; i < 450; ++i) logs::trace("#601 line %d", i);
  logs::trace("#601 %s", std::string(1000, 'x').c_str());
  json::Value v = fetch(t);
  CHECK(v.find("dropped")->as_number() == 51);
  std::vector<std::string> got = lines(v);
  REQUIRE(got.size() == 200);  // one answer brings 200 lines; `next` asks for more
  CHECK(got.front() == "#601 line 51");
  v = fetch(t, static_cast<uint64_t>(v.find("next")->as_number()));
  got = lines(v);
  REQUIRE(got.size() == 200);
  CHECK(got.back().size() == 400 + std::string("…").size());
}
