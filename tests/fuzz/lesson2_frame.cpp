// Fuzz target: the HTTP/2 frame parser (02-http2-push/frame.h) and the server
// connection's receive path (02-http2-push/connection.h), both fed arbitrary bytes.
// The first byte is a knob (see 2.); the rest are the bytes a client sent.
//
// 1. check_preface and parse_frame over the input, frames one after another as a
//    connection would read them. Whatever the bytes: consumed <= what was given;
//    a done frame is 9 + length bytes, every shorter prefix of it is need_more,
//    and writing its header and payload back gives the same bytes; an error has
//    a §7 code and a reason naming the rule, and consumes nothing (connection
//    error) or exactly the frame (stream error).
// 2. An h2::Connection, driven from memory as tests/unit/lesson2 does, gets the
//    input (after the client preface and an empty SETTINGS, unless the input
//    starts with the preface) in pieces of 1-64 bytes, as the knob's low bits
//    say; its top bit asks for a graceful shutdown() at the end. Requests are
//    answered the way server.cpp does (a chat stream, a 201, a pushed page).
//    Whatever comes in, what the server sends must be well-formed HTTP/2: whole
//    frames our own parser accepts, and field blocks that decode; and once the
//    transport is closed, every stream being answered has been reported gone.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "02-http2-push/connection.h"
#include "common/log.h"

namespace {

// A broken invariant names itself on fd 2 (stderr is /dev/null here, see below).
[[noreturn]] void fail(const char* what, int line) {
  dprintf(2, "lesson2_frame.cpp:%d: invariant broken: %s\n", line, what);
  std::abort();
}
#define check(ok) ((ok) ? void() : fail(#ok, __LINE__))

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() &&
                          part.data() + part.size() <= whole.data() + whole.size());
}

void check_error(const h2::ParseResult& r, size_t given, const h2::Frame& f) {
  check(r.code != h2::ErrorCode::no_error);
  // The connection cuts "RFC 9113 " off the front for its GOAWAY debug data.
  check(r.reason.rfind("RFC 9113 §", 0) == 0);
  if (r.scope == h2::ErrorScope::connection) {
    check(r.consumed == 0);
  } else {
    // RFC 9113 §5.4.2: a stream error names a stream, never 0; the whole frame
    // is skipped.
    check(r.stream_id != 0 && r.stream_id == f.header.stream_id);
    check(r.consumed == h2::kFrameHeaderSize + f.header.length && r.consumed <= given);
  }
}

void check_done(std::string_view in, const h2::ParseResult& r, const h2::Frame& f) {
  const size_t size = h2::kFrameHeaderSize + f.header.length;
  check(r.consumed == size && size <= in.size());
  check(f.payload.size() == f.header.length && inside(f.payload, in.substr(0, size)));
  for (std::string_view v : {f.data, f.field_block_fragment, f.opaque_data, f.debug_data})
    check(inside(v, f.payload));
  check(f.header.stream_id <= 0x7fffffff);
  // Padding (RFC 9113 §6.1, §6.2, §6.6): what is left plus the padding fits.
  if (f.header.type == h2::FrameType::data)
    check(f.data.size() + f.pad_length + (f.has(h2::flag::padded) ? 1 : 0) ==
          f.header.length);
  if (f.header.type == h2::FrameType::settings) {
    check(f.settings.size() * 6 == f.header.length);
    std::string again;
    h2::write_settings(again, f.settings);
    check(again.substr(h2::kFrameHeaderSize) == f.payload);
  }
  // Every shorter prefix of a whole frame is need_more, never done or an error.
  h2::Frame scratch;
  const size_t step = size <= 512 ? 1 : size / 97 + 1;
  for (size_t n = 0; n < size; n += step) {
    h2::ParseResult p =
        h2::parse_frame(in.substr(0, n), h2::kDefaultMaxFrameSize, scratch);
    check(p.status == h2::Status::need_more && p.consumed == 0);
  }
  // Written back with the header's fields, the frame is the same bytes, but for
  // the reserved bit, which a receiver ignores (RFC 9113 §4.1).
  std::string again;
  h2::write_frame(again, f.header.type, f.header.flags, f.header.stream_id, f.payload);
  std::string original(in.substr(0, size));
  original[5] = static_cast<char>(original[5] & 0x7f);
  check(again == original);
  h2::describe(f);
}

void parse_all(std::string_view in) {
  h2::ParseResult p = h2::check_preface(in);
  const std::string_view preface = h2::kConnectionPreface;
  if (p.status == h2::Status::done) {
    check(p.consumed == preface.size() && in.substr(0, preface.size()) == preface);
    in.remove_prefix(p.consumed);
  } else if (p.status == h2::Status::need_more) {
    check(in.size() < preface.size() && preface.substr(0, in.size()) == in);
  } else {
    check(p.code == h2::ErrorCode::protocol_error && p.consumed == 0);
  }
  for (int i = 0; i < 256; ++i) {
    h2::Frame f;
    h2::ParseResult r = h2::parse_frame(in, h2::kDefaultMaxFrameSize, f);
    check(r.consumed <= in.size());
    if (r.status == h2::Status::need_more) {
      check(r.consumed == 0);
      check(in.size() < h2::kFrameHeaderSize ||
            in.size() < h2::kFrameHeaderSize + f.header.length);
      return;
    }
    if (r.status == h2::Status::error) {
      check_error(r, in.size(), f);
      if (r.scope == h2::ErrorScope::connection) return;
    } else {
      check_done(in, r, f);
    }
    // The same bytes always give the same answer (no state between calls).
    h2::Frame again;
    h2::ParseResult r2 = h2::parse_frame(in, h2::kDefaultMaxFrameSize, again);
    check(r2.status == r.status && r2.consumed == r.consumed && r2.code == r.code);
    in.remove_prefix(r.consumed);
  }
}

