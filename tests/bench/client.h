// The load generator's clients: one class per lesson's protocol, all driven the
// same way. A client connects, subscribes (a held poll, an HTTP/2 stream, a
// WebSocket, a Socket.IO room), tells the Sink when it is ready, hands the Sink
// the text of every chat message it receives, and posts when asked.
//
// The clients are deliberately small and trusting: they speak exactly what the
// lessons (and the Node peers in peers/) send, and report anything else as an
// error instead of trying to recover. They run on common/'s event loop and wrap
// each socket in a net::Connection, like the servers do.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "common/loop.h"
#include "common/net.h"

namespace bench {

class Client;

// What the driver (loadgen.cpp) hears from every client.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void ready(Client& c) = 0;  // connected and subscribed
  virtual void message(Client& c, std::string_view text) = 0;  // one chat message
  virtual void posted(Client& c) = 0;  // the server accepted one of c's posts
  virtual void failed(Client& c, const std::string& why) = 0;  // c is dead
};

struct Env {
  loop::Loop& loop;
  Sink& sink;
  int port = 0;
  int port2 = 0;  // if set, odd-numbered clients connect here instead
  std::string user = "bench";
  bool join_room = true;  // Socket.IO: join "general" (off for the idle test)
};

class Client {
 public:
  Client(Env& env, int index) : env_(env), index_(index) {}
  virtual ~Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  virtual void start() = 0;
  // Sends one post, or queues it behind one still in flight (HTTP/1.1).
  virtual void post(std::string text) = 0;
  int index() const { return index_; }
  bool dead() const { return dead_; }

 protected:
  // A non-blocking TCP connection to 127.0.0.1:port (port2 for an odd index if
  // set), wrapped in a Connection whose input goes to on_input; null (and
  // failed()) if the socket call fails.
  std::shared_ptr<net::Connection> connect(net::Connection::InputHandler on_input);
  void fail(const std::string& why);

  Env& env_;
  int index_;
  bool dead_ = false;
};

// protocol: "poll" (lesson 01), "h2" (02), "ws" (03), "sio" (04).
std::unique_ptr<Client> make_client(const std::string& protocol, Env& env, int index);

// Helpers shared by the clients (client.cpp).

// One HTTP/1.1 response at the start of in: returns the bytes it takes (head and
// Content-Length body), 0 if it is not complete yet, or -1 if it is not HTTP.
// A 101 has no body.
struct Response {
  int status = 0;
  std::string_view body;
};
long parse_response(std::string_view in, Response& r);

// Calls fn(id, text) for each chat message in a JSON text, i.e. each
// "id":N ... "text":"..." pair in order. The bench's texts carry no escapes.
template <typename Fn>
void each_message(std::string_view json, Fn fn);

uint64_t read_uint(std::string_view s, size_t& pos);

// The text of the one chat message in a JSON text (a WebSocket or Socket.IO
// message), found the cheap way: every bench post's text starts with '~'
// (loadgen.cpp) and no other field of a chat message holds one, so one memchr
// finds it, and the 8 bytes before it must be "text":" . Anything else (a text
// not ours, another layout) goes the slow way, through each_message(). Empty if
// the JSON holds no text. Saves ~400 instructions per delivery against
// each_message()'s finds (tests/bench/README.md, "What the profile says").
std::string_view chat_text(std::string_view json);

template <typename Fn>
void each_message(std::string_view json, Fn fn) {
  size_t pos = 0;
  for (;;) {
    size_t id_at = json.find("\"id\":", pos);
    if (id_at == std::string_view::npos) return;
    size_t p = id_at + 5;
    uint64_t id = read_uint(json, p);
    size_t text_at = json.find("\"text\":\"", p);
    if (text_at == std::string_view::npos) return;
    size_t start = text_at + 8;
    size_t end = json.find('"', start);
    if (end == std::string_view::npos) return;
    fn(id, json.substr(start, end - start));
    pos = end + 1;
  }
}

}  // namespace bench
