// A Redis client on the lesson's event loop: RESP2 by hand, no thread, no hiredis.
//
// RESP ("REdis Serialization Protocol",
// redis.io/docs/latest/develop/reference/protocol-spec) is a line protocol with length
// prefixes. A command is always an array of bulk strings; a reply is one value whose
// first byte says its type:
//   client → *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nhi\r\n     SET k hi
//   server → +OK\r\n          simple string     -ERR wrong type\r\n  error
//            :42\r\n          integer           $2\r\nhi\r\n         bulk string
//            $-1\r\n          null bulk         *2\r\n...            array of replies
//            *-1\r\n          null array (XREAD BLOCK that timed out)
// Replies come back in the order of the commands, so a client may send many
// commands before the first reply (pipelining) and match replies to a queue.
//
// parse() is the reply decoder, with the contract of every parser here:
//   done       `consumed` bytes make one reply, in `reply`
//   need_more  the bytes are a prefix of a reply: call again with more
//   error      `error` names the rule broken; the connection is then closed
// It keeps no state between calls: a reply split over reads is parsed again from
// its first byte once more has arrived. Replies here are small (a stream entry is
// one chat message), so that costs less than a resumable parser would add.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/loop.h"
#include "common/net.h"

namespace redis {

// RESP2's five types, plus null (the $-1 and *-1 of RESP2) as a type of its own.
// The values are the wire's first bytes.
enum class Type : char {
  simple = '+',
  error = '-',
  integer = ':',
  bulk = '$',
  array = '*',
  null = '_',  // RESP3's null byte; RESP2 writes it $-1 or *-1
};

struct Reply {
  Type type = Type::null;
  std::string str;  // simple, error, bulk
  int64_t integer = 0;
  std::vector<Reply> elements;  // array

  bool is_error() const { return type == Type::error; }
  bool is_null() const { return type == Type::null; }
};

struct Limits {
  size_t max_bulk = 64 << 20;  // bytes in one bulk string
  size_t max_elements = 1 << 20;  // elements of one array
  size_t max_depth = 16;  // arrays inside arrays
  size_t max_line = 64 << 10;  // a simple string, error or number line
};

enum class Status { done, need_more, error };
struct ParseResult {
  Status status = Status::need_more;
  size_t consumed = 0;
  Reply reply;
  std::string error;
};

ParseResult parse(std::string_view bytes, const Limits& limits = {});

// A command as RESP: an array of bulk strings (any bytes may be in an argument).
std::string encode_command(const std::vector<std::string>& args);
void append_command(std::string& out, const std::vector<std::string>& args);

// One line for --trace and logs: XADD socket.io MAXLEN ~ 10000 * uid "ab12"...
std::string describe(const Reply& reply);

// A client with one TCP connection. Commands are queued and written together at
// the end of the loop's turn; each reply goes to the callback of the oldest
// command still waiting. When Redis goes away every waiting callback gets an
// error reply ("-ERR connection lost"), and the client connects again with a
// growing delay (100 ms doubling to 5 s) until Redis is back; meanwhile a command
// is answered at once with "-ERR not connected".
//
// In pub/sub mode (after SUBSCRIBE) Redis also sends replies nobody asked for,
// ["message", channel, payload]: those go to on_push.
class Client {
 public:
  using Callback = std::function<void(const Reply& reply)>;

  // name is what the log and --trace call this connection ("redis", "redis xread").
  Client(loop::Loop& loop, std::string name, std::string host, int port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();  // connects, then keeps connecting whenever the connection is lost
  void command(std::vector<std::string> args, Callback callback = nullptr);
  bool connected() const { return conn_ && conn_->open() && ready_; }
  size_t waiting() const { return pending_.size(); }

  std::function<void()> on_connect;  // after every (re)connection
  std::function<void()> on_disconnect;  // once per lost connection
  std::function<void(const Reply& reply)> on_push;  // pub/sub messages

 private:
  void connect();
  void connected_fd(net::Fd fd);
  size_t on_input(std::string_view bytes);
  void lost(const std::string& why);
  void retry_later();

  loop::Loop& loop_;
  std::string name_, host_;
  int port_;
  std::shared_ptr<net::Connection> conn_;
  net::Fd connecting_;  // a socket whose connect() is still in progress
  std::deque<Callback> pending_;
  bool ready_ = false;
  bool pubsub_ = false;  // SUBSCRIBE seen: unasked arrays go to on_push
  bool was_connected_ = false;  // for the log: "cut off" once, "back" once
  int64_t backoff_ms_ = 0;
  loop::TimerId retry_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "127.0.0.1:6379" → host and port, or an error message naming what is wrong.
std::string parse_address(const std::string& text, std::string& host, int& port);

}  // namespace redis
