// The log file (common/store.h) and the Journal that keeps rooms in it (common/chat.h).
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/chat.h"
#include "common/loop.h"
#include "common/store.h"

namespace {

// A fresh folder per test, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/store-test-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string file(const char* name) const { return path + "/" + name; }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

chat::StoreOptions at(const std::string& path, const char* fsync = "turn") {
  return chat::StoreOptions{path, fsync};
}

// Posts through the journal and runs the loop's turn that commits it.
chat::Posted post(loop::Loop& loop, chat::Room& room, std::string user, std::string text,
                  std::string cid = "") {
  chat::Posted result;
  bool done = false;
  room.post(chat::Post{std::move(user), std::move(text), std::move(cid)},
            [&](const chat::Posted& p) {
              result = p;
              done = true;
            });
  loop.run_once();
  REQUIRE(done);
  return result;
}

std::vector<std::string> texts(const chat::Room& room) {
  std::vector<std::string> out;
  for (const chat::Message* m : room.after(0).messages)
    out.push_back(m->text);
  return out;
}

}  // namespace

TEST_CASE("RFC 3720 §B.4: CRC-32C check value and examples") {
  CHECK(store::crc32c("123456789") == 0xE3069283u);
  CHECK(store::crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(store::crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i)
    ascending += static_cast<char>(i);
  CHECK(store::crc32c(ascending) == 0x46DD794Eu);
  // Fed in two parts, the same CRC as in one.
  CHECK(store::crc32c("6789", store::crc32c("12345")) == 0xE3069283u);
}

TEST_CASE("a record is length, CRC-32C, payload, newline; every prefix needs more") {
  std::string record = store::frame("123456789");
  CHECK(record == "00000009 e3069283 123456789\n");
  for (size_t n = 0; n < record.size(); ++n)
    CHECK(store::read_record(std::string_view(record).substr(0, n)).status ==
          store::ReadResult::Status::need_more);
  const std::string more = record + "more";
  store::ReadResult r = store::read_record(more);
  REQUIRE(r.status == store::ReadResult::Status::done);
  CHECK(r.size == record.size());
  CHECK(r.payload == "123456789");
}

TEST_CASE("a record whose CRC, length or newline is wrong is an error") {
  using S = store::ReadResult::Status;
  CHECK(store::read_record("00000009 e3069284 123456789\n").status == S::error);
  CHECK(store::read_record("00000009 e3069283 123456788\n").status == S::error);
  CHECK(store::read_record("00000009 e3069283 123456789x").status == S::error);
  CHECK(store::read_record("0000000G").status == S::error);
  CHECK(store::read_record("00000009:").status == S::error);
  CHECK(store::read_record("ffffffff 00000000 ").status == S::error);
}

TEST_CASE("scan: a bad last line is torn, a bad line with lines after it is damage") {
  std::string good = store::frame("{\"a\":1}") + store::frame("{\"b\":2}");
  store::Scan clean = store::scan(good);
  CHECK(clean.records.size() == 2);
  CHECK(clean.good == good.size());
  CHECK(clean.torn == 0);

  std::string torn = good + store::frame("{\"c\":3}").substr(0, 12);
  store::Scan t = store::scan(torn);
  CHECK(t.records.size() == 2);
  CHECK(t.good == good.size());
  CHECK(t.torn == 12);
  CHECK(t.error.empty());

  std::string damaged = good;
  damaged[store::frame("{\"a\":1}").size() + 20] = 'X';  // inside the second payload
  damaged += store::frame("{\"c\":3}");
  store::Scan d = store::scan(damaged);
  CHECK(d.records.size() == 1);
  CHECK(d.torn == 0);
  CHECK(d.error == "CRC-32C does not match the payload");
  CHECK(d.error_offset == store::frame("{\"a\":1}").size());
}

TEST_CASE("a journal reads back its history, its next id and its identity") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  std::string identity;
  {
    loop::Loop loop;
    chat::Journal journal(loop, 100);
    REQUIRE(journal.open(at(path)) == "");
    identity = journal.id();
    CHECK(identity.size() == 16);
    chat::Room& room = journal.room("");
    CHECK(post(loop, room, "ada", "one").message.id == 1);
    CHECK(post(loop, room, "bob", "two\nlines \"quoted\"").message.id == 2);
  }
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(path)) == "");
  CHECK(journal.id() == identity);
  chat::Room& room = journal.room("");
  CHECK(room.last_id() == 2);
  CHECK(texts(room) == std::vector<std::string>{"one", "two\nlines \"quoted\""});
  CHECK(post(loop, room, "ada", "three").message.id == 3);

  // A deleted file, or memory only: a new identity.
  TempDir other;
  chat::Journal fresh(loop, 100);
  REQUIRE(fresh.open(at(other.file("chat.log"))) == "");
  CHECK(fresh.id() != identity);
  chat::Journal memory(loop, 100);
  REQUIRE(memory.open(at("none")) == "");
  CHECK(memory.id() != identity);
  CHECK(memory.describe() == "none (memory only)");
}

