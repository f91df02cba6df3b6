// Connection state recovery's stores (04-socketio-lite/io_recovery.h): session
// records round-trip, and the replay log's offsets are "<history id>-<n>" of this
// log only, at most its head, and refused once they fell out of what it keeps.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <string>

#include "04-socketio-lite/io_recovery.h"
#include "common/loop.h"

static json::Value js(std::string_view text) {
  json::ParseResult r = json::parse(text);
  REQUIRE_MESSAGE(r.value, r.error);
  return *r.value;
}

// Appends one packet and runs the loop's turn that makes it durable.
static std::string append(loop::Loop& loop, sio::ReplayLog& log, std::string_view data,
                          std::set<std::string> rooms = {}) {
  std::string offset = "unset";
  log.append(sio::Replayable{"", "/", js(data), std::move(rooms), {}},
             [&](const std::string& o) { offset = o; });
  loop.run_once();
  return offset;
}

TEST_CASE("session records: what session_json writes, read_session reads back") {
  sio::Session s;
  s.pid = "p1";
  s.sid = "s1";
  s.nsp = "/";
  s.rooms = {"general", "s1"};
  s.data = js(R"({"user":"ada","room":"general"})");
  s.offset = "9f2c1e0a7b3d5f61-7";
  s.disconnected_at = 1732280000000;
  auto back = sio::read_session(js(sio::session_json(s)));
  REQUIRE(back);
  CHECK(back->pid == "p1");
  CHECK(back->sid == "s1");
  CHECK(back->rooms == s.rooms);
  CHECK(json::stringify(back->data) == R"({"user":"ada","room":"general"})");
  CHECK(back->offset == s.offset);
  CHECK(back->disconnected_at == s.disconnected_at);
  CHECK_FALSE(sio::read_session(js(R"({"pid":"p1","sid":"s1"})")));
  CHECK_FALSE(sio::read_session(js(
      R"({"pid":"p","sid":"s","nsp":"/","rooms":[1],"data":{},"offset":"x","disconnected_at":0})")));
}

TEST_CASE("replay log: offsets are this history's, in order, at most the head") {
  loop::Loop loop;
  chat::Journal journal(loop, 3);
  REQUIRE(journal.open(chat::StoreOptions{"none", "turn"}) == "");
  sio::JournalReplayLog log(journal);
  const std::string id = journal.id();
  CHECK(log.head() == id + "-0");
  CHECK(append(loop, log, R"(["msg:new",{"id":1}])", {"general"}) == id + "-1");
  CHECK(append(loop, log, R"(["msg:new",{"id":2}])") == id + "-2");
  CHECK(log.head() == id + "-2");

  auto all = log.after(id + "-0");
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].offset == id + "-1");
  CHECK((*all)[0].rooms == std::set<std::string>{"general"});
  CHECK(json::stringify((*all)[1].data) == R"(["msg:new",{"id":2}])");
  CHECK(log.after(id + "-2")->empty());

  SUBCASE("an offset of another history is not ours") {
    CHECK_FALSE(log.after("ffffffffffffffff-1"));
  }
  SUBCASE("an offset past the head is not ours") {
    CHECK_FALSE(log.after(id + "-3"));
  }
  SUBCASE("a malformed offset is not ours") {
    for (const std::string& bad :
         std::vector<std::string>{"", "-1", id, id + "-", id + "-+1", id + "-1.0",
                                  id + "1", id + "- 1", id + "-99999999999999999999"})
      CHECK_FALSE(log.after(bad));
  }
  SUBCASE("an offset that fell out of the kept packets is refused") {
    for (int i = 3; i <= 6; ++i)
      append(loop, log, R"(["x"])");
    CHECK_FALSE(log.after(id + "-0"));  // 1..3 are gone: the replay would have a gap
    CHECK(log.after(id + "-3"));
  }
  SUBCASE("not_after orders two offsets of the log") {
    CHECK(log.not_after(id + "-0", id + "-2"));
    CHECK(log.not_after(id + "-2", id + "-2"));
    CHECK_FALSE(log.not_after(id + "-2", id + "-1"));
    CHECK_FALSE(log.not_after("ffffffffffffffff-0", id + "-1"));
  }
}

TEST_CASE("session store: the last record of a pid wins when the file is read back") {
  char dir[] = "/tmp/recovery-test-XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string path = std::string(dir) + "/chat.log.sessions";
  sio::Session s;
  s.pid = "p1";
  s.sid = "s1";
  s.nsp = "/";
  s.offset = "h-0";
  {
    sio::FileSessionStore store;
    REQUIRE(store.open(path) == "");
    store.save(s);
    s.rooms = {"general"};
    store.save(s);
    sio::Session gone = s;
    gone.pid = "p2";
    store.save(gone);
    store.erase("p2");
  }
  sio::FileSessionStore again;
  REQUIRE(again.open(path) == "");
  CHECK(again.size() == 1);
  auto back = again.find("p1");
  REQUIRE(back);
  CHECK(back->rooms == std::set<std::string>{"general"});
  // Held when the node stopped: its window starts at the restart.
  CHECK(back->disconnected_at > 0);
  CHECK_FALSE(again.find("p2"));
  again.expire(back->disconnected_at + 1);
  CHECK(again.size() == 0);
  std::remove(path.c_str());
  rmdir(dir);
}

// Memory only (--data none), a connected socket's session is only its pid: its
// rooms and data are in the socket, saved in full when it drops.
TEST_CASE(
    "session store, memory only: a connected session's pid is in use, a dropped one "
    "comes back whole") {
  sio::FileSessionStore store;
  REQUIRE(store.open("none") == "");
  sio::Session s;
  s.pid = "p1";
  s.sid = "s1";
  s.rooms = {"general", "s1"};
  s.data = js(R"({"user":"ada"})");
  s.offset = "h-3";
  store.save(s);  // connected: disconnected_at 0
  CHECK(store.size() == 1);
  auto held = store.find("p1");
  REQUIRE(held);
  CHECK(held->disconnected_at == 0);
  const char* why = nullptr;
  bool answered = false;
  store.claim("p1", [&](std::optional<sio::Session> session, const char* refused) {
    answered = true;
    CHECK_FALSE(session);
    why = refused;
  });
  CHECK(answered);
  REQUIRE(why);
  CHECK(std::string(why).find("in use") != std::string::npos);
  s.disconnected_at = 1000;
  store.save(s);
  CHECK(store.size() == 1);
  std::optional<sio::Session> back;
  store.claim("p1", [&](std::optional<sio::Session> session, const char* refused) {
    CHECK_FALSE(refused);
    back = std::move(session);
  });
  REQUIRE(back);
  CHECK(back->sid == "s1");
  CHECK(back->rooms == s.rooms);
  CHECK(json::stringify(back->data) == R"({"user":"ada"})");
  CHECK(back->offset == "h-3");
  store.erase("p1");
  CHECK(store.size() == 0);
  CHECK_FALSE(store.find("p1"));
  // Connected again, then gone on purpose: forgotten.
  s.disconnected_at = 0;
  store.save(s);
  store.erase("p1");
  CHECK(store.size() == 0);
}
