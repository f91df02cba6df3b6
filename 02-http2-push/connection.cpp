#include "connection.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "common/loop.h"

namespace h2 {

Connection::Connection(uint64_t id, Limits limits, Callbacks callbacks)
    : id_(id), limits_(limits), cb_(std::move(callbacks)) {}

// Input
// -----

size_t Connection::on_input(std::string_view in) {
  if (dead_) return in.size();
  size_t used = 0;
  if (!preface_seen_) {
    ParseResult r = check_preface(in);
    if (r.status == Status::need_more) return 0;
    if (r.status == Status::error) {
      connection_error(r.code, r.reason.substr(sizeof "RFC 9113 " - 1));
      return in.size();
    }
    preface_seen_ = true;
    used = r.consumed;
    logs::trace("#%llu ← connection preface %s", (unsigned long long)id_,
                logs::printable(kConnectionPreface).c_str());
  }
  while (!dead_) {
    Frame f;
    // We never raise SETTINGS_MAX_FRAME_SIZE, so the peer's frames stay at 16384.
    ParseResult r = parse_frame(in.substr(used), kDefaultMaxFrameSize, f);
    if (r.status == Status::need_more) break;
    // RFC 9113 §6.10: while a field block is open, any frame but its CONTINUATION
    // is a connection error PROTOCOL_ERROR (checked before other errors).
    if (block_stream_ && (f.header.type != FrameType::continuation ||
                          f.header.stream_id != block_stream_)) {
      connection_error(ErrorCode::protocol_error,
                       "§6.10: " + std::string(frame_type_name(f.header.type)) +
                           " on stream " + std::to_string(f.header.stream_id) +
                           " inside the field block of stream " +
                           std::to_string(block_stream_));
      break;
    }
    if (r.status == Status::error) {
      if (logs::tracing()) trace_frame("←", in.substr(used), f);
      if (r.scope == ErrorScope::connection) {
        connection_error(r.code, r.reason.substr(sizeof "RFC 9113 " - 1));
        break;
      }
      used += r.consumed;
      const std::string on = " on stream " + std::to_string(r.stream_id);
      // RFC 9113 §5.1: on an idle stream only HEADERS and PRIORITY may come, and
      // §6.4 forbids RST_STREAM there: the error is the connection's.
      if (idle(r.stream_id) && f.header.type != FrameType::priority) {
        connection_error(ErrorCode::protocol_error,
                         "§5.1: " + std::string(frame_type_name(f.header.type)) + on +
                             ", which is idle");
        break;
      }
      if (idle(r.stream_id)) {
        connection_error(r.code, r.reason.substr(sizeof "RFC 9113 " - 1) + on +
                                     ", idle: §6.4 forbids RST_STREAM there");
        break;
      }
      // RFC 9113 §5.1: frames on a stream we reset are ignored.
      if (!reset_by_us(r.stream_id)) reset_stream(r.stream_id, r.code, r.reason);
      continue;
    }
    if (logs::tracing()) trace_frame("←", in.substr(used), f);
    used += r.consumed;
    handle(f);
  }
  return dead_ ? in.size() : used;
}

// RFC 9113 §5.1: a stream the peer has not opened yet. Client streams are odd,
// ours (pushed) even.
bool Connection::idle(uint32_t stream_id) const {
  return stream_id % 2 ? stream_id > seen_client_stream_
                       : stream_id > last_pushed_stream_;
}

// RFC 9113 §5.1: after we send RST_STREAM, the peer may still send frames it
// had sent before it saw ours; they are ignored, for the last
// reset_streams_remembered streams we reset.
bool Connection::reset_by_us(uint32_t stream_id) const {
  return std::find(reset_.begin(), reset_.end(), stream_id) != reset_.end();
}

void Connection::handle(const Frame& f) {
  // RFC 9113 §3.4: the client's preface is the magic followed by SETTINGS.
  if (!settings_seen_ && (f.header.type != FrameType::settings || f.has(flag::ack)))
    return connection_error(ErrorCode::protocol_error,
                            "§3.4: the first frame after the preface must be SETTINGS");
  const uint32_t sid = f.header.stream_id;
  switch (f.header.type) {
    case FrameType::data:
      return on_data(f);
    case FrameType::headers:
      return on_headers_frame(f);
    case FrameType::priority:
      return;  // RFC 9113 §5.3.2: the priority signals are deprecated; ignored.
    case FrameType::rst_stream:
      return on_rst_stream(f);
    case FrameType::settings:
      return on_settings(f);
    case FrameType::push_promise:
      // RFC 9113 §8.4: a client cannot push; PUSH_PROMISE from it is PROTOCOL_ERROR.
      return connection_error(ErrorCode::protocol_error,
                              "§8.4: PUSH_PROMISE from a client");
    case FrameType::ping:
      // The ACK of our shutdown PING: one round trip, the second GOAWAY (§6.8).
      if (f.has(flag::ack) && draining_ && f.opaque_data == kShutdownPing)
        return finish_shutdown();
      if (f.has(flag::ack) || flooded(ping_flood_, "PINGs")) return;
      {
        // RFC 9113 §6.7: a PING without ACK is answered with the same 8 bytes, ACK.
        std::string out;
        write_ping(out, f.opaque_data, true);
        emit(out);
      }
      return;
    case FrameType::goaway:
      // RFC 9113 §6.8: the peer opens no more streams; ours may finish.
      peer_going_away_ = true;
      if (streams_.empty() && cb_.close) cb_.close();
      return;
    case FrameType::window_update:
      return on_window_update(f);
    case FrameType::continuation:
      // RFC 9113 §6.10: CONTINUATION not preceded by an open field block.
      if (!block_stream_)
        return connection_error(ErrorCode::protocol_error,
                                "§6.10: CONTINUATION on stream " + std::to_string(sid) +
                                    " without HEADERS before it");
      return on_continuation(f);
    default:
      return;  // RFC 9113 §5.5: unknown frame types are ignored.
  }
}

void Connection::on_data(const Frame& f) {
  const uint32_t sid = f.header.stream_id;
  const uint32_t length = f.header.length;  // padding counts too (§6.9)
  // RFC 9113 §5.1: DATA on an idle stream is a connection error PROTOCOL_ERROR.
  if (idle(sid))
    return connection_error(ErrorCode::protocol_error,
                            "§5.1: DATA on idle stream " + std::to_string(sid));
  // RFC 9113 §6.9.1: a sender MUST NOT send more than the window allows; the
  // connection window counts every DATA frame, even on closed streams (§6.9).
  if (length > conn_recv_window_)
    return connection_error(ErrorCode::flow_control_error,
                            "§6.9.1: DATA of " + std::to_string(length) +
                                " octets exceeds the connection window of " +
                                std::to_string(conn_recv_window_));
  conn_recv_window_ -= length;
  conn_recv_unacked_ += length;
  // RFC 9113 §6.9: as we consume, we open the window again. Batched to half the
  // window so a body is not answered by a WINDOW_UPDATE per frame.
  if (conn_recv_unacked_ >= 65535 / 2) {
    std::string out;
    write_window_update(out, 0, conn_recv_unacked_);
    emit(out);
    conn_recv_window_ += conn_recv_unacked_;
    conn_recv_unacked_ = 0;
  }
  const bool end = f.has(flag::end_stream);
  // RFC 9113 §10.5: empty DATA frames cost work and carry nothing, even ignored.
  if (f.data.empty() && !end && flooded(empty_data_flood_, "empty DATA frames")) return;
  // RFC 9113 §5.1: DATA that crossed our RST_STREAM is ignored (counted above),
  // and so is DATA on a stream above our last GOAWAY's (§6.8).
  if (reset_by_us(sid) || (going_away_ && sid > last_client_stream_)) return;
  auto it = streams_.find(sid);
  // RFC 9113 §5.1: DATA on a closed or half-closed (remote) stream: STREAM_CLOSED.
  if (it == streams_.end() || it->second.state == State::half_closed_remote ||
      it->second.state == State::reserved_local)
    return reset_stream(
        sid, ErrorCode::stream_closed,
        "§5.1: DATA on stream " + std::to_string(sid) + " after the client ended it");
  Stream& s = it->second;
  if (length > s.recv_window)
    return reset_stream(sid, ErrorCode::flow_control_error,
                        "§6.9.1: DATA of " + std::to_string(length) +
                            " octets exceeds the stream window of " +
                            std::to_string(s.recv_window));
  s.recv_window -= length;
  // RFC 9110 §15.5.14: 413 Content Too Large as soon as the body passes the limit.
  if (!s.discarding && s.request.body.size() + f.data.size() > limits_.max_body)
    refuse(sid, 413, "request body too large\n");
  if (!s.discarding) s.request.body += f.data;
  if (end) return remote_closed(sid);
  // RFC 9113 §6.9: the body is consumed (kept, or dropped after an early answer),
  // so its room is given back to the stream as well, in batches of half the
  // window. While it is kept, never past max_body + 1 octets in all: one octet
  // over the limit is enough to answer 413, and a client that sends more than
  // that without waiting for us breaks flow control (caught above).
  s.recv_unacked += length;
  const int64_t room = s.discarding
                           ? s.recv_unacked
                           : std::min<int64_t>(s.recv_unacked, int64_t(limits_.max_body) +
                                                                   1 - s.recv_credit);
  if (s.recv_unacked >= limits_.initial_window_size / 2 && room > 0) {
    std::string out;
    write_window_update(out, sid, static_cast<uint32_t>(room));
    emit(out);
    s.recv_window += room;
    s.recv_credit += room;
    s.recv_unacked -= static_cast<uint32_t>(room);
  }
}

void Connection::on_headers_frame(const Frame& f) {
  block_stream_ = f.header.stream_id;
  // RFC 7540 §5.3.1: a stream cannot depend on itself (a stream error PROTOCOL_ERROR,
  // still enforced by nghttp2 and Go although RFC 9113 §5.3.2 deprecates priority).
  // Known now, answered once the block is decoded: the HPACK table must follow it.
  block_self_dependent_ =
      f.has(flag::priority) && f.stream_dependency == f.header.stream_id;
  block_end_stream_ = f.has(flag::end_stream);
  block_frames_ = 1;
  block_.assign(f.field_block_fragment);
  if (block_.size() > limits_.max_header_block)
    return connection_error(ErrorCode::enhance_your_calm, "§10.5: field block too large");
  if (f.has(flag::end_headers)) on_field_block();
}

void Connection::on_continuation(const Frame& f) {
  block_ += f.field_block_fragment;
  // RFC 9113 §10.5: a field block is capped; an endless CONTINUATION sequence
  // (or a stream of empty ones) would otherwise hold us forever.
  if (block_.size() > limits_.max_header_block || ++block_frames_ > 256)
    return connection_error(ErrorCode::enhance_your_calm,
                            "§10.5: field block over " +
                                std::to_string(limits_.max_header_block) +
                                " octets or 256 frames");
  if (f.has(flag::end_headers)) on_field_block();
}

// A whole field block: decode it (always: the HPACK table must stay in step, even
// for a stream we are about to refuse), then decide what the stream does.
void Connection::on_field_block() {
  const uint32_t sid = block_stream_;
  const bool end = block_end_stream_;
  block_stream_ = 0;
  hpack::HeaderList fields;
  // Decoding stops past 4 times the header list size we advertised (a list
  // between the two is decoded, then answered with 431 below).
  std::string e =
      decoder_.decode(block_, fields, 4 * size_t{limits_.max_header_list_size});
  block_.clear();
  // RFC 9113 §10.5.1: a block that expands without bound (an "HPACK bomb").
  if (e.rfind("limit:", 0) == 0)
    return connection_error(ErrorCode::enhance_your_calm, "§10.5.1: " + e.substr(7));
  // RFC 9113 §4.3: a field block that cannot be decoded is a connection error
  // COMPRESSION_ERROR.
  if (!e.empty()) return connection_error(ErrorCode::compression_error, e);
  trace_fields("←", fields);
  // RFC 9113 §5.1: trailers that crossed our RST_STREAM are ignored.
  if (reset_by_us(sid)) return;
  auto self = [sid] {
    return "RFC 7540 §5.3.1: stream " + std::to_string(sid) + " depends on itself";
  };

  auto it = streams_.find(sid);
  if (it != streams_.end()) {
    if (block_self_dependent_)
      return reset_stream(sid, ErrorCode::protocol_error, self());
    // RFC 9113 §5.1: a half-closed (remote) stream gets no more HEADERS.
    if (it->second.state == State::half_closed_remote)
      return reset_stream(sid, ErrorCode::stream_closed,
                          "§5.1: HEADERS after END_STREAM");
    // RFC 9113 §8.1: a second HEADERS is a trailer section and MUST end the stream.
    if (!end)
      return reset_stream(sid, ErrorCode::protocol_error,
                          "§8.1: trailers without END_STREAM");
    if (!(e = check_trailers(fields)).empty())
      return reset_stream(sid, ErrorCode::protocol_error, e);
    return remote_closed(sid);
  }
  // RFC 9113 §5.1.1: streams initiated by a client MUST use odd identifiers.
  if (sid % 2 == 0)
    return connection_error(ErrorCode::protocol_error,
                            "§5.1.1: HEADERS on even stream " + std::to_string(sid));
  // RFC 9113 §5.1.1: a new stream id MUST be greater than every earlier one.
  if (sid <= seen_client_stream_)
    return connection_error(ErrorCode::protocol_error,
                            "§5.1.1: stream " + std::to_string(sid) +
                                " is not above the last one, " +
                                std::to_string(seen_client_stream_));
  seen_client_stream_ = sid;
  // RFC 9113 §6.8: after our (final) GOAWAY, new streams are ignored.
  if (going_away_) return;
  last_client_stream_ = sid;
  if (block_self_dependent_) return reset_stream(sid, ErrorCode::protocol_error, self());
  size_t open = 0;
  for (auto& [id, s] : streams_)
    open += id % 2;
  // RFC 9113 §5.1.2: a stream over SETTINGS_MAX_CONCURRENT_STREAMS is refused
  // (REFUSED_STREAM says it was not processed: safe to retry).
  if (open >= limits_.max_concurrent_streams) {
    if (flooded(reset_flood_, "streams reset")) return;
    return reset_stream(sid, ErrorCode::refused_stream, "");
  }
  Stream& s = streams_[sid];
  s.state = end ? State::half_closed_remote : State::open;
  s.send_window = peer_initial_window_;
  s.recv_window = s.recv_credit = limits_.initial_window_size;
  s.deadline_ms = loop::Loop::now_ms() + limits_.body_timeout_ms;
  s.request.stream_id = sid;
  size_t list_size = 0;
  for (const hpack::Header& h : fields)
    list_size += hpack::entry_size(h.name, h.value);
  // RFC 9113 §8.1.1: a malformed request is a stream error PROTOCOL_ERROR.
  if (!(e = read_request(std::move(fields), s.request)).empty())
    return reset_stream(sid, ErrorCode::protocol_error, e);
  // RFC 9110 §9.3.2: a HEAD response is a GET's without content.
  s.head = s.request.method == "HEAD";
  // RFC 9113 §10.5.1: more than our SETTINGS_MAX_HEADER_LIST_SIZE: 431.
  if (list_size > limits_.max_header_list_size)
    return refuse(sid, 431, "header list too large\n");
  // RFC 9110 §8.6: Content-Length is 1*DIGIT; RFC 9113 §8.1.1 compares it with the
  // DATA at the end. One larger than we accept is refused before the body comes.
  if (const std::string* cl = s.request.header("content-length")) {
    if (cl->empty() || cl->size() > 18 ||
        cl->find_first_not_of("0123456789") != std::string::npos)
      return reset_stream(sid, ErrorCode::protocol_error,
                          "RFC 9110 §8.6: content-length " + *cl + " is not a number");
    if (std::stoull(*cl) > limits_.max_body)
      return refuse(sid, 413, "request body too large\n");
  }
  if (end) remote_closed(sid);
}

// A final answer before the request is complete (413, 431). RFC 9113 §8.1 would
// let us follow it with RST_STREAM NO_ERROR, but curl 7.88 (Debian 12's) then
// throws the answer away; so the rest of the body is read and dropped (its windows given
// back) until END_STREAM, or until --body-timeout resets the stream.
void Connection::refuse(uint32_t sid, int status, const char* text) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  it->second.discarding = it->second.state == State::open;
  std::string().swap(it->second.request.body);
  respond(sid, status, {{"content-type", "text/plain"}}, text);
}