TEST_CASE("group commit: a post is seen by nobody before the end of the turn") {
  TempDir dir;
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(dir.file("chat.log"))) == "");
  chat::Room& room = journal.room("");
  int answered = 0;
  for (int i = 0; i < 3; ++i)
    room.post(chat::Post{"ada", "m" + std::to_string(i), ""}, [&](const chat::Posted& p) {
      CHECK(p.fresh);
      // By the first answer every record of the turn is visible.
      CHECK(room.last_id() == 3);
      ++answered;
    });
  CHECK(answered == 0);
  CHECK(room.last_id() == 0);
  CHECK(room.after(0).messages.empty());
  CHECK(room.latest(50).messages.empty());
  loop.run_once();
  CHECK(answered == 3);
  CHECK(room.after(0).messages.size() == 3);
}

TEST_CASE("torn tails: the last record cut at every byte offset is dropped, no more") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  {
    loop::Loop loop;
    chat::Journal journal(loop, 100);
    REQUIRE(journal.open(at(path)) == "");
    chat::Room& room = journal.room("");
    post(loop, room, "ada", "one", "c1");
    post(loop, room, "bob", "two", "c2");
    post(loop, room, "ada", "three", "c3");
  }
  const std::string whole = read_file(path);
  const size_t last = whole.rfind('\n', whole.size() - 2) + 1;  // the last record's start
  for (size_t cut = last; cut < whole.size(); ++cut) {
    CAPTURE(cut);
    write_file(path, whole.substr(0, cut));
    loop::Loop loop;
    chat::Journal journal(loop, 100);
    REQUIRE(journal.open(at(path)) == "");
    chat::Room& room = journal.room("");
    CHECK(texts(room) == std::vector<std::string>{"one", "two"});
    CHECK(read_file(path) == whole.substr(0, last));
    // The cut post was never acknowledged; retried, it is stored as new.
    chat::Posted again = post(loop, room, "ada", "three", "c3");
    CHECK(again.fresh);
    CHECK(again.message.id == 3);
  }
  // The whole file, a last record with a wrong CRC: also cut (nothing follows it).
  std::string bad = whole;
  bad[bad.size() - 3] ^= 1;
  write_file(path, bad);
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(path)) == "");
  CHECK(journal.room("").last_id() == 2);
}

TEST_CASE("a bad record in the middle refuses the start, naming the file and offset") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  {
    loop::Loop loop;
    chat::Journal journal(loop, 100);
    REQUIRE(journal.open(at(path)) == "");
    for (int i = 0; i < 4; ++i)
      post(loop, journal.room(""), "ada", "message " + std::to_string(i));
  }
  std::string bytes = read_file(path);
  size_t second = bytes.find('\n') + 1;  // the first message record
  second = bytes.find('\n', second) + 1;  // the second
  std::string damaged = bytes;
  damaged[second + 30] ^= 0x20;
  write_file(path, damaged);
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  std::string error = journal.open(at(path));
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("offset " + std::to_string(second)) != std::string::npos);
  CHECK(error.find("CRC-32C") != std::string::npos);
  CHECK(read_file(path) == damaged);  // refused, not repaired

  // A record with a valid CRC that the server never writes is refused too.
  std::string odd =
      bytes.substr(0, second) + store::frame("{\"id\":9}") + bytes.substr(second);
  write_file(path, odd);
  chat::Journal again(loop, 100);
  error = again.open(at(path));
  CHECK(error.find("offset " + std::to_string(second) + ": not a message record") !=
        std::string::npos);
}

