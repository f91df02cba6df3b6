// Everything the connection sends: our SETTINGS, error answers (GOAWAY,
// RST_STREAM), responses as HEADERS and DATA kept within the peer's flow-control
// windows (RFC 9113 §6.9), server push (§8.4), and the --trace of it all. The
// receiving half is in connection.cpp.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/log.h"
#include "common/loop.h"
#include "connection.h"

namespace h2 {

// Output and --trace
// ------------------

// Bytes as spaced hex, cut after max with a note of how many were left out.
static std::string hex(std::string_view bytes, size_t max = 48) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", static_cast<uint8_t>(bytes[i]));
    s += buf;
  }
  if (bytes.size() > max) s += " ...(+" + std::to_string(bytes.size() - max) + ")";
  return s;
}

// --trace, one frame: what it is, its 9 header bytes, then what it carries (a
// field block in hex, DATA as text).
void Connection::trace_frame(const char* arrow, std::string_view bytes,
                             const Frame& f) const {
  const auto id = (unsigned long long)id_;
  logs::trace("#%llu %s %s  [%s]", id, arrow, describe(f).c_str(),
              hex(bytes.substr(0, kFrameHeaderSize)).c_str());
  if (!f.field_block_fragment.empty())
    logs::trace("#%llu %s   hpack %s", id, arrow, hex(f.field_block_fragment).c_str());
  if (f.header.type == FrameType::data && !f.data.empty())
    logs::trace("#%llu %s   %s", id, arrow, logs::printable(f.data, 160).c_str());
}

// Every byte we send passes here, so --trace shows our frames exactly as they
// leave, decoded by the same parser the peer's frames go through (and our field
// blocks by a second HPACK decoder that follows ours, as the peer's does).
void Connection::emit(const std::string& bytes) {
  if (logs::tracing()) trace_sent(bytes);
  cb_.send(bytes);
}

void Connection::trace_sent(std::string_view bytes) {
  std::string_view rest = bytes;
  Frame f;
  while (parse_frame(rest, kLargestMaxFrameSize, f).status == Status::done) {
    trace_frame("→", rest, f);
    trace_block_ += f.field_block_fragment;
    const FrameType t = f.header.type;
    if (f.has(flag::end_headers) &&
        (t == FrameType::headers || t == FrameType::continuation ||
         t == FrameType::push_promise)) {
      hpack::HeaderList fields;
      trace_decoder_.decode(trace_block_, fields);
      trace_fields("→", fields);
      trace_block_.clear();
    }
    rest.remove_prefix(kFrameHeaderSize + f.header.length);
  }
}

// One DATA frame whose payload is shared bytes (an embedded file): only its 9-byte
// header is ours; the payload is queued by reference. For h2load's GET /style.css
// this saves three copies of the 3.9 KB file per request (into an http::Response,
// into a frame string, into the socket's queue) and the allocations that came with
// them (tests/bench/README.md). Without send_shared (TLS encrypts, so copies, all
// it sends anyway), header and payload go to send as one frame.
void Connection::send_data_by_reference(uint32_t sid, const net::SharedSlice& payload,
                                        bool end_stream) {
  std::string header;
  write_data_header(header, sid, payload.size, end_stream);
  if (logs::tracing()) trace_sent(header + std::string(payload.view()));
  if (!cb_.send_shared) {
    header += payload.view();
    return cb_.send(header);
  }
  cb_.send(header);
  // A short payload (a chat line) costs less copied beside its header than queued
  // as a reference: the socket's queue then holds one piece per turn, not two per
  // frame (each an iovec, and a queue that grew and was freed every turn).
  constexpr size_t kCopiedBelow = 512;
  if (payload.size < kCopiedBelow) return cb_.send(payload.view());
  cb_.send_shared(payload);
}

void Connection::trace_fields(const char* arrow, const hpack::HeaderList& fields) const {
  if (!logs::tracing()) return;  // formatting every header would cost each request
  for (const hpack::Header& h : fields)
    logs::trace("#%llu %s   %s: %s", (unsigned long long)id_, arrow, h.name.c_str(),
                logs::printable(h.value, 160).c_str());
}