// RFC 9110 §15.5.9: 408 Request Timeout, then RST_STREAM NO_ERROR (§8.1): the
// client stopped sending, and the stream must not hold its body forever.
void Connection::expire_requests(int64_t now_ms) {
  std::vector<uint32_t> late;
  for (const auto& [id, s] : streams_)
    if ((s.state == State::open || s.discarding) && s.deadline_ms <= now_ms)
      late.push_back(id);
  for (uint32_t id : late) {
    // Answering may have ended the connection (its streams gone) meanwhile.
    auto it = streams_.find(id);
    if (dead_ || it == streams_.end()) continue;
    const bool answered = it->second.discarding;
    logs::info("#%llu stream %u: request body not complete within %lld ms; %s",
               (unsigned long long)id_, id, (long long)limits_.body_timeout_ms,
               answered ? "RST_STREAM" : "408");
    if (!answered)
      respond(id, 408, {{"content-type", "text/plain"}},
              "request body not complete in time\n");
    reset_stream(id, ErrorCode::no_error, "");
  }
}

// The client ended its side (END_STREAM): the request is complete.
void Connection::remote_closed(uint32_t sid) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (s.state == State::half_closed_local) {
    streams_.erase(it);
    return;
  }
  s.state = State::half_closed_remote;
  if (s.discarding) return;  // answered already; the body was dropped
  // RFC 9113 §8.1.1: a content-length that does not match the DATA is malformed.
  if (const std::string* cl = s.request.header("content-length");
      cl && *cl != std::to_string(s.request.body.size()))
    return reset_stream(sid, ErrorCode::protocol_error,
                        "§8.1.1: content-length " + *cl + " but " +
                            std::to_string(s.request.body.size()) + " octets of DATA");
  // A copy: answering may close the stream, and the handler may still read it.
  Request request = std::move(s.request);
  if (cb_.request) cb_.request(request);
}

