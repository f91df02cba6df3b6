// Socket.IO v5 packets (04-socketio-lite/socketio.h). The vectors are the ones
// socket.io-protocol-v5.md prints under "Packet encoding" / "Examples", named
// after their heading, plus the conformance suite's malformed packets.
#include <doctest/doctest.h>

#include "04-socketio-lite/socketio.h"

using sio::Decoder;
using sio::Packet;
using sio::Type;

static json::Value js(std::string_view text) {
  json::ParseResult r = json::parse(text);
  REQUIRE_MESSAGE(r.value, r.error);
  return *r.value;
}

static Packet packet(Type type, std::string nsp, std::optional<uint64_t> id,
                     std::optional<std::string_view> data,
                     std::vector<std::string> attachments = {}) {
  Packet p;
  p.type = type;
  p.nsp = std::move(nsp);
  p.id = id;
  if (data) p.data = js(*data);
  p.attachments = std::move(attachments);
  return p;
}

// Decodes a text packet and then its attachments; returns the finished packet.
static Packet decode(std::string_view text, std::vector<std::string> attachments = {}) {
  Decoder d;
  Decoder::Result r = d.add_text(text);
  for (const auto& a : attachments) {
    REQUIRE(r.status == Decoder::Status::need_more);
    r = d.add_binary(a);
  }
  REQUIRE_MESSAGE(r.status == Decoder::Status::done, r.error);
  CHECK_FALSE(d.waiting());
  return r.packet;
}

static void same(const Packet& a, const Packet& b) {
  CHECK(a.type == b.type);
  CHECK(a.nsp == b.nsp);
  CHECK(a.id == b.id);
  CHECK(a.data.has_value() == b.data.has_value());
  if (a.data && b.data) CHECK(json::stringify(*a.data) == json::stringify(*b.data));
  CHECK(a.attachments == b.attachments);
}

// Encodes p, checks the wire text, and decodes it back to p.
static void vector(const Packet& p, std::string_view wire) {
  CHECK(sio::encode(p) == wire);
  same(decode(wire, p.attachments), p);
}

TEST_CASE("Examples: Connection to a namespace") {
  vector(packet(Type::connect, "/", {}, {}), "0");
  vector(packet(Type::connect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})"),
         R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
  vector(packet(Type::connect_error, "/", {}, R"({"message":"Not authorized"})"),
         R"(4{"message":"Not authorized"})");
  // With an auth payload, and a middleware refusal carrying data.
  vector(packet(Type::connect, "/", {}, R"({"token":"123"})"), R"(0{"token":"123"})");
  vector(packet(Type::connect_error, "/admin", {}, R"({"message":"no","data":{"a":1}})"),
         R"(4/admin,{"message":"no","data":{"a":1}})");
}