void Connection::start() {
  std::string out;
  // RFC 9113 §3.4: the server connection preface is a (possibly empty) SETTINGS
  // frame; ours states the limits a client must respect.
  write_settings(out,
                 {{SettingId::max_concurrent_streams, limits_.max_concurrent_streams},
                  {SettingId::initial_window_size, limits_.initial_window_size},
                  {SettingId::max_header_list_size, limits_.max_header_list_size}});
  emit(out);
}

// Errors
// ------

// RFC 9113 §5.4.1: a connection error: GOAWAY with the last stream we processed
// and the code, then close. Nothing the peer sends after it is read.
void Connection::connection_error(ErrorCode code, const std::string& reason) {
  if (dead_) return;
  logs::warn("#%llu GOAWAY %s: %s", (unsigned long long)id_, error_name(code),
             reason.c_str());
  std::string out;
  write_goaway(out, last_client_stream_, code, reason.substr(0, 200));
  emit(out);
  dead_ = going_away_ = true;
  closed();
  if (cb_.close) cb_.close();
}

// RFC 9113 §5.4.2: a stream error: RST_STREAM, and the stream is closed.
void Connection::reset_stream(uint32_t stream_id, ErrorCode code,
                              const std::string& reason) {
  if (!reason.empty())
    logs::info("#%llu RST_STREAM %u %s: %s", (unsigned long long)id_, stream_id,
               error_name(code), reason.c_str());
  std::string out;
  write_rst_stream(out, stream_id, code);
  emit(out);
  // RFC 9113 §5.1: remembered, so that the frames already on their way are ignored.
  reset_.push_back(stream_id);
  if (reset_.size() > limits_.reset_streams_remembered) reset_.pop_front();
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  const bool answering = it->second.responded;
  streams_.erase(it);
  if (answering && cb_.stream_gone) cb_.stream_gone(stream_id);
}

// RFC 9113 §10.5: cheap frames that cost us work (an ACK to queue, a stream to
// set up and tear down) are counted; past the limit in one second, the peer is
// told to calm down and the connection ends.
bool Connection::flooded(Flood& counter, const char* what) {
  const int64_t now = loop::Loop::now_ms();
  if (now - counter.window_start >= 1000) counter = Flood{now, 0};
  if (++counter.count <= limits_.flood_limit) return false;
  connection_error(ErrorCode::enhance_your_calm, "§10.5: more than " +
                                                     std::to_string(limits_.flood_limit) +
                                                     " " + what + " in a second");
  return true;
}

void Connection::closed() {
  dead_ = true;
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams)
    if (s.responded && cb_.stream_gone) cb_.stream_gone(id);
}

// Output
// ------

// RFC 9113 §8.3.2: :status first, then the fields, then content-length when
// the body's size is known. Encoded a field at a time from where they are, so no
// list is built (or copied) for them.
void Connection::send_headers(uint32_t sid, int status, const hpack::HeaderList& headers,
                              std::optional<size_t> content_length, bool end_stream) {
  std::string block;
  encoder_.begin(block);
  encoder_.add(block, ":status", std::to_string(status));
  for (const hpack::Header& h : headers)
    encoder_.add(block, h.name, h.value, h.never_indexed);
  if (content_length)
    encoder_.add(block, "content-length", std::to_string(*content_length));
  std::string out;
  write_headers_block(out, sid, block, end_stream, peer_max_frame_);
  emit(out);
}

void Connection::start_response(uint32_t sid, int status,
                                const hpack::HeaderList& headers) {
  begin_response(sid, status, headers, std::nullopt);
}

void Connection::begin_response(uint32_t sid, int status,
                                const hpack::HeaderList& headers,
                                std::optional<size_t> content_length) {
  auto it = streams_.find(sid);
  if (dead_ || it == streams_.end() || it->second.responded) return;
  Stream& s = it->second;
  s.responded = true;
  // RFC 9113 §5.1: a reserved (local) stream becomes half-closed (remote) when
  // its HEADERS go out.
  if (s.state == State::reserved_local) s.state = State::half_closed_remote;
  // RFC 9110 §9.3.2: a HEAD response has the GET's fields (content-length
  // included) and no content: END_STREAM on the HEADERS, no DATA.
  const bool head = s.head;
  send_headers(sid, status, headers, content_length, head);
  // The parent's HEADERS are out: now the responses promised on it (§8.4).
  send_pushed(sid);
  if (head) local_closed(sid);
}

