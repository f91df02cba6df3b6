// Sockets for the lessons: an owning file descriptor, a TCP listener on
// loopback, and a Connection with capped input and output buffers.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loop.h"

namespace net {

// Owns a file descriptor: closed exactly once, when the owner goes away.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset();

 private:
  int fd_ = -1;
};

// Bytes that many connections send unchanged, such as one broadcast frame for a
// whole room: copied once into a shared chunk, queued by every connection as a
// reference (Connection::send(const SharedSlice&)), freed when the last queue lets go.
struct SharedSlice {
  std::shared_ptr<const std::string> chunk;
  size_t offset = 0;
  size_t size = 0;
  std::string_view view() const { return {chunk->data() + offset, size}; }
};

// Appends such bytes to 64 KiB chunks, so consecutive broadcasts sit side by side:
// a connection that is sent several in one turn queues one slice that covers them
// all, and writes them with one send() (Connection merges adjacent slices).
class SharedBuffer {
 public:
  SharedSlice append(std::string_view bytes);

 private:
  std::shared_ptr<std::string> chunk_;
};

struct Limits {
  size_t input_cap = 1 << 20;  // unconsumed input held before reading pauses
  size_t output_cap = 8 << 20;  // unsent output before a slow reader is dropped
  size_t max_connections = 0;  // open at once; past it new ones are refused (0: none)
  std::string refusal;  // written to a refused connection before it is closed
  // Lingering close: once our last bytes are written, we send FIN and read and drop
  // what the peer still sends, for at most this long, before closing the socket.
  int64_t linger_ms = 2000;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Called with all unconsumed input; returns how many bytes it consumed.
  using InputHandler = std::function<size_t(std::string_view)>;

  Connection(loop::Loop& loop, Fd fd, uint64_t id, std::string peer, Limits limits);
  ~Connection();

  void start(InputHandler on_input, std::function<void()> on_close);
  // Hands the connection to another protocol (an upgrade): new handlers from now on.
  void set_input_handler(InputHandler on_input) { on_input_ = std::move(on_input); }
  void set_close_handler(std::function<void()> on_close) {
    on_close_ = std::move(on_close);
  }

  // Queues bytes, written at the end of this turn of the loop (so several sends
  // leave in one system call); a connection whose unsent output passes
  // output_cap is closed.
  void send(std::string_view bytes);
  // The same, for bytes shared with other connections: nothing is copied, and a
  // slice that follows the last one queued in its chunk extends it.
  void send(const SharedSlice& slice);
  // Stops delivering input and closes once everything queued has been written,
  // lingering: it sends FIN, then reads and drops the peer's input until the peer
  // closes too, or for at most linger_ms. Closing a socket with unread input makes
  // the kernel send a reset, which can destroy our answer before the peer reads it
  // (RFC 9112 §9.6: a server closes in stages, and keeps reading for a while).
  void close_after_flush();
  void close_now();
  // Stops or restarts delivering input. While paused, bytes are still read and
  // buffered up to input_cap (then TCP pushes back), so a close is still seen.
  // resume() also hands any buffered input to the current handler, from the loop.
  //
  // A FIN from the peer (read() == 0) means it sends nothing more, not that it
  // reads nothing more (RFC 9293 §3.6, RFC 9112 §9.6): what is buffered is still
  // handed over and what is queued still written, then the connection closes. A
  // paused connection with nothing buffered (a held long poll) closes at the FIN:
  // its client has gone.
  void pause();
  void resume();

  bool open() const { return fd_.get() >= 0; }
  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  size_t queued() const { return queued_; }

 private:
  void on_events(int events);
  void read_some();
  void write_some();
  ssize_t write_queued(int flags);
  void consume_output(size_t n);
  bool accept_output(size_t n);
  void schedule_flush(bool was_idle);
  void deliver(std::string_view fresh);
  void update_interest();
  void after_eof();
  void linger();

  loop::Loop& loop_;
  Fd fd_;
  uint64_t id_;
  std::string peer_;
  Limits limits_;
  InputHandler on_input_;
  std::function<void()> on_close_;
  std::string in_;
  // The output queue: slices of chunks, written in order with one send() or
  // sendmsg() (an iovec per slice). Bytes given to send(string_view) are copied
  // into own_, the connection's private chunk; shared slices are not copied.
  struct Segment {
    std::shared_ptr<const std::string> chunk;
    size_t begin, end;
  };
  std::vector<Segment> out_;
  size_t out_head_ = 0;  // out_[out_head_] is the first segment not fully written
  size_t queued_ = 0;  // bytes in the queue not yet written
  std::shared_ptr<std::string> own_;
  std::shared_ptr<Connection> flush_owner_;  // keeps us alive until the deferred write
  bool paused_ = false;
  bool closing_ = false;
  bool eof_ = false;  // the peer sent FIN
  bool lingering_ = false;  // we sent FIN, and drop what still comes
  loop::TimerId linger_timer_ = 0;
  bool delivering_ = false;
  bool resume_pending_ = false;  // resume() will hand in_ to the handler from the loop
  bool eof_recheck_ = false;  // after the FIN, an unanswered request is looked at again
  bool flush_scheduled_ = false;  // a write is deferred to the end of this loop turn
  std::function<void()> release_;  // set by the Listener that owns this connection
  friend class Listener;
};

// Accepts TCP connections on 127.0.0.1 and ::1 (the same port on both). listen()
// also raises the process's open-file limit to its hard limit: each connection
// is a file descriptor, and the usual soft limit (1024) is far below what one
// event loop can serve.
class Listener {
 public:
  using AcceptHandler = std::function<void(std::shared_ptr<Connection>)>;
  Listener(loop::Loop& loop, Limits limits)
      : loop_(loop), limits_(limits), conn_limits_(limits) {
    // Only the listener writes the refusal: a connection's copy of the limits
    // leaves it out, which saves ~180 bytes of heap per open connection.
    conn_limits_.refusal = std::string();
  }
  // Returns an error message, or "" on success. port 0 picks a free port.
  std::string listen(int port);
  int port() const { return port_; }
  void on_accept(AcceptHandler handler) { on_accept_ = std::move(handler); }
  // Every open connection, by id.
  const std::unordered_map<uint64_t, std::shared_ptr<Connection>>& connections() const {
    return connections_;
  }
  // Graceful stop: no new connections, every open one closed once its output is
  // written; calls done when all are gone or after grace_ms, whichever is first.
  void shutdown(int64_t grace_ms, std::function<void()> done);

 private:
  void accept_ready(int fd);
  void refuse(Fd fd);
  void check_shutdown();

  loop::Loop& loop_;
  Limits limits_;
  Limits conn_limits_;  // what each accepted Connection gets: no refusal text
  std::vector<Fd> sockets_;
  int port_ = 0;
  uint64_t next_id_ = 1;
  AcceptHandler on_accept_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  bool accept_paused_ = false;
  uint64_t refused_ = 0;  // connections refused over max_connections, not yet logged
  int64_t refused_logged_ms_ = 0;
  int64_t shutdown_deadline_ = 0;
  std::function<void()> shutdown_done_;
};

// Calls handler (from the loop, not the signal context) on SIGINT or SIGTERM.
void on_shutdown_signal(loop::Loop& loop, std::function<void()> handler);

}  // namespace net
