// The cluster's wire formats (04-socketio-lite/redis.h, msgpack.h, cluster.h):
// RESP2 replies as the protocol spec prints them (redis.io "Redis serialization
// protocol specification"), fed whole, as every prefix and one byte at a time;
// msgpack against bytes @msgpack/msgpack 2.8 writes for the same values; and the
// stream entry of a broadcast as @socket.io/redis-streams-adapter 0.3.1 writes it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "04-socketio-lite/cluster.h"
#include "04-socketio-lite/engineio_packet.h"
#include "04-socketio-lite/msgpack.h"
#include "04-socketio-lite/redis.h"

using redis::Status;
using redis::Type;

// "84 a4 74" → the bytes.
static std::string hex(std::string_view spaced) {
  std::string out;
  for (size_t i = 0; i + 1 < spaced.size() + 1;) {
    if (spaced[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(spaced.substr(i, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

static json::Value js(std::string_view text) {
  json::ParseResult r = json::parse(text);
  REQUIRE_MESSAGE(r.value, r.error);
  return *r.value;
}

// Whole, then every strict prefix (need more, never an error), then one byte at
// a time through a buffer as the client keeps it: the same reply every way.
static redis::Reply parse_all_ways(std::string_view wire) {
  redis::ParseResult whole = redis::parse(wire);
  REQUIRE_MESSAGE(whole.status == Status::done, whole.error);
  CHECK(whole.consumed == wire.size());
  for (size_t n = 0; n < wire.size(); ++n) {
    redis::ParseResult r = redis::parse(wire.substr(0, n));
    INFO("prefix of " << n << " bytes");
    CHECK(r.status == Status::need_more);
  }
  std::string buffer;
  size_t replies = 0;
  for (char c : wire) {
    buffer += c;
    redis::ParseResult r = redis::parse(buffer);
    REQUIRE(r.status != Status::error);
    if (r.status == Status::done) {
      CHECK(redis::describe(r.reply) == redis::describe(whole.reply));
      buffer.erase(0, r.consumed);
      ++replies;
    }
  }
  CHECK(replies == 1);
  CHECK(buffer.empty());
  return whole.reply;
}

static std::string parse_error(std::string_view wire) {
  redis::ParseResult r = redis::parse(wire);
  REQUIRE(r.status == Status::error);
  CHECK_FALSE(r.error.empty());
  return r.error;
}

TEST_CASE("RESP simple strings, errors and integers (protocol spec examples)") {
  redis::Reply ok = parse_all_ways("+OK\r\n");
  CHECK(ok.type == Type::simple);
  CHECK(ok.str == "OK");
  redis::Reply err = parse_all_ways("-ERR unknown command 'asdf'\r\n");
  CHECK(err.is_error());
  CHECK(err.str == "ERR unknown command 'asdf'");
  CHECK(parse_all_ways(":1000\r\n").integer == 1000);
  CHECK(parse_all_ways(":-1\r\n").integer == -1);
}

TEST_CASE("RESP bulk strings are binary-safe; $-1 is the null bulk string") {
  redis::Reply hello = parse_all_ways("$5\r\nhello\r\n");
  CHECK(hello.type == Type::bulk);
  CHECK(hello.str == "hello");
  CHECK(parse_all_ways("$0\r\n\r\n").str.empty());
  // CRLF inside the bytes is data: the length says where the string ends.
  CHECK(parse_all_ways("$4\r\na\r\nb\r\n").str == "a\r\nb");
  CHECK(parse_all_ways(std::string("$3\r\n\0\xff\x01\r\n", 9)).str ==
        std::string("\0\xff\x01", 3));
  CHECK(parse_all_ways("$-1\r\n").is_null());
}

TEST_CASE("RESP arrays, nested arrays and the null array *-1") {
  redis::Reply a = parse_all_ways("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n");
  REQUIRE(a.elements.size() == 2);
  CHECK(a.elements[1].str == "world");
  CHECK(parse_all_ways("*0\r\n").elements.empty());
  redis::Reply nested =
      parse_all_ways("*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n");
  CHECK(redis::describe(nested) ==
        "[[(integer) 1 (integer) 2 (integer) 3] [Hello (error) World]]");
  CHECK(parse_all_ways("*-1\r\n").is_null());
  CHECK(parse_all_ways("*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n")
            .elements[1]
            .is_null());
}

TEST_CASE("RESP: an XREAD reply with one stream entry") {
  std::string wire =
      "*1\r\n*2\r\n$9\r\nsocket.io\r\n*1\r\n*2\r\n$15\r\n1796119341851-0\r\n*8\r\n"
      "$3\r\nuid\r\n$5\r\nother\r\n$3\r\nnsp\r\n$1\r\n/\r\n$4\r\ntype\r\n$1\r\n3\r\n"
      "$4\r\ndata\r\n$2\r\n{}\r\n";
  redis::Reply r = parse_all_ways(wire);
  const redis::Reply& entry = r.elements[0].elements[1].elements[0];
  CHECK(entry.elements[0].str == "1796119341851-0");
  CHECK(entry.elements[1].elements.size() == 8);
  CHECK(entry.elements[1].elements[7].str == "{}");
}

TEST_CASE("RESP: pipelined replies in one read are parsed one at a time") {
  std::string wire = "+OK\r\n:7\r\n$-1\r\n";
  std::vector<std::string> seen;
  std::string_view rest = wire;
  while (!rest.empty()) {
    redis::ParseResult r = redis::parse(rest);
    REQUIRE(r.status == Status::done);
    seen.push_back(redis::describe(r.reply));
    rest.remove_prefix(r.consumed);
  }
  CHECK(seen == std::vector<std::string>{"OK", "(integer) 7", "(nil)"});
}

TEST_CASE("RESP errors name the rule") {
  CHECK(parse_error("?x\r\n").find("type") != std::string::npos);
  CHECK(parse_error("+OK\n").find("CRLF") != std::string::npos);
  CHECK(parse_error(":12a\r\n").find("integer") != std::string::npos);
  CHECK(parse_error(":\r\n").find("integer") != std::string::npos);
  CHECK(parse_error("$-2\r\n").find("negative") != std::string::npos);
  CHECK(parse_error("*-5\r\n").find("negative") != std::string::npos);
  CHECK(parse_error("$3\r\nabcd\r\n").find("CRLF") != std::string::npos);
  CHECK(parse_error("$+3\r\nabc\r\n").find("bulk length") != std::string::npos);
  redis::Limits small;
  small.max_bulk = 4;
  small.max_elements = 2;
  small.max_depth = 2;
  small.max_line = 8;
  CHECK(redis::parse("$5\r\n", small).error.find("limit") != std::string::npos);
  CHECK(redis::parse("*3\r\n", small).error.find("limit") != std::string::npos);
  CHECK(redis::parse("*1\r\n*1\r\n*1\r\n:1\r\n", small).error.find("deeper") !=
        std::string::npos);
  CHECK(redis::parse("+123456789", small).error.find("longer") != std::string::npos);
  // A claimed count with nothing behind it reserves nothing and waits.
  CHECK(redis::parse("*1000000\r\n").status == Status::need_more);
}

TEST_CASE("RESP commands are arrays of bulk strings") {
  CHECK(redis::encode_command({"SET", "k", "hi"}) ==
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nhi\r\n");
  CHECK(redis::encode_command({"PUBLISH", "c", std::string("\0\r\n", 3)}) ==
        std::string("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$3\r\n\0\r\n\r\n", 33));
  // A command is what a reply parser reads as an array of bulk strings.
  CHECK(redis::describe(parse_all_ways(redis::encode_command({"XREAD", "", "$"}))) ==
        "[\"XREAD\" \"\" \"$\"]");
}

TEST_CASE("--redis HOST:PORT") {
  std::string host;
  int port = 0;
  CHECK(redis::parse_address("127.0.0.1:6379", host, port).empty());
  CHECK(host == "127.0.0.1");
  CHECK(port == 6379);
  CHECK(redis::parse_address("[::1]:7000", host, port).empty());
  CHECK(host == "::1");
  CHECK(redis::parse_address("localhost:1", host, port).empty());
  CHECK_FALSE(redis::parse_address("127.0.0.1", host, port).empty());
  CHECK_FALSE(redis::parse_address("127.0.0.1:0", host, port).empty());
  CHECK_FALSE(redis::parse_address("127.0.0.1:65536", host, port).empty());
  CHECK_FALSE(redis::parse_address("redis.example:6379", host, port).empty());
}

// msgpack
// -------

TEST_CASE("msgpack: a FETCH_SOCKETS request as @msgpack/msgpack encodes it") {
  std::string wire =
      hex("84 a4 74 79 70 65 07 a4 64 61 74 61 82 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 91 "
          "a7 67 "
          "65 6e 65 72 61 6c a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80 a9 72 65 71 75 "
          "65 73 "
          "74 49 64 b0 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 a3 75 69 64 b0 66 "
          "65 64 "
          "63 62 61 39 38 37 36 35 34 33 32 31 30 a3 6e 73 70 a1 2f");
  json::Value v =
      js(R"({"type":7,"data":{"opts":{"rooms":["general"],"except":[],"flags":{}},)"
         R"("requestId":"0123456789abcdef"},"uid":"fedcba9876543210","nsp":"/"})");
  msgpack::Result r = msgpack::decode(wire);
  REQUIRE_MESSAGE(r.status == msgpack::Status::done, r.error);
  CHECK(r.consumed == wire.size());
  CHECK(json::stringify(r.value) == json::stringify(v));
  CHECK(msgpack::encode(v) == wire);
  for (size_t n = 0; n < wire.size(); ++n)
    CHECK(msgpack::decode(wire.substr(0, n)).status == msgpack::Status::need_more);
}

TEST_CASE("msgpack: integers in their shortest form, floats as float 64") {
  std::string wire =
      hex("dc 00 14 00 7f cc 80 cc ff cd 01 00 cd ff ff ce 00 01 00 00 cf 00 00 00 01 00 "
          "00 00 "
          "00 ff e0 d0 df d0 80 d1 ff 7f d1 80 00 d2 ff ff 7f ff cb 3f f8 00 00 00 00 00 "
          "00 a0 "
          "c3 c2 c0");
  json::Value v = js(
      "[0,127,128,255,256,65535,65536,4294967296,-1,-32,-33,-128,-129,-32768,-32769,1.5,"
      "\"\",true,false,null]");
  CHECK(msgpack::encode(v) == wire);
  msgpack::Result r = msgpack::decode(wire);
  REQUIRE(r.status == msgpack::Status::done);
  CHECK(json::stringify(r.value) == json::stringify(v));
}

TEST_CASE("msgpack: str 8 past 31 bytes, float 32 and uint 64 decode") {
  std::string text(32, 'x');
  CHECK(msgpack::encode(json::Value(text)) == hex("d9 20") + text);
  CHECK(msgpack::decode(hex("ca 3f c0 00 00")).value.as_number() == 1.5);
  CHECK(msgpack::decode(hex("d3 ff ff ff ff ff ff ff fe")).value.as_number() == -2);
}

TEST_CASE("msgpack: bin is an attachment, and a placeholder is written as bin") {
  std::string wire =
      hex("82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 75 70 c4 03 "
          "01 02 "
          "03 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 "
          "67 73 "
          "80");
  msgpack::Result r = msgpack::decode(wire);
  REQUIRE(r.status == msgpack::Status::done);
  CHECK(json::stringify(r.value) ==
        R"({"packet":{"type":2,"data":["up",{"_placeholder":true,"num":0}]},)"
        R"("opts":{"rooms":[],"except":[],"flags":{}}})");
  REQUIRE(r.buffers.size() == 1);
  CHECK(r.buffers[0] == hex("01 02 03"));
  CHECK(msgpack::encode(r.value, r.buffers) == wire);
}

TEST_CASE("msgpack errors name the rule; ext becomes null") {
  CHECK(msgpack::decode(hex("c1")).error.find("never used") != std::string::npos);
  CHECK(msgpack::decode(hex("81 01 02")).error.find("key") != std::string::npos);
  msgpack::Limits shallow;
  shallow.max_depth = 2;
  CHECK(msgpack::decode(hex("91 91 91 91 00"), shallow).error.find("deeper") !=
        std::string::npos);
  // A Date is timestamp ext -1 (fixext 4): no JSON form.
  msgpack::Result date = msgpack::decode(hex("d6 ff 00 00 00 01"));
  REQUIRE(date.status == msgpack::Status::done);
  CHECK(date.value.is_null());
  CHECK(date.consumed == 6);
  // A claimed count with nothing behind it waits for more.
  CHECK(msgpack::decode(hex("dd 00 0f ff ff")).status == msgpack::Status::need_more);
}

// The adapter's entry
// -------------------

TEST_CASE("a broadcast's stream entry is what the Node adapter writes") {
  sio::Packet p;
  p.nsp = "/";
  p.data = js(R"(["msg:new",{"id":8,"text":"hi"}])");
  cluster::Entry e =
      cluster::broadcast_entry("3f2a9c01d4e5b687", p, {"general"}, {"abc"});
  CHECK(e.uid == "3f2a9c01d4e5b687");
  CHECK(e.nsp == "/");
  CHECK(e.type == "3");
  CHECK(e.data == R"({"packet":{"type":2,"data":["msg:new",{"id":8,"text":"hi"}]},)"
                  R"("opts":{"rooms":["general"],"except":["abc"],"flags":{}}})");

  json::Value data;
  std::vector<std::string> buffers;
  std::string error;
  REQUIRE(cluster::read_data(e.data, data, buffers, error));
  cluster::Broadcast b;
  REQUIRE_MESSAGE(cluster::read_broadcast(data, buffers, b, error), error);
  CHECK(b.packet.type == sio::Type::event);
  CHECK(json::stringify(*b.packet.data) == R"(["msg:new",{"id":8,"text":"hi"}])");
  CHECK(b.rooms == std::set<std::string>{"general"});
  CHECK(b.except == std::set<std::string>{"abc"});
}

TEST_CASE("a broadcast with binary is base64 of msgpack, and reads back as attachments") {
  sio::Packet p;
  p.type = sio::Type::binary_event;
  p.nsp = "/";
  p.data = js(R"(["up",{"_placeholder":true,"num":0}])");
  p.attachments = {hex("01 02 03")};
  cluster::Entry e = cluster::broadcast_entry("u", p, {}, {});
  std::string bytes;
  REQUIRE(eio::base64_decode(e.data, bytes));
  CHECK(bytes ==
        hex("82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 75 "
            "70 c4 03 01 02 03 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 "
            "65 70 74 90 a5 66 6c 61 67 73 80"));
  json::Value data;
  std::vector<std::string> buffers;
  std::string error;
  REQUIRE(cluster::read_data(e.data, data, buffers, error));
  cluster::Broadcast b;
  REQUIRE(cluster::read_broadcast(data, buffers, b, error));
  CHECK(b.packet.type == sio::Type::binary_event);
  CHECK(b.packet.attachments == p.attachments);
}

TEST_CASE("an entry that is not a broadcast is refused with the rule") {
  json::Value data;
  std::vector<std::string> buffers;
  std::string error;
  CHECK_FALSE(cluster::read_data("{nope", data, buffers, error));
  CHECK(error.find("JSON") != std::string::npos);
  CHECK_FALSE(cluster::read_data("!!!", data, buffers, error));
  CHECK(error.find("base64") != std::string::npos);
  cluster::Broadcast b;
  CHECK_FALSE(cluster::read_broadcast(
      js(R"({"packet":{"type":3,"data":["x"]},"opts":{}})"), {}, b, error));
  CHECK(error.find("EVENT") != std::string::npos);
  CHECK_FALSE(cluster::read_broadcast(js(R"({"packet":{"type":2,"data":[1]},"opts":{}})"),
                                      {}, b, error));
  CHECK(error.find("name") != std::string::npos);
  CHECK_FALSE(cluster::read_broadcast(
      js(R"({"packet":{"type":2,"data":["x"]},"opts":{"rooms":[1]}})"), {}, b, error));
  CHECK(error.find("rooms") != std::string::npos);
}

// The client
// ----------
// Against a listener of ours on loopback that plays Redis's part by script: what
// is checked is the client's side (queueing, order of replies, loss, reconnect).
// The real redis-server is in tests/e2e/lesson4_cluster*.test.mjs.

#include "common/loop.h"
#include "common/net.h"

namespace {
struct ScriptedRedis {
  loop::Loop& loop;
  net::Listener listener{loop, net::Limits{}};
  std::vector<std::shared_ptr<net::Connection>> conns;
  std::vector<std::string> commands;  // described, in arrival order
  explicit ScriptedRedis(loop::Loop& l) : loop(l) {
    REQUIRE(listener.listen(0).empty());
    listener.on_accept([this](const std::shared_ptr<net::Connection>& c) {
      conns.push_back(c);
      c->start(
          [this](std::string_view in) {
            size_t used = 0;
            for (;;) {
              redis::ParseResult r = redis::parse(in.substr(used));
              if (r.status != redis::Status::done) break;
              commands.push_back(redis::describe(r.reply));
              used += r.consumed;
            }
            return used;
          },
          [] {});
    });
  }
  // Closed before the listener goes: its map of connections must be empty by then.
  ~ScriptedRedis() {
    for (auto& c : conns)
      c->close_now();
  }
};

template <typename F>
void run_until(loop::Loop& loop, F done) {
  for (int i = 0; i < 2000 && !done(); ++i) {
    bool tick = false;
    loop::TimerId timer = loop.after(5, [&] { tick = true; });
    while (!tick && !done())
      loop.run_once();
    loop.cancel(timer);
  }
  REQUIRE(done());
}
}  // namespace

TEST_CASE("client: pipelined commands, replies in order, a reply split over writes") {
  loop::Loop loop;
  ScriptedRedis server(loop);
  redis::Client client(loop, "test", "127.0.0.1", server.listener.port());
  int connects = 0;
  client.on_connect = [&] { ++connects; };
  client.start();
  run_until(loop, [&] { return client.connected() && !server.conns.empty(); });
  std::vector<std::string> replies;
  auto keep = [&](const redis::Reply& r) { replies.push_back(redis::describe(r)); };
  client.command({"SET", "k", "v"}, keep);
  client.command({"INCR", "n"}, keep);
  client.command({"GET", "k"}, keep);
  run_until(loop, [&] { return server.commands.size() == 3; });
  CHECK(server.commands == std::vector<std::string>{"[\"SET\" \"k\" \"v\"]",
                                                    "[\"INCR\" \"n\"]",
                                                    "[\"GET\" \"k\"]"});
  CHECK(client.waiting() == 3);
  // Two replies and half of the third, then the rest in a later write.
  server.conns[0]->send("+OK\r\n:7\r\n$2\r");
  run_until(loop, [&] { return replies.size() == 2; });
  server.conns[0]->send("\nhi\r\n");
  run_until(loop, [&] { return replies.size() == 3; });
  CHECK(replies == std::vector<std::string>{"OK", "(integer) 7", "\"hi\""});
  CHECK(connects == 1);
}

TEST_CASE("client: a lost connection fails what waits, then it connects again") {
  loop::Loop loop;
  ScriptedRedis server(loop);
  redis::Client client(loop, "test", "127.0.0.1", server.listener.port());
  int connects = 0, disconnects = 0;
  client.on_connect = [&] { ++connects; };
  client.on_disconnect = [&] { ++disconnects; };
  client.start();
  run_until(loop, [&] { return client.connected() && server.conns.size() == 1; });
  std::string answer;
  client.command({"XREAD", "BLOCK", "5000", "STREAMS", "s", "$"},
                 [&](const redis::Reply& r) { answer = r.is_error() ? r.str : "?"; });
  run_until(loop, [&] { return server.commands.size() == 1; });
  server.conns[0]->close_now();
  run_until(loop, [&] { return !answer.empty(); });
  CHECK(answer == "ERR connection lost");
  CHECK(disconnects == 1);
  // While it is away (the first retry is 100 ms later) a command is answered at
  // once, not queued.
  REQUIRE_FALSE(client.connected());
  std::string now;
  client.command({"PING"}, [&](const redis::Reply& r) { now = r.str; });
  CHECK(now == "ERR not connected to redis");
  run_until(loop, [&] { return connects == 2 && client.connected(); });
  CHECK(server.conns.size() == 2);
}

TEST_CASE("client: a reply that is not RESP closes the connection") {
  loop::Loop loop;
  ScriptedRedis server(loop);
  redis::Client client(loop, "test", "127.0.0.1", server.listener.port());
  int disconnects = 0;
  client.on_disconnect = [&] { ++disconnects; };
  client.start();
  run_until(loop, [&] { return client.connected() && server.conns.size() == 1; });
  std::string answer;
  client.command({"PING"}, [&](const redis::Reply& r) { answer = r.str; });
  server.conns[0]->send("HTTP/1.1 200 OK\r\n");
  run_until(loop, [&] { return !answer.empty(); });
  CHECK(answer == "ERR connection lost");
  CHECK(disconnects == 1);
}