// The client side of one in-memory connection: what the server sent, checked.
struct Peer {
  std::string out;  // server bytes not yet parsed
  std::string block;  // a field block being assembled from HEADERS + CONTINUATION
  uint32_t block_stream = 0;
  hpack::Decoder decoder;
  std::set<uint32_t> streaming;  // streams answered with a response that goes on
  bool close_asked = false;

  // Every whole frame the server sent must parse; field blocks must decode.
  void read() {
    for (;;) {
      h2::Frame f;
      h2::ParseResult r = h2::parse_frame(out, h2::kLargestMaxFrameSize, f);
      if (r.status == h2::Status::need_more) return;
      check(r.status == h2::Status::done);
      const h2::FrameType t = f.header.type;
      if (block_stream)
        check(t == h2::FrameType::continuation && f.header.stream_id == block_stream);
      if (t == h2::FrameType::headers || t == h2::FrameType::push_promise ||
          t == h2::FrameType::continuation) {
        block += f.field_block_fragment;
        block_stream = f.header.stream_id;
        if (f.has(h2::flag::end_headers)) {
          hpack::HeaderList fields;
          check(decoder.decode(block, fields).empty());
          block.clear();
          block_stream = 0;
        }
      }
      out.erase(0, r.consumed);
    }
  }
};

void answer(h2::Connection& c, Peer& peer, const h2::Request& req) {
  const std::string path = req.path.substr(0, req.path.find('?'));
  if (path == "/messages" && req.method == "GET") {
    c.start_response(req.stream_id, 200, {{"content-type", "application/x-ndjson"}});
    c.send_data(req.stream_id, "{\"id\":1,\"user\":\"a\",\"text\":\"b\",\"time\":1}\n",
                false);
    if (c.stream_open(req.stream_id)) peer.streaming.insert(req.stream_id);
  } else if (path == "/messages") {
    c.respond(req.stream_id, 201, {{"content-type", "application/json"}}, req.body);
  } else if (path == "/" && c.push_enabled()) {
    c.push(req, "/style.css", 200, {{"content-type", "text/css"}}, "body{}");
    c.respond(req.stream_id, 200, {{"content-type", "text/html"}},
              std::string(20000, 'x'));
  } else {
    c.respond(req.stream_id, 404, {{"content-type", "text/plain"}}, "not found\n");
  }
}

void connection(std::string_view in) {
  if (in.empty()) return;
  const size_t piece = static_cast<uint8_t>(in[0]) % 64 + 1;
  const bool graceful = static_cast<uint8_t>(in[0]) & 0x80;
  in.remove_prefix(1);
  Peer peer;
  h2::Connection* self = nullptr;
  h2::Callbacks cb;
  cb.send = [&peer](std::string_view b) { peer.out += b; };
  cb.request = [&](const h2::Request& r) { answer(*self, peer, r); };
  cb.stream_gone = [&peer](uint32_t id) { peer.streaming.erase(id); };
  cb.close = [&peer] { peer.close_asked = true; };
  h2::Limits limits;
  limits.max_concurrent_streams = 8;
  h2::Connection c(1, limits, cb);
  self = &c;
  c.start();
  // Captured client bytes start with the preface already; other inputs get one.
  std::string pending;
  if (h2::check_preface(in).status != h2::Status::done) {
    pending = h2::kConnectionPreface;
    h2::write_settings(pending, {});
  }
  pending.append(in.substr(0, piece));
  in.remove_prefix(std::min(piece, in.size()));
  for (;;) {
    const size_t used = c.on_input(pending);
    check(used <= pending.size());
    pending.erase(0, used);
    // A new message for every open chat stream, as broadcast() does.
    const std::set<uint32_t> streams = peer.streaming;
    for (uint32_t id : streams)
      if (peer.streaming.count(id)) c.send_data(id, "{\"id\":2}\n", false);
    peer.read();
    if (in.empty()) break;
    pending.append(in.substr(0, piece));
    in.remove_prefix(std::min(piece, in.size()));
  }
  // A partial frame may be left over; never more than one frame's worth.
  check(pending.size() < h2::kFrameHeaderSize + h2::kDefaultMaxFrameSize);
  if (graceful) {
    // shutdown() ends every response itself (END_STREAM), so, as server.cpp
    // does, the application forgets its chat streams; no stream_gone follows.
    c.shutdown();
    peer.read();
    peer.streaming.clear();
  }
  c.closed();
  check(peer.streaming.empty());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The connection logs every broken rule to stderr and traces every frame to
  // stdout; thousands of lines a second would drown libFuzzer's report. libFuzzer
  // and the sanitizers keep the stderr they started with; only the lesson's log
  // lines go to /dev/null. Tracing stays on: describe() and the trace decoder
  // are code a peer's bytes reach too.
  stderr = std::fopen("/dev/null", "w");
  stdout = std::fopen("/dev/null", "w");
  logs::enable_trace();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  parse_all(in.substr(1));
  connection(in);
  return 0;
}