void Connection::respond(uint32_t sid, int status, const hpack::HeaderList& headers,
                         std::string_view body) {
  begin_response(sid, status, headers, body.size());
  send_data(sid, body, true);
}

void Connection::respond(uint32_t sid, int status, const hpack::HeaderList& headers,
                         const net::SharedSlice& body) {
  begin_response(sid, status, headers, body.size);
  send_data(sid, body, true);
}

void Connection::send_data(uint32_t sid, const net::SharedSlice& data, bool end_stream) {
  auto it = streams_.find(sid);
  if (dead_ || it == streams_.end() || !it->second.responded || it->second.unsent_end ||
      it->second.head)
    return;
  Stream& s = it->second;
  // Behind other waiting bytes it is copied, so that one stream waits on one queue.
  if (!s.unsent.empty() || s.unsent_shared.size > 0 || data.size == 0)
    return send_data(sid, data.view(), end_stream);
  s.unsent_shared = data;
  s.unsent_end = end_stream;
  flush(sid);
}

void Connection::send_data(uint32_t sid, std::string_view data, bool end_stream) {
  auto it = streams_.find(sid);
  if (dead_ || it == streams_.end() || !it->second.responded || it->second.unsent_end ||
      it->second.head)
    return;
  Stream& s = it->second;
  // A reader that stops reading (its window stays shut) cannot make us hold
  // more than max_unsent for it: not per stream, which a client could multiply
  // by opening a hundred of them, but for the whole connection. Shared bytes
  // waiting by reference cost nothing of ours, and are not counted until copied.
  if (s.unsent_shared.size > 0) {
    s.unsent.assign(s.unsent_shared.view());
    s.unsent_shared = {};
  }
  size_t held = 0;
  for (const auto& [id, other] : streams_)
    held += other.unsent.size();
  if (held + data.size() > limits_.max_unsent)
    return reset_stream(sid, ErrorCode::cancel,
                        "the client is not reading; over " +
                            std::to_string(limits_.max_unsent) +
                            " octets wait for window");
  s.unsent += data;
  s.unsent_end = end_stream;
  flush(sid);
}

// Sends what the windows allow of one stream's waiting DATA. RFC 9113 §6.9.1:
// never more than the smaller of the stream's and the connection's window, and
// no frame larger than the peer's SETTINGS_MAX_FRAME_SIZE (§4.2).
void Connection::flush(uint32_t sid) {
  auto it = streams_.find(sid);
  if (dead_ || it == streams_.end()) return;
  Stream& s = it->second;
  std::string out;
  bool ended = false;
  // At most one of the two holds bytes (see Stream::unsent_shared).
  const bool shared = s.unsent_shared.size > 0;
  while (!s.unsent.empty() || s.unsent_shared.size > 0 || (s.unsent_end && !ended)) {
    const size_t waiting = shared ? s.unsent_shared.size : s.unsent.size();
    const int64_t room =
        std::min({conn_send_window_, s.send_window, int64_t{peer_max_frame_},
                  static_cast<int64_t>(waiting)});
    if (room <= 0 && waiting > 0) break;  // blocked: wait for WINDOW_UPDATE
    const size_t n = static_cast<size_t>(std::max<int64_t>(room, 0));
    ended = s.unsent_end && n == waiting;
    conn_send_window_ -= static_cast<int64_t>(n);
    s.send_window -= static_cast<int64_t>(n);
    if (shared) {
      const net::SharedSlice piece{s.unsent_shared.chunk, s.unsent_shared.offset, n};
      s.unsent_shared.offset += n;
      s.unsent_shared.size -= n;
      if (s.unsent_shared.size == 0) s.unsent_shared = {};
      send_data_by_reference(sid, piece, ended);
      // Writing may have ended the connection (a peer over its output cap), and
      // with it the stream.
      if (dead_) return;
    } else {
      write_data(out, sid, std::string_view(s.unsent).substr(0, n), ended);
      s.unsent.erase(0, n);
    }
    if (ended) break;
  }
  if (s.unsent.empty()) std::string().swap(s.unsent);
  if (!out.empty()) emit(out);
  if (ended) local_closed(sid);
}