TEST_CASE("Examples: Sending and receiving data") {
  vector(packet(Type::event, "/", {}, R"(["foo"])"), R"(2["foo"])");
  vector(packet(Type::event, "/admin", {}, R"(["bar"])"), R"(2/admin,["bar"])");
  vector(packet(Type::binary_event, "/", {}, R"(["baz",{"_placeholder":true,"num":0}])",
                {std::string("\x01\x02\x03\x04")}),
         R"(51-["baz",{"_placeholder":true,"num":0}])");
  vector(
      packet(Type::binary_event, "/admin", {},
             R"(["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
             {std::string("\x01\x02"), std::string("\x03\x04")}),
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
}

TEST_CASE("Examples: Acknowledgement") {
  vector(packet(Type::event, "/", 12, R"(["foo"])"), R"(212["foo"])");
  vector(packet(Type::ack, "/admin", 13, R"(["bar"])"), R"(3/admin,13["bar"])");
  vector(packet(Type::ack, "/", 12, "[]"), "312[]");
  vector(packet(Type::binary_ack, "/", 15, R"(["bar",{"_placeholder":true,"num":0}])",
                {std::string("\x01\x02\x03\x04")}),
         R"(61-15["bar",{"_placeholder":true,"num":0}])");
  // The sample session's ack with an attachment on a custom namespace.
  vector(packet(Type::binary_ack, "/admin", 1, R"([{"_placeholder":true,"num":0}])",
                {std::string("\xff\x00", 2)}),
         R"(61-/admin,1[{"_placeholder":true,"num":0}])");
}

TEST_CASE("Examples: Disconnection from a namespace") {
  vector(packet(Type::disconnect, "/", {}, {}), "1");
  vector(packet(Type::disconnect, "/admin", {}, {}), "1/admin,");
}

TEST_CASE("a namespace without its comma is read to the end (as the reference does)") {
  same(decode("0/custom"), packet(Type::connect, "/custom", {}, {}));
}

TEST_CASE("placeholders are written as the reference writes them") {
  CHECK(json::stringify(sio::placeholder(3)) == R"({"_placeholder":true,"num":3})");
  CHECK(sio::placeholder_num(sio::placeholder(3)) == 3u);
  CHECK_FALSE(sio::placeholder_num(js(R"({"_placeholder":false,"num":0})")));
  CHECK_FALSE(sio::placeholder_num(js(R"({"num":0})")));
  CHECK_FALSE(sio::placeholder_num(js(R"({"_placeholder":true,"num":1.5})")));
}

TEST_CASE("a binary packet with zero attachments is complete at once") {
  Packet p = decode(R"(50-["x"])");
  CHECK(p.type == Type::binary_event);
  CHECK(p.attachments.empty());
}

TEST_CASE("attachments may arrive one by one; a second packet follows cleanly") {
  Decoder d;
  auto r = d.add_text(
      R"(52-3["up",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}])");
  CHECK(r.status == Decoder::Status::need_more);
  CHECK(d.waiting());
  r = d.add_binary("first");
  CHECK(r.status == Decoder::Status::need_more);
  r = d.add_binary(std::string_view("\0second", 7));
  REQUIRE(r.status == Decoder::Status::done);
  CHECK(r.packet.id == 3u);
  CHECK(r.packet.attachments ==
        std::vector<std::string>{"first", std::string("\0second", 7)});
  r = d.add_text(R"(2["next"])");
  CHECK(r.status == Decoder::Status::done);
}

TEST_CASE("the conformance suite's packets") {
  same(decode(R"(2456["message-with-ack",1,"2",{"3":[false]}])"),
       packet(Type::event, "/", 456, R"(["message-with-ack",1,"2",{"3":[false]}])"));
  same(decode(R"(2["message",1,"2",{"3":[true]}])"),
       packet(Type::event, "/", {}, R"(["message",1,"2",{"3":[true]}])"));
  CHECK(sio::encode(packet(Type::ack, "/", 456, R"([1,"2",{"3":[false]}])")) ==
        R"(3456[1,"2",{"3":[false]}])");
}

TEST_CASE("describe() is one readable line") {
  CHECK(sio::describe(packet(Type::event, "/admin", 12, R"(["hello"])")) ==
        R"(EVENT /admin id=12 ["hello"])");
  CHECK(sio::describe(packet(Type::binary_event, "/", {},
                             R"([{"_placeholder":true,"num":0}])", {"abc"})) ==
        R"(BINARY_EVENT / [{"_placeholder":true,"num":0}] +1 attachment (3 B))");
}

static std::string refusal(std::string_view text) {
  Decoder d;
  Decoder::Result r = d.add_text(text);
  CHECK_MESSAGE(r.status == Decoder::Status::error, text);
  return r.error;
}

TEST_CASE("malformed packets are refused with the rule they break") {
  CHECK(refusal("") == "unknown packet type");
  CHECK(refusal("abc") == "unknown packet type");  // the suite's "4abc"
  CHECK(refusal("7") == "unknown packet type");
  CHECK(refusal("2{}") ==
        "EVENT payload must be a non-empty array");  // the suite's "42{}"
  CHECK(refusal(R"(2abc["message-with-ack"])").rfind("payload is not JSON", 0) == 0);
  CHECK(refusal("2") == "EVENT payload must be a non-empty array");
  CHECK(refusal("2[]") == "EVENT payload must be a non-empty array");
  CHECK(refusal("2[true]") == "EVENT name must be a string or a number");
  CHECK(refusal("2[null]") == "EVENT name must be a string or a number");
  CHECK(refusal(R"(2[{"a":1}])") == "EVENT name must be a string or a number");
  CHECK(refusal(R"(2["disconnect"])") == "EVENT name \"disconnect\" is reserved");
  CHECK(refusal(R"(2["a"] x)").rfind("payload is not JSON", 0) == 0);
  CHECK(refusal("0[]") == "CONNECT payload must be an object");
  CHECK(refusal(R"(0"token")") == "CONNECT payload must be an object");
  CHECK(refusal("1{}") == "DISCONNECT carries no payload");
  CHECK(refusal("4") == "CONNECT_ERROR payload must be an object or a string");
  CHECK(refusal("3[]") == "ACK without an ack id");
  CHECK(refusal("31") == "ACK payload must be an array");
  CHECK(refusal("31{}") == "ACK payload must be an array");
  CHECK(refusal("99999999999999999[]").size() > 0);
  CHECK(refusal(R"(29007199254740992["a"])") == "ack id too large");
  CHECK(refusal(R"(2123456789012345678["a"])") == "ack id too large");
  CHECK(refusal(R"(5["a"])") == "attachment count must be digits followed by '-'");
  CHECK(refusal(R"(5-["a"])") == "attachment count must be digits followed by '-'");
  CHECK(refusal(R"(51["a"])") == "attachment count must be digits followed by '-'");
  CHECK(refusal(R"(511-["a"])") == "more than 10 attachments");
  CHECK(refusal(R"(51-["a",{"_placeholder":true,"num":1}])") ==
        "placeholder refers to an attachment that does not exist");
  CHECK(refusal(R"(51-["a",{"_placeholder":true,"num":-1}])") ==
        "placeholder refers to an attachment that does not exist");
  CHECK(refusal("2/" + std::string(300, 'a') + R"(,["a"])") ==
        "namespace longer than 256 bytes");
}

TEST_CASE("binary and text out of turn are refused") {
  Decoder d;
  auto r = d.add_binary("stray");
  CHECK(r.status == Decoder::Status::error);
  CHECK(r.error == "binary message with no binary packet waiting for it");
  CHECK(d.add_text(R"(51-["a",{"_placeholder":true,"num":0}])").status ==
        Decoder::Status::need_more);
  r = d.add_text(R"(2["b"])");
  CHECK(r.status == Decoder::Status::error);
  CHECK(r.error == "text packet while 1 attachment(s) of a binary packet are still due");
}

// Each attachment is its own Engine.IO message, bounded on its own, as in the
// reference: two that fit one by one make a packet, whatever their sum.
TEST_CASE("an attachment is bounded as its own message, a packet's total apart") {
  sio::Limits limits;
  limits.max_attachment_bytes = 10;
  limits.max_packet_bytes = 20;
  {
    Decoder d(limits);
    CHECK(d.add_text(R"(52-["a"])").status == Decoder::Status::need_more);
    CHECK(d.add_binary("1234567").status == Decoder::Status::need_more);
    auto r = d.add_binary("1234567");
    REQUIRE(r.status == Decoder::Status::done);
    CHECK(r.packet.attachments == std::vector<std::string>{"1234567", "1234567"});
  }
  {
    Decoder d(limits);
    CHECK(d.add_text(R"(51-["a"])").status == Decoder::Status::need_more);
    auto r = d.add_binary("12345678901");
    CHECK(r.status == Decoder::Status::error);
    CHECK(r.error == "an attachment larger than 10 bytes");
  }
  {
    Decoder d(limits);
    CHECK(d.add_text(R"(53-["a"])").status == Decoder::Status::need_more);
    CHECK(d.add_binary("12345678").status == Decoder::Status::need_more);
    CHECK(d.add_binary("12345678").status == Decoder::Status::need_more);
    auto r = d.add_binary("12345678");
    CHECK(r.status == Decoder::Status::error);
    CHECK(r.error == "attachments larger than 20 bytes in all");
  }
}

// socket.io-parser's isPayloadValid: the name is a string or a number
// (socket.emit(42) sends 2[42]); the reference's EventEmitter keys it as "42".
TEST_CASE("an EVENT may be named by a number, which stands for its JavaScript string") {
  Decoder d;
  auto r = d.add_text(R"(27[42,"x"])");
  REQUIRE(r.status == Decoder::Status::done);
  CHECK(r.packet.id == 7u);
  CHECK(encode(r.packet) == R"(27[42,"x"])");
  CHECK(sio::event_name(r.packet.data->as_array()[0]) == "42");
  CHECK(sio::event_name(json::Value(1.5)) == "1.5");
  CHECK(sio::event_name(json::Value(1e21)) == "1e+21");
  CHECK(sio::event_name(json::Value(-0.0)) == "0");
  CHECK(sio::event_name(json::Value("msg:post")) == "msg:post");
}

// RFC 8259 §8.2: JSON allows a lone surrogate, and JSON.parse reads it; the
// packet decodes, its string holds the WTF-8 bytes, and it encodes back as sent.
TEST_CASE(
    "RFC 8259 §8.2: a lone surrogate in a packet is read and written back as sent") {
  Decoder d;
  std::string wire = R"(23["msg:post",{"user":"a","text":"cut \ud83d","x":"\udc00"}])";
  auto r = d.add_text(wire);
  REQUIRE_MESSAGE(r.status == Decoder::Status::done, r.error);
  CHECK(r.packet.data->as_array()[1].find("text")->as_string() == "cut \xed\xa0\xbd");
  CHECK(encode(r.packet) == wire);
  // Raw bytes must still be UTF-8: a WebSocket text frame or a polling body is.
  CHECK(refusal("2[\"\xed\xa0\xbd\"]").rfind("payload is not JSON", 0) == 0);
}

TEST_CASE("every prefix of a valid packet either decodes or is refused, never crashes") {
  std::string wire = R"(52-/admin,77["ev",{"_placeholder":true,"num":0},{"k":[1,2]}])";
  for (size_t n = 0; n <= wire.size(); ++n) {
    Decoder d;
    auto r = d.add_text(std::string_view(wire).substr(0, n));
    if (n < wire.size()) CHECK(r.status == Decoder::Status::error);
  }
}