// We sent END_STREAM.
void Connection::local_closed(uint32_t sid) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  if (it->second.state == State::half_closed_remote) {
    streams_.erase(it);
    if (peer_going_away_ && streams_.empty() && cb_.close) cb_.close();
  } else {
    it->second.state = State::half_closed_local;
  }
}

void Connection::on_settings(const Frame& f) {
  if (f.has(flag::ack)) return;  // our SETTINGS arrived; nothing was pending on it
  settings_seen_ = true;
  if (flooded(settings_flood_, "SETTINGS frames")) return;
  // RFC 9113 §6.5.3: values are applied in the order they appear.
  for (const Setting& s : f.settings) {
    switch (s.id) {
      case SettingId::header_table_size:
        encoder_.set_peer_limit(s.value);
        break;
      case SettingId::enable_push:
        peer_enable_push_ = s.value == 1;
        break;
      case SettingId::max_concurrent_streams:
        peer_max_streams_ = s.value;
        break;
      case SettingId::initial_window_size: {
        // RFC 9113 §6.9.2: a new initial size changes every stream's window by the
        // difference; one that goes past 2^31-1 is a FLOW_CONTROL_ERROR.
        const int64_t delta = int64_t{s.value} - peer_initial_window_;
        peer_initial_window_ = s.value;
        for (auto& [id, st] : streams_) {
          st.send_window += delta;
          if (st.send_window > kMaxWindowSize)
            return connection_error(
                ErrorCode::flow_control_error,
                "§6.9.2: SETTINGS_INITIAL_WINDOW_SIZE pushes stream " +
                    std::to_string(id) + "'s window past 2^31-1");
        }
        break;
      }
      case SettingId::max_frame_size:
        peer_max_frame_ = s.value;
        break;
      default:
        break;  // SETTINGS_MAX_HEADER_LIST_SIZE is advisory; unknown ones ignored.
    }
  }
  // RFC 9113 §6.5.3: the receiver MUST immediately emit a SETTINGS ACK.
  std::string out;
  write_settings_ack(out);
  emit(out);
  flush_all();
}