void Connection::flush_all() {
  std::vector<uint32_t> waiting;
  for (auto& [id, s] : streams_)
    if (!s.unsent.empty() || s.unsent_shared.size > 0 || s.unsent_end)
      waiting.push_back(id);
  for (uint32_t id : waiting)
    flush(id);
}

// Server push
// -----------

uint32_t Connection::push(const Request& parent, std::string path, int status,
                          hpack::HeaderList headers, std::string_view body) {
  auto it = streams_.find(parent.stream_id);
  // RFC 9113 §8.4: only when the client allows it (SETTINGS_ENABLE_PUSH), on a
  // stream the client opened that is still open or half-closed (remote).
  if (!peer_enable_push_ || going_away_ || draining_ || it == streams_.end() ||
      it->second.responded || it->second.head)
    return 0;
  size_t pushed = 0;
  for (auto& [id, s] : streams_)
    pushed += id % 2 == 0;
  // RFC 9113 §5.1.2: the client's SETTINGS_MAX_CONCURRENT_STREAMS caps our streams.
  if (pushed >= peer_max_streams_) return 0;
  // RFC 9113 §5.1.1: streams initiated by a server use even identifiers.
  const uint32_t promised = last_pushed_stream_ + 2;
  last_pushed_stream_ = promised;
  // RFC 9113 §8.4.1: the promised request is a safe, cacheable GET with all four
  // request pseudo-headers, as if the client had sent it.
  const hpack::HeaderList request = {{":method", "GET"},
                                     {":scheme", parent.scheme},
                                     {":authority", parent.authority},
                                     {":path", std::move(path)}};
  std::string out;
  write_push_promise_block(out, parent.stream_id, promised, encoder_.encode(request),
                           peer_max_frame_);
  emit(out);
  // RFC 9113 §5.1: the promised stream is "reserved (local)" until its HEADERS.
  Stream& s = streams_[promised];
  s.state = State::reserved_local;
  s.send_window = peer_initial_window_;
  s.request.stream_id = promised;
  // The response waits for the parent's HEADERS: a client reads the answer to its
  // own request first (send_pushed).
  s.parent = parent.stream_id;
  s.pushed_status = status;
  s.pushed_headers = std::move(headers);
  s.pushed_body = body;
  return promised;
}

void Connection::send_pushed(uint32_t parent) {
  std::vector<uint32_t> promised;
  for (auto& [id, s] : streams_)
    if (s.parent == parent && !s.responded) promised.push_back(id);
  for (uint32_t id : promised) {
    auto it = streams_.find(id);
    if (dead_ || it == streams_.end()) return;  // the connection ended meanwhile
    const std::string body = std::move(it->second.pushed_body);
    respond(id, it->second.pushed_status, std::move(it->second.pushed_headers), body);
  }
}

// RFC 9113 §6.8: "a server that is attempting to gracefully shut down a
// connection SHOULD send an initial GOAWAY frame with the last stream identifier
// set to 2^31-1 and a NO_ERROR code", then, after at least one round-trip time,
// another with the real last stream: requests already on their way are served,
// not lost. The PING measures the round trip.
void Connection::shutdown() {
  if (going_away_ || draining_) return;
  draining_ = true;
  std::string out;
  write_goaway(out, kMaxStreamId, ErrorCode::no_error, "server shutting down");
  write_ping(out, kShutdownPing, false);
  emit(out);
}

void Connection::finish_shutdown() {
  if (going_away_) return;
  going_away_ = true;
  std::string out;
  // RFC 9113 §6.8: the last stream we processed; the client may retry any above.
  write_goaway(out, last_client_stream_, ErrorCode::no_error, "server shutting down");
  emit(out);
  std::vector<uint32_t> answering;
  for (auto& [id, s] : streams_)
    if (s.responded && !s.unsent_end) answering.push_back(id);
  for (uint32_t id : answering)
    send_data(id, "", true);
}

}  // namespace h2