TEST_CASE("ids must grow in the log: a repeated id is damage") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  chat::Message m{5, "ada", "hi", 1, ""};
  write_file(path, store::frame(chat::header_json("0123456789abcdef", {})) +
                       store::frame(chat::record_json("", m)) +
                       store::frame(chat::record_json("", m)));
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  CHECK(journal.open(at(path)).find("id 5 does not follow id 5") != std::string::npos);
}

TEST_CASE("a client id is stored once, its repeat answered with the stored message") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  {
    loop::Loop loop;
    chat::Journal journal(loop, 100);
    REQUIRE(journal.open(at(path)) == "");
    chat::Room& room = journal.room("");
    chat::Posted first = post(loop, room, "ada", "hi", "k1");
    chat::Posted repeat = post(loop, room, "ada", "hi", "k1");
    CHECK(first.fresh);
    CHECK_FALSE(repeat.fresh);
    CHECK(repeat.message.id == first.message.id);
    CHECK(repeat.message.time == first.message.time);
    CHECK(room.last_id() == 1);
    // Both in one turn: still once.
    int fresh = 0;
    for (int i = 0; i < 2; ++i)
      room.post(chat::Post{"bob", "yo", "k2"}, [&](const chat::Posted& p) {
        fresh += p.fresh;
        CHECK(p.message.id == 2);
      });
    loop.run_once();
    CHECK(fresh == 1);
  }
  // Across a restart, from the log.
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(path)) == "");
  chat::Posted after = post(loop, journal.room(""), "bob", "yo", "k2");
  CHECK_FALSE(after.fresh);
  CHECK(after.message.id == 2);
  CHECK(journal.room("").last_id() == 2);
}

TEST_CASE("a bad client id is refused by read_post") {
  std::string error;
  CHECK(chat::parse_post(R"({"user":"a","text":"b","cid":"ok-1_Z"})", error)->cid ==
        "ok-1_Z");
  CHECK_FALSE(chat::parse_post(R"({"user":"a","text":"b","cid":""})", error));
  CHECK_FALSE(chat::parse_post(R"({"user":"a","text":"b","cid":"a b"})", error));
  CHECK_FALSE(chat::parse_post(R"({"user":"a","text":"b","cid":7})", error));
  CHECK_FALSE(chat::parse_post(
      R"({"user":"a","text":"b","cid":")" + std::string(65, 'x') + "\"}", error));
  CHECK(error == "cid: must be 1-64 letters, digits, '-' or '_'");
}

TEST_CASE("rewrite under load: the file stays bounded, next id and content are kept") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  const size_t history = 5;
  uint64_t biggest = 0;
  {
    loop::Loop loop;
    chat::Journal journal(loop, history);
    REQUIRE(journal.open(at(path)) == "");
    chat::Room& general = journal.room("general");
    chat::Room& random = journal.room("random");
    for (int turn = 0; turn < 100; ++turn) {
      // Several posts per turn, in two rooms, while the log is rewritten.
      for (int i = 0; i < 3; ++i)
        general.post(chat::Post{"ada", "g" + std::to_string(turn * 3 + i),
                                "g" + std::to_string(turn * 3 + i)},
                     nullptr);
      random.post(chat::Post{"bob", "r" + std::to_string(turn), ""}, nullptr);
      loop.run_once();
      biggest = std::max<uint64_t>(biggest, journal.file_size());
    }
    CHECK(general.last_id() == 300);
    CHECK(random.last_id() == 100);
  }
  // Bounded: never far past what the threshold allows (4 × 5 × 2 + 16 records).
  CHECK(biggest < 100 * 80);
  CHECK(read_file(path).size() < 40 * 80);
  loop::Loop loop;
  chat::Journal journal(loop, history);
  REQUIRE(journal.open(at(path)) == "");
  chat::Room& general = journal.room("general");
  CHECK(general.last_id() == 300);
  CHECK(texts(general) ==
        std::vector<std::string>{"g295", "g296", "g297", "g298", "g299"});
  CHECK(texts(journal.room("random")) ==
        std::vector<std::string>{"r95", "r96", "r97", "r98", "r99"});
  CHECK(post(loop, general, "ada", "next").message.id == 301);
  // The recent client ids survived the rewrite.
  chat::Posted repeat = post(loop, general, "ada", "g299", "g299");
  CHECK_FALSE(repeat.fresh);
  CHECK(repeat.message.id == 300);
}