void Connection::on_rst_stream(const Frame& f) {
  const uint32_t sid = f.header.stream_id;
  // RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error.
  if (idle(sid))
    return connection_error(ErrorCode::protocol_error,
                            "§6.4: RST_STREAM on idle stream " + std::to_string(sid));
  // Opening streams and resetting them at once costs the server work and the
  // client nothing: the "rapid reset" attack (CVE-2023-44487). Every reset counts.
  if (flooded(reset_flood_, "streams reset")) return;
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;  // already closed: nothing to do
  const bool answering = it->second.responded;
  streams_.erase(it);
  if (answering && cb_.stream_gone) cb_.stream_gone(sid);
}

void Connection::on_window_update(const Frame& f) {
  const uint32_t sid = f.header.stream_id;
  const int64_t inc = f.window_size_increment;
  // EXERCISE connection-window: stream 0: past 2^31-1 is FLOW_CONTROL_ERROR, else add
  if (sid == 0) {
    // RFC 9113 §6.9.1: a window over 2^31-1 is a connection FLOW_CONTROL_ERROR.
    if (conn_send_window_ + inc > kMaxWindowSize)
      return connection_error(ErrorCode::flow_control_error,
                              "§6.9.1: connection window pushed past 2^31-1");
    conn_send_window_ += inc;
    return flush_all();
  }
  // END EXERCISE connection-window
  // RFC 9113 §5.1: WINDOW_UPDATE on an idle stream is PROTOCOL_ERROR.
  if (idle(sid))
    return connection_error(ErrorCode::protocol_error,
                            "§5.1: WINDOW_UPDATE on idle stream " + std::to_string(sid));
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;  // §6.9: closed streams may still get these
  // RFC 9113 §6.9.1: on a stream, it is a stream error FLOW_CONTROL_ERROR.
  if (it->second.send_window + inc > kMaxWindowSize)
    return reset_stream(sid, ErrorCode::flow_control_error,
                        "§6.9.1: stream window pushed past 2^31-1");
  it->second.send_window += inc;
  flush(sid);
}

}  // namespace h2
