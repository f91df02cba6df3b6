// An HTTP/2 server connection (RFC 9113): streams, flow control and the rules
// that need connection state, on top of frame.h and hpack.h.
//
// It takes bytes and gives bytes; it never sees a socket (or TLS):
//   on_input(bytes)  reads frames, returns how many bytes it consumed (a partial
//                    frame is left for the next call)
//   callbacks.send   bytes for the peer, in order
//   callbacks.send_shared  the same for bytes that live on without us (a file's),
//                    queued by reference instead of copied; unset, they go to send
//   callbacks.request  a complete request (headers, and the body up to END_STREAM)
//   callbacks.stream_gone  a stream being answered is gone (reset by the peer,
//                    the connection failed or was closed), so stop writing to it
//   callbacks.close  a GOAWAY went out; close once the output is written
// The application answers with respond(), or start_response() + send_data() for a
// response that goes on (the chat stream).
//
// What is answered how (RFC 9113 §5.4): rules that break the connection's shared
// state (framing, HPACK, stream ids, the connection window) are connection errors,
// answered with GOAWAY and a close; rules about one stream (a malformed request,
// that stream's window) are stream errors, answered with RST_STREAM while the
// connection goes on. Every one is logged with the rule's section. A stream error
// on an idle stream, where RST_STREAM may not be sent (§6.4), is a connection
// error; frames on a stream we reset are ignored (§5.1).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.h"
#include "frame.h"
#include "hpack.h"

namespace h2 {

struct Limits {
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS we send
  uint32_t initial_window_size = 65535;  // SETTINGS_INITIAL_WINDOW_SIZE we send
  uint32_t max_header_list_size = 16384;  // SETTINGS_MAX_HEADER_LIST_SIZE we send
  size_t max_header_block = 64 * 1024;  // HEADERS + CONTINUATION bytes, at most
  // A request body, at most (else 413): lesson 01's limit. Each stream's window is
  // given back as its body arrives, so a body may be larger than the window.
  size_t max_body = 64 * 1024;
  // A request (its body) must be complete this long after its HEADERS (else 408
  // and RST_STREAM), so a body that stops arriving cannot hold memory forever.
  int64_t body_timeout_ms = 10'000;
  // How many streams we reset are remembered, so that frames the peer sent
  // before it saw our RST_STREAM are ignored (RFC 9113 §5.1); older ones are
  // forgotten and their frames treated as on any closed stream.
  size_t reset_streams_remembered = 256;
  size_t max_unsent = 1 << 20;  // response bytes held waiting for window, all streams
  uint32_t flood_limit = 100;  // per second: SETTINGS, PINGs, empty DATA, resets
};

struct Request {
  uint32_t stream_id = 0;
  std::string method, scheme, authority, path;  // the pseudo-header fields (§8.3.1)
  hpack::HeaderList headers;  // the other fields, in order
  std::string body;
  // The first regular field with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const;
};

// RFC 9113 §8.2, §8.3: checks a request's field list and fills in `out` (every
// field but the pseudo-headers goes to out.headers, moved). "" or the rule broken;
// a malformed request is a stream error of type PROTOCOL_ERROR (§8.1.1).
std::string read_request(hpack::HeaderList fields, Request& out);
// The same for trailers: regular fields only (§8.1).
std::string check_trailers(const hpack::HeaderList& fields);

// The opaque data of the PING that times a graceful shutdown (RFC 9113 §6.8).
constexpr std::string_view kShutdownPing = "shutdown";

struct Callbacks {
  std::function<void(std::string_view)> send;
  std::function<void(const Request&)> request;
  std::function<void(uint32_t stream_id)> stream_gone;
  std::function<void()> close;
  std::function<void(const net::SharedSlice&)> send_shared;  // in order with send
};

class Connection {
 public:
  // id: the connection's number in log and trace lines ("#3").
  Connection(uint64_t id, Limits limits, Callbacks callbacks);

  // RFC 9113 §3.4: the server's preface is a SETTINGS frame, sent at once.
  void start();
  size_t on_input(std::string_view in);

  // A whole response: HEADERS, then the body as DATA (as the windows allow), ended.
  void respond(uint32_t stream_id, int status, const hpack::HeaderList& headers,
               std::string_view body);
  // The same for a body shared with other responses (an embedded file): its DATA
  // frames carry it by reference, with no copy (see send_data_by_reference()).
  void respond(uint32_t stream_id, int status, const hpack::HeaderList& headers,
               const net::SharedSlice& body);
  // HEADERS without END_STREAM; the body follows with send_data().
  void start_response(uint32_t stream_id, int status, const hpack::HeaderList& headers);
  void send_data(uint32_t stream_id, std::string_view data, bool end_stream);
  void send_data(uint32_t stream_id, const net::SharedSlice& data, bool end_stream);

  // RFC 9113 §8.4: pushes a GET of `path` on behalf of the request on parent, when
  // the peer allows it (SETTINGS_ENABLE_PUSH = 1). Returns the promised stream id,
  // 0 when not pushed. Call before responding on parent: the PUSH_PROMISE goes
  // out at once, the pushed response right after the parent's HEADERS.
  uint32_t push(const Request& parent, std::string path, int status,
                hpack::HeaderList headers, std::string_view body);
  bool push_enabled() const { return peer_enable_push_; }