TEST_CASE("ids are never reused, even once every message is rewritten away") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  // A rewrite's header keeps each room's next id: here 50, with no message left.
  write_file(path, store::frame(chat::header_json("0123456789abcdef", {{"", 50}})));
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(path)) == "");
  CHECK(journal.room("").last_id() == 49);
  CHECK(post(loop, journal.room(""), "ada", "x").message.id == 50);

  // A header whose next id is past the messages it was written with is damage.
  chat::Message m{41, "ada", "hi", 1, ""};
  write_file(path, store::frame(chat::header_json("0123456789abcdef", {{"", 50}})) +
                       store::frame(chat::record_json("", m)));
  chat::Journal damaged(loop, 100);
  CHECK(damaged.open(at(path)).find("offset 0: next id 50") != std::string::npos);
  // And so is a gap between two ids of a room.
  chat::Message later{43, "ada", "hi", 1, ""};
  write_file(path, store::frame(chat::header_json("0123456789abcdef", {})) +
                       store::frame(chat::record_json("", m)) +
                       store::frame(chat::record_json("", later)));
  chat::Journal gap(loop, 100);
  CHECK(gap.open(at(path)).find("id 43 does not follow id 41") != std::string::npos);
}

TEST_CASE("disk full: the poster gets an error, nothing is stored, the next post works") {
  TempDir dir;
  std::string path = dir.file("chat.log");
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  REQUIRE(journal.open(at(path)) == "");
  chat::Room& room = journal.room("");
  post(loop, room, "ada", "before");
  const uint64_t size = journal.file_size();
  // A file size limit makes write(2) fail with EFBIG, as a full disk fails with ENOSPC.
  struct rlimit old;
  ::getrlimit(RLIMIT_FSIZE, &old);
  struct rlimit small = old;
  small.rlim_cur = size + 10;
  ::signal(SIGXFSZ, SIG_IGN);
  ::setrlimit(RLIMIT_FSIZE, &small);
  chat::Posted refused = post(loop, room, "ada", std::string(200, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old);
  CHECK_FALSE(refused.fresh);
  CHECK(refused.error.find("store: cannot write") != std::string::npos);
  CHECK(room.last_id() == 1);
  CHECK(journal.file_size() == size);
  CHECK(read_file(path).size() == size);  // the half-written record was cut off
  CHECK(post(loop, room, "ada", "after").message.id == 2);
  loop::Loop reread;
  chat::Journal again(reread, 100);
  REQUIRE(again.open(at(path)) == "");
  CHECK(texts(again.room("")) == std::vector<std::string>{"before", "after"});
}

TEST_CASE("--fsync must be turn or off") {
  loop::Loop loop;
  chat::Journal journal(loop, 100);
  CHECK(journal.open(at("none", "sometimes")) ==
        "--fsync: must be turn or off, got \"sometimes\"");
}

TEST_CASE("a room without a journal answers a post at once, and a repeated cid once") {
  chat::Room room;
  std::vector<chat::Posted> answers;
  for (int i = 0; i < 2; ++i)
    room.post(chat::Post{"ada", "hi", "k1"},
              [&](const chat::Posted& p) { answers.push_back(p); });
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].fresh);
  CHECK_FALSE(answers[1].fresh);
  CHECK(answers[1].message.id == answers[0].message.id);
  CHECK(room.last_id() == 1);
}
