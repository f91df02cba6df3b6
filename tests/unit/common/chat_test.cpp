// The chat model shared by every lesson (common/chat.h).
#include <doctest/doctest.h>

#include "common/chat.h"

TEST_CASE("ids start at 1 and increase by one; time is set by the server") {
  chat::Room room;
  int64_t before = chat::now_ms();
  CHECK(room.post("ada", "one").id == 1);
  const chat::Message& m = room.post("bob", "two");
  CHECK(m.id == 2);
  CHECK(m.time >= before);
  CHECK(room.last_id() == 2);
}

TEST_CASE("after(N) answers everything after id N") {
  chat::Room room;
  for (int i = 0; i < 5; ++i)
    room.post("u", "m" + std::to_string(i));
  chat::Page page = room.after(2);
  REQUIRE(page.messages.size() == 3);
  CHECK(page.messages[0]->id == 3);
  CHECK(page.messages[2]->id == 5);
  CHECK(page.missed == 0);
  CHECK(room.after(5).messages.empty());
  CHECK(room.after(99).messages.empty());
  CHECK(room.after(0).messages.size() == 5);
}

TEST_CASE("the history is bounded and the answer says how many were missed") {
  chat::Room room(5);
  for (int i = 0; i < 8; ++i)
    room.post("u", "m");  // ids 1..8, history keeps 4..8
  chat::Page page = room.after(1);
  CHECK(page.missed == 2);  // ids 2 and 3 are gone
  REQUIRE(page.messages.size() == 5);
  CHECK(page.messages.front()->id == 4);
  CHECK(room.after(0).missed == 3);
  CHECK(room.after(3).missed == 0);
  CHECK(room.after(3).messages.size() == 5);
  CHECK(room.latest(2).messages.size() == 2);
  CHECK(room.latest(2).messages[0]->id == 7);
  CHECK(room.latest(50).messages.size() == 5);
}

TEST_CASE("validation: lengths in code points, valid UTF-8, no control characters") {
  CHECK(!chat::validate("ada", "hello"));
  CHECK(chat::validate("", "hello")->find("user") == 0);
  CHECK(chat::validate("ada", "")->find("text") == 0);
  CHECK(!chat::validate(std::string(32, 'a'), "x"));
  CHECK(chat::validate(std::string(33, 'a'), "x"));
  // 32 four-byte emoji are 32 code points (128 bytes): accepted.
  std::string emoji;
  for (int i = 0; i < 32; ++i)
    emoji += "\xf0\x9f\x98\x80";
  CHECK(!chat::validate(emoji, "x"));
  CHECK(chat::validate(emoji + "a", "x"));
  CHECK(!chat::validate("ada", std::string(2000, 'x')));
  CHECK(chat::validate("ada", std::string(2001, 'x'))->find("text") == 0);
  CHECK(chat::validate("ada", "line\nbreak"));
  CHECK(chat::validate("ada", "del\x7f"));
  CHECK(chat::validate("ada", "c1\xc2\x85"));
  CHECK(chat::validate("a\xff", "x")->find("UTF-8") != std::string::npos);
}

TEST_CASE("a post body is a JSON object with string user and text") {
  std::string error;
  auto post =
      chat::parse_post(R"({"user":"ada","text":"<img src=x onerror=alert(1)>"})", error);
  REQUIRE(post);
  CHECK(post->text == "<img src=x onerror=alert(1)>");
  CHECK(!chat::parse_post("{", error));
  CHECK(error.find("malformed JSON") != std::string::npos);
  CHECK(!chat::parse_post("[]", error));
  CHECK(!chat::parse_post(R"({"user":1,"text":"x"})", error));
  CHECK(error == "user: must be a string");
  CHECK(!chat::parse_post(R"({"user":"a"})", error));
  CHECK(error == "text: must be a string");
}

TEST_CASE("messages are written as JSON.stringify would") {
  chat::Message m{3, "ada", "say \"hi\"", 1732280000000};
  CHECK(chat::to_json(m) ==
        R"({"id":3,"user":"ada","text":"say \"hi\"","time":1732280000000})");
  CHECK(chat::error_json("user: bad") == R"({"error":"user: bad"})");
}

TEST_CASE("parse_id: 1 to 19 digits, nothing else") {
  CHECK(chat::parse_id("0") == 0u);
  CHECK(chat::parse_id("12") == 12u);
  CHECK(chat::parse_id("9999999999999999999") == 9999999999999999999u);  // 19 digits
  for (std::string_view bad : {"", "-1", "+1", " 1", "1 ", "1.5", "0x10", "12a",
                               "18446744073709551615"})  // 20 digits: over the limit
    CHECK_MESSAGE(!chat::parse_id(bad), bad);
}