  // Graceful end (SIGTERM), in two steps (RFC 9113 §6.8). shutdown(): GOAWAY
  // NO_ERROR with stream id 2^31-1 and a PING; streams the client opens meanwhile
  // are still served. When the PING's ACK is back (or the caller stops waiting and
  // calls finish_shutdown()): GOAWAY with the last stream processed, and every
  // unfinished response ended.
  void shutdown();
  void finish_shutdown();
  // The final GOAWAY went out (a graceful one or an error).
  bool shut_down() const { return going_away_; }
  // RFC 9110 §15.5.9: answers 408 and resets every stream whose request is not
  // complete body_timeout_ms after its HEADERS. now_ms: loop::Loop::now_ms().
  void expire_requests(int64_t now_ms);
  // The transport is gone: every stream is gone with it.
  void closed();
  bool stream_open(uint32_t stream_id) const { return streams_.count(stream_id) != 0; }
  // The client's preface and SETTINGS have arrived.
  bool ready() const { return settings_seen_; }

 private:
  enum class State { reserved_local, open, half_closed_local, half_closed_remote };
  struct Stream {
    State state = State::open;
    int64_t send_window = 0;  // what we may still send (the peer's window)
    int64_t recv_window = 0;  // what the peer may still send us
    std::string unsent;  // DATA waiting for window
    // The same by reference (a shared body), only while unsent is empty: bytes
    // sent after it while it waits are queued behind a copy of it.
    net::SharedSlice unsent_shared;
    bool unsent_end = false;  // END_STREAM goes with the last of it
    bool responded = false;  // our HEADERS went out
    bool head = false;  // a HEAD request: the response has no content (§9.3.2)
    bool discarding = false;  // answered early (413, 431): the rest of the body dropped
    int64_t deadline_ms = 0;  // the request must be complete by then
    int64_t recv_credit = 0;  // octets the peer may send in all: the window + updates
    uint32_t recv_unacked = 0;  // body octets received, window not yet given back
    // A pushed stream: the request it was promised on, and the response that
    // goes out after the parent's HEADERS.
    uint32_t parent = 0;
    int pushed_status = 0;
    hpack::HeaderList pushed_headers;
    std::string pushed_body;
    Request request;
  };
  struct Flood {
    int64_t window_start = 0;
    uint32_t count = 0;
  };

  void handle(const Frame& f);
  void on_data(const Frame& f);
  void on_headers_frame(const Frame& f);
  void on_continuation(const Frame& f);
  void on_field_block();
  void on_settings(const Frame& f);
  void on_rst_stream(const Frame& f);
  void on_window_update(const Frame& f);
  bool idle(uint32_t stream_id) const;
  bool reset_by_us(uint32_t stream_id) const;
  void refuse(uint32_t stream_id, int status, const char* text);
  void send_pushed(uint32_t parent);
  void remote_closed(uint32_t stream_id);
  void local_closed(uint32_t stream_id);
  void flush(uint32_t stream_id);
  void flush_all();
  void begin_response(uint32_t stream_id, int status, const hpack::HeaderList& headers,
                      std::optional<size_t> content_length);
  void send_headers(uint32_t stream_id, int status, const hpack::HeaderList& headers,
                    std::optional<size_t> content_length, bool end_stream);
  void send_data_by_reference(uint32_t stream_id, const net::SharedSlice& payload,
                              bool end_stream);
  void reset_stream(uint32_t stream_id, ErrorCode code, const std::string& reason);
  void connection_error(ErrorCode code, const std::string& reason);
  bool flooded(Flood& counter, const char* what);
  void emit(const std::string& bytes);
  void trace_sent(std::string_view bytes);
  void trace_frame(const char* arrow, std::string_view bytes, const Frame& f) const;
  void trace_fields(const char* arrow, const hpack::HeaderList& fields) const;

  uint64_t id_;
  Limits limits_;
  Callbacks cb_;
  hpack::Decoder decoder_;
  hpack::Encoder encoder_;
  hpack::Decoder trace_decoder_;  // our encoder's output, decoded again for --trace
  std::string trace_block_;
  std::map<uint32_t, Stream> streams_;
  bool preface_seen_ = false;
  bool settings_seen_ = false;
  bool dead_ = false;  // a GOAWAY for an error went out: read nothing more
  bool going_away_ = false;  // the final GOAWAY went out (any code)
  bool draining_ = false;  // the first of two graceful GOAWAYs went out (§6.8)
  bool peer_going_away_ = false;
  uint32_t last_client_stream_ = 0;  // the last stream we processed
  uint32_t seen_client_stream_ = 0;  // the highest the client opened (§5.1.1)
  std::deque<uint32_t> reset_;  // streams we reset, latest last
  // The field block's HEADERS had a priority that names its own stream.
  bool block_self_dependent_ = false;
  uint32_t last_pushed_stream_ = 0;
  // The field block being assembled from HEADERS + CONTINUATION (§4.3).
  uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  size_t block_frames_ = 0;
  std::string block_;
  // Windows for the whole connection (§6.9.1): ours to send into, and the peer's.
  int64_t conn_send_window_ = 65535;
  int64_t conn_recv_window_ = 65535;
  uint32_t conn_recv_unacked_ = 0;
  // The peer's settings (§6.5.2), with their initial values.
  bool peer_enable_push_ = true;
  uint32_t peer_max_streams_ = UINT32_MAX;
  int64_t peer_initial_window_ = 65535;
  uint32_t peer_max_frame_ = kDefaultMaxFrameSize;
  Flood settings_flood_, ping_flood_, empty_data_flood_, reset_flood_;
};

}  // namespace h2
