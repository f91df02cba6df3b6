#include "frame.h"

#include <cassert>
#include <cstdio>

namespace h2 {

// The three name lists follow the wire values, which have no gaps.
template <size_t N>
static const char* lookup(const char* const (&names)[N], size_t i) {
  return i < N && names[i] ? names[i] : "UNKNOWN";
}

const char* frame_type_name(FrameType type) {
  static const char* const names[] = {
      "DATA",         "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
      "PUSH_PROMISE", "PING",    "GOAWAY",   "WINDOW_UPDATE", "CONTINUATION"};
  return lookup(names, static_cast<size_t>(type));
}

const char* error_name(ErrorCode code) {
  static const char* const names[] = {"NO_ERROR",
                                      "PROTOCOL_ERROR",
                                      "INTERNAL_ERROR",
                                      "FLOW_CONTROL_ERROR",
                                      "SETTINGS_TIMEOUT",
                                      "STREAM_CLOSED",
                                      "FRAME_SIZE_ERROR",
                                      "REFUSED_STREAM",
                                      "CANCEL",
                                      "COMPRESSION_ERROR",
                                      "CONNECT_ERROR",
                                      "ENHANCE_YOUR_CALM",
                                      "INADEQUATE_SECURITY",
                                      "HTTP_1_1_REQUIRED"};
  return lookup(names, static_cast<size_t>(code));
}

const char* setting_name(SettingId id) {
  static const char* const names[] = {nullptr,
                                      "SETTINGS_HEADER_TABLE_SIZE",
                                      "SETTINGS_ENABLE_PUSH",
                                      "SETTINGS_MAX_CONCURRENT_STREAMS",
                                      "SETTINGS_INITIAL_WINDOW_SIZE",
                                      "SETTINGS_MAX_FRAME_SIZE",
                                      "SETTINGS_MAX_HEADER_LIST_SIZE"};
  return lookup(names, static_cast<size_t>(id));
}

// All numbers on the wire are big-endian (RFC 9113 §2.2).
static uint32_t read_be(std::string_view s, size_t at, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; ++i)
    v = v << 8 | static_cast<uint8_t>(s[at + i]);
  return v;
}

static void put_be(std::string& out, uint32_t v, size_t bytes) {
  for (size_t i = bytes; i-- > 0;)
    out += static_cast<char>(v >> (8 * i) & 0xff);
}

// Stream ids, Promised Stream ID, Last-Stream-ID and Window Size Increment are 31
// bits behind a reserved bit, which a receiver ignores (§4.1).
constexpr uint32_t k31Bits = 0x7fffffff;

static ParseResult fail(ErrorCode code, std::string rule) {
  ParseResult r;
  r.status = Status::error;
  r.code = code;
  r.reason = "RFC 9113 " + std::move(rule);
  return r;
}

static ParseResult fail_stream(ErrorCode code, uint32_t stream_id, std::string rule) {
  ParseResult r = fail(code, std::move(rule));
  r.scope = ErrorScope::stream;
  r.stream_id = stream_id;
  return r;
}

static ParseResult ok(size_t consumed = 0) {
  ParseResult r;
  r.status = Status::done;
  r.consumed = consumed;
  return r;
}

ParseResult check_preface(std::string_view in) {
  const std::string_view p = kConnectionPreface;
  for (size_t i = 0; i < in.size() && i < p.size(); ++i)
    // RFC 9113 §3.4: an invalid connection preface is a connection error
    // (PROTOCOL_ERROR); a GOAWAY MAY be omitted, the peer is not speaking HTTP/2.
    if (in[i] != p[i])
      return fail(ErrorCode::protocol_error, "§3.4: byte " + std::to_string(i) +
                                                 " differs from the connection preface");
  if (in.size() < p.size()) return ParseResult{};
  return ok(p.size());
}

// Rules that the 9-byte header decides on its own.
static ParseResult check_header(const FrameHeader& h) {
  const std::string len = std::to_string(h.length);
  const bool zero = h.stream_id == 0;
  const ErrorCode protocol = ErrorCode::protocol_error,
                  size = ErrorCode::frame_size_error;
  switch (h.type) {
    case FrameType::data:
      // RFC 9113 §6.1: DATA frames MUST be associated with a stream.
      if (zero) return fail(protocol, "§6.1: DATA frame on stream 0");
      break;
    case FrameType::headers:
      // RFC 9113 §6.2: HEADERS frames MUST be associated with a stream.
      if (zero) return fail(protocol, "§6.2: HEADERS frame on stream 0");
      break;
    case FrameType::priority:
      // RFC 9113 §6.3: a PRIORITY frame on stream 0 is a connection error.
      if (zero) return fail(protocol, "§6.3: PRIORITY frame on stream 0");
      // RFC 9113 §6.3: a length other than 5 is a *stream* error.
      if (h.length != 5)
        return fail_stream(size, h.stream_id, "§6.3: PRIORITY length " + len + ", not 5");
      break;
    case FrameType::rst_stream:
      // RFC 9113 §6.4: RST_STREAM frames MUST be associated with a stream.
      if (zero) return fail(protocol, "§6.4: RST_STREAM frame on stream 0");
      // RFC 9113 §6.4: a length other than 4 is a connection error.
      if (h.length != 4) return fail(size, "§6.4: RST_STREAM length " + len + ", not 4");
      break;
    case FrameType::settings:
      // RFC 9113 §6.5: the stream identifier for a SETTINGS frame MUST be zero.
      if (!zero) return fail(protocol, "§6.5: SETTINGS frame on a stream");
      // RFC 9113 §6.5: with the ACK flag set the payload MUST be empty.
      if ((h.flags & flag::ack) && h.length != 0)
        return fail(size, "§6.5: SETTINGS with ACK has length " + len + ", not 0");
      // RFC 9113 §6.5: the length MUST be a multiple of 6 (one setting is 6 bytes).
      if (h.length % 6 != 0)
        return fail(size, "§6.5: SETTINGS length " + len + " is not a multiple of 6");
      break;
    case FrameType::push_promise:
      // RFC 9113 §6.6: PUSH_PROMISE on stream 0 is a connection error.
      if (zero) return fail(protocol, "§6.6: PUSH_PROMISE frame on stream 0");
      break;
    case FrameType::ping:
      // RFC 9113 §6.7: PING frames are not associated with any individual stream.
      if (!zero) return fail(protocol, "§6.7: PING frame on a stream");
      // RFC 9113 §6.7: a length other than 8 is a connection error.
      if (h.length != 8) return fail(size, "§6.7: PING length " + len + ", not 8");
      break;
    case FrameType::goaway:
      // RFC 9113 §6.8: GOAWAY applies to the connection, not a specific stream.
      if (!zero) return fail(protocol, "§6.8: GOAWAY frame on a stream");
      // RFC 9113 §4.2: too small for Last-Stream-ID and Error Code (§6.8).
      if (h.length < 8) return fail(size, "§4.2: GOAWAY length " + len + ", below 8");
      break;
    case FrameType::window_update:
      // RFC 9113 §6.9: a length other than 4 is a connection error, on any stream.
      if (h.length != 4)
        return fail(size, "§6.9: WINDOW_UPDATE length " + len + ", not 4");
      break;
    case FrameType::continuation:
      // RFC 9113 §6.10: CONTINUATION frames MUST be associated with a stream.
      if (zero) return fail(protocol, "§6.10: CONTINUATION frame on stream 0");
      break;
    default:
      // RFC 9113 §4.1: an unknown type is not an error; the caller discards it.
      break;
  }
  return ok();
}

// DATA, HEADERS, PUSH_PROMISE: takes Pad Length off the front of p and the padding
// off its end, then checks that `fixed` bytes of other fields are left.
static ParseResult unpad(Frame& f, std::string_view& p, size_t fixed, const char* rule) {
  const std::string name = frame_type_name(f.header.type);
  if (f.has(flag::padded)) {
    // RFC 9113 §4.2: a frame too small to contain mandatory data (here Pad Length).
    if (p.empty())
      return fail(ErrorCode::frame_size_error, "§4.2: PADDED " + name + " is empty");
    f.pad_length = static_cast<uint8_t>(p[0]);
    // RFC 9113 §6.1, §6.2, §6.6: padding as long as the payload or longer is a
    // connection error of type PROTOCOL_ERROR.
    if (f.pad_length >= f.header.length)
      return fail(ErrorCode::protocol_error,
                  std::string(rule) + ": pad length " + std::to_string(f.pad_length) +
                      " >= " + name + " length " + std::to_string(f.header.length));
    p.remove_prefix(1);
    p.remove_suffix(f.pad_length);
  }
  // RFC 9113 §4.2: too small for the mandatory fields; frames carrying a field
  // block make this a connection error.
  if (p.size() < fixed)
    return fail(ErrorCode::frame_size_error, "§4.2: " + name + " too short for its " +
                                                 std::to_string(fixed) +
                                                 " bytes of fields");
  return ok();
}

// Exclusive (1), Stream Dependency (31), Weight (8): PRIORITY and HEADERS.
static void read_priority(Frame& f, std::string_view p) {
  f.exclusive = (static_cast<uint8_t>(p[0]) & 0x80) != 0;
  f.stream_dependency = read_be(p, 0, 4) & k31Bits;
  f.weight = static_cast<uint8_t>(p[4]);
}

static ParseResult check_setting(const Setting& s) {
  const std::string value = std::to_string(s.value);
  switch (s.id) {
    case SettingId::enable_push:
      // RFC 9113 §6.5.2: any value other than 0 or 1 is a PROTOCOL_ERROR.
      if (s.value > 1)
        return fail(ErrorCode::protocol_error,
                    "§6.5.2: SETTINGS_ENABLE_PUSH is " + value + ", not 0 or 1");
      break;
    case SettingId::initial_window_size:
      // RFC 9113 §6.5.2: values above 2^31-1 are a FLOW_CONTROL_ERROR.
      if (s.value > kMaxWindowSize)
        return fail(ErrorCode::flow_control_error,
                    "§6.5.2: SETTINGS_INITIAL_WINDOW_SIZE " + value + " exceeds 2^31-1");
      break;
    case SettingId::max_frame_size:
      // RFC 9113 §6.5.2: values outside 2^14 .. 2^24-1 are a PROTOCOL_ERROR.
      if (s.value < kDefaultMaxFrameSize || s.value > kLargestMaxFrameSize)
        return fail(ErrorCode::protocol_error, "§6.5.2: SETTINGS_MAX_FRAME_SIZE " +
                                                   value + " is outside 16384..16777215");
      break;
    default:
      // RFC 9113 §6.5.2: unknown identifiers MUST be ignored; kept for --trace.
      break;
  }
  return ok();
}

// Rules that need the payload. check_header has already checked the lengths.
static ParseResult read_payload(Frame& f) {
  std::string_view p = f.payload;
  ParseResult r = ok();
  switch (f.header.type) {
    case FrameType::data:
      r = unpad(f, p, 0, "§6.1");
      f.data = p;
      break;
    case FrameType::headers: {
      // RFC 9113 §6.2: the PRIORITY flag adds 5 bytes of priority fields.
      const size_t fixed = f.has(flag::priority) ? 5 : 0;
      r = unpad(f, p, fixed, "§6.2");
      if (r.status == Status::error) break;
      if (fixed) read_priority(f, p);
      f.field_block_fragment = p.substr(fixed);
      break;
    }
    case FrameType::priority:
      read_priority(f, p);
      // RFC 7540 §5.3.1: a stream cannot depend on itself: a stream error
      // PROTOCOL_ERROR (RFC 9113 §5.3.2 deprecates priority; nghttp2 and Go
      // still enforce this).
      if (f.stream_dependency == f.header.stream_id)
        r = fail_stream(ErrorCode::protocol_error, f.header.stream_id,
                        "§5.3.1: stream " + std::to_string(f.header.stream_id) +
                            " depends on itself (RFC 7540 §5.3.1)");
      break;
    case FrameType::rst_stream:
      f.error_code = static_cast<ErrorCode>(read_be(p, 0, 4));
      break;
    case FrameType::settings:
      // RFC 9113 §6.5.1: Identifier (16), Value (32), repeated.
      for (size_t at = 0; at < p.size() && r.status != Status::error; at += 6) {
        const Setting s{static_cast<SettingId>(read_be(p, at, 2)), read_be(p, at + 2, 4)};
        r = check_setting(s);
        f.settings.push_back(s);
      }
      break;
    case FrameType::push_promise:
      // RFC 9113 §6.6: Reserved (1), Promised Stream ID (31) before the fragment.
      r = unpad(f, p, 4, "§6.6");
      if (r.status == Status::error) break;
      f.promised_stream_id = read_be(p, 0, 4) & k31Bits;
      f.field_block_fragment = p.substr(4);
      break;
    case FrameType::ping:
      f.opaque_data = p;
      break;
    case FrameType::goaway:
      f.last_stream_id = read_be(p, 0, 4) & k31Bits;
      f.error_code = static_cast<ErrorCode>(read_be(p, 4, 4));
      f.debug_data = p.substr(8);
      break;
    case FrameType::window_update:
      f.window_size_increment = read_be(p, 0, 4) & k31Bits;
      // RFC 9113 §6.9: an increment of 0 is a stream error (PROTOCOL_ERROR); on
      // stream 0, the connection window, it is a connection error.
      if (f.window_size_increment == 0 && f.header.stream_id == 0)
        r = fail(ErrorCode::protocol_error, "§6.9: WINDOW_UPDATE of 0 on the connection");
      else if (f.window_size_increment == 0)
        r = fail_stream(ErrorCode::protocol_error, f.header.stream_id,
                        "§6.9: WINDOW_UPDATE of 0 on a stream");
      break;
    case FrameType::continuation:
      f.field_block_fragment = p;
      break;
    default:
      break;
  }
  return r;
}

// RFC 9113 §4.1, Figure 1: Frame Layout
//
//   HTTP Frame {
//     Length (24),
//     Type (8),
//
//     Flags (8),
//
//     Reserved (1),
//     Stream Identifier (31),
//
//     Frame Payload (..),
//   }
//
// bytes 0-2 length, 3 type, 4 flags, 5-8 reserved bit + stream id, then the payload.
ParseResult parse_frame(std::string_view in, uint32_t max_frame_size, Frame& out) {
  out = Frame{};
  if (in.size() < kFrameHeaderSize) return ParseResult{};
  FrameHeader& h = out.header;
  // EXERCISE frame-header: 24-bit length, type, flags, R + 31-bit stream id, big-endian
  h.length = read_be(in, 0, 3);
  h.type = static_cast<FrameType>(in[3]);
  h.flags = static_cast<uint8_t>(in[4]);
  // RFC 9113 §4.1: the reserved bit MUST be ignored when receiving.
  h.stream_id = read_be(in, 5, 4) & k31Bits;
  // END EXERCISE frame-header

  // RFC 9113 §4.2: a frame over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR. We
  // make it a connection error (§5.4.1 allows that) so we never buffer it to skip it.
  if (h.length > max_frame_size)
    return fail(ErrorCode::frame_size_error,
                "§4.2: frame length " + std::to_string(h.length) +
                    " exceeds SETTINGS_MAX_FRAME_SIZE " + std::to_string(max_frame_size));
  ParseResult r = check_header(h);
  if (r.status == Status::error && r.scope == ErrorScope::connection) return r;

  const size_t size = kFrameHeaderSize + h.length;
  if (in.size() < size) return ParseResult{};
  // A stream error is reported once the whole frame is here, so it can be skipped.
  if (r.status != Status::error) {
    out.payload = in.substr(kFrameHeaderSize, h.length);
    r = read_payload(out);
  }
  if (r.status != Status::error || r.scope == ErrorScope::stream) r.consumed = size;
  return r;
}

static void write_header(std::string& out, size_t length, FrameType type, uint8_t flags,
                         uint32_t stream_id) {
  assert(length <= kLargestMaxFrameSize);
  put_be(out, static_cast<uint32_t>(length), 3);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  // RFC 9113 §4.1: the reserved bit MUST remain unset when sending.
  put_be(out, stream_id & k31Bits, 4);
}

void write_frame(std::string& out, FrameType type, uint8_t flags, uint32_t stream_id,
                 std::string_view payload) {
  write_header(out, payload.size(), type, flags, stream_id);
  out += payload;
}

void write_data(std::string& out, uint32_t stream_id, std::string_view data,
                bool end_stream) {
  write_frame(out, FrameType::data, end_stream ? flag::end_stream : 0, stream_id, data);
}

void write_data_header(std::string& out, uint32_t stream_id, size_t length,
                       bool end_stream) {
  write_header(out, length, FrameType::data, end_stream ? flag::end_stream : 0,
               stream_id);
}

void write_headers(std::string& out, uint32_t stream_id, std::string_view fragment,
                   bool end_stream, bool end_headers) {
  const uint8_t flags =
      (end_stream ? flag::end_stream : 0) | (end_headers ? flag::end_headers : 0);
  write_frame(out, FrameType::headers, flags, stream_id, fragment);
}

void write_push_promise(std::string& out, uint32_t stream_id, uint32_t promised_stream_id,
                        std::string_view fragment, bool end_headers) {
  write_header(out, 4 + fragment.size(), FrameType::push_promise,
               end_headers ? flag::end_headers : 0, stream_id);
  put_be(out, promised_stream_id & k31Bits, 4);
  out += fragment;
}

void write_continuation(std::string& out, uint32_t stream_id, std::string_view fragment,
                        bool end_headers) {
  write_frame(out, FrameType::continuation, end_headers ? flag::end_headers : 0,
              stream_id, fragment);
}

// RFC 9113 §4.3: the rest of a field block, in CONTINUATION frames sent right after
// the first frame, with END_HEADERS on the last.
static void write_continuations(std::string& out, uint32_t stream_id,
                                std::string_view rest, uint32_t max_frame_size) {
  while (!rest.empty()) {
    const std::string_view piece = rest.substr(0, max_frame_size);
    rest.remove_prefix(piece.size());
    write_continuation(out, stream_id, piece, rest.empty());
  }
}

void write_headers_block(std::string& out, uint32_t stream_id,
                         std::string_view field_block, bool end_stream,
                         uint32_t max_frame_size) {
  const std::string_view first = field_block.substr(0, max_frame_size);
  // RFC 9113 §6.2: END_STREAM rides on HEADERS even when CONTINUATION follows.
  write_headers(out, stream_id, first, end_stream, first.size() == field_block.size());
  write_continuations(out, stream_id, field_block.substr(first.size()), max_frame_size);
}

void write_push_promise_block(std::string& out, uint32_t stream_id,
                              uint32_t promised_stream_id, std::string_view field_block,
                              uint32_t max_frame_size) {
  assert(max_frame_size > 4);
  const std::string_view first = field_block.substr(0, max_frame_size - 4);
  write_push_promise(out, stream_id, promised_stream_id, first,
                     first.size() == field_block.size());
  write_continuations(out, stream_id, field_block.substr(first.size()), max_frame_size);
}

void write_rst_stream(std::string& out, uint32_t stream_id, ErrorCode code) {
  write_header(out, 4, FrameType::rst_stream, 0, stream_id);
  put_be(out, static_cast<uint32_t>(code), 4);
}

void write_settings(std::string& out, const std::vector<Setting>& settings) {
  write_header(out, 6 * settings.size(), FrameType::settings, 0, 0);
  for (const Setting& s : settings) {
    put_be(out, static_cast<uint16_t>(s.id), 2);
    put_be(out, s.value, 4);
  }
}

void write_settings_ack(std::string& out) {
  write_header(out, 0, FrameType::settings, flag::ack, 0);
}

void write_ping(std::string& out, std::string_view opaque_data, bool ack) {
  assert(opaque_data.size() == 8);
  write_frame(out, FrameType::ping, ack ? flag::ack : 0, 0, opaque_data);
}

void write_goaway(std::string& out, uint32_t last_stream_id, ErrorCode code,
                  std::string_view debug_data) {
  write_header(out, 8 + debug_data.size(), FrameType::goaway, 0, 0);
  put_be(out, last_stream_id & k31Bits, 4);
  put_be(out, static_cast<uint32_t>(code), 4);
  out += debug_data;
}

void write_window_update(std::string& out, uint32_t stream_id, uint32_t increment) {
  write_header(out, 4, FrameType::window_update, 0, stream_id);
  put_be(out, increment & k31Bits, 4);
}

static std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(v));
  return buf;
}

// The flags this type defines by name (§6), any other bit in hex.
static std::string flag_names(FrameType type, uint8_t flags) {
  std::string names;
  auto name = [&](uint8_t bit, const char* text) {
    if (!(flags & bit)) return;
    names += names.empty() ? text : std::string("|") + text;
    flags = static_cast<uint8_t>(flags & ~bit);
  };
  if (type == FrameType::settings || type == FrameType::ping) name(flag::ack, "ACK");
  if (type == FrameType::data || type == FrameType::headers)
    name(flag::end_stream, "END_STREAM");
  if (type == FrameType::headers || type == FrameType::push_promise ||
      type == FrameType::continuation)
    name(flag::end_headers, "END_HEADERS");
  if (type == FrameType::data || type == FrameType::headers ||
      type == FrameType::push_promise)
    name(flag::padded, "PADDED");
  if (type == FrameType::headers) name(flag::priority, "PRIORITY");
  if (flags) name(flags, hex(flags).c_str());
  return names;
}

// Debug data is free-form bytes: printable ASCII kept, the rest as \xNN.
static std::string quoted(std::string_view bytes) {
  std::string s = "\"";
  for (char c : bytes) {
    const uint8_t b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && c != '"' && c != '\\') {
      s += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      s += buf;
    }
  }
  return s + "\"";
}

// A spec name, or UNKNOWN(0x..) with the value.
static std::string named(const char* name, uint32_t value) {
  const std::string s = name;
  return s == "UNKNOWN" ? s + "(" + hex(value) + ")" : s;
}

static std::string code_name(ErrorCode code) {
  return named(error_name(code), static_cast<uint32_t>(code));
}

std::string describe(const Frame& f) {
  const FrameHeader& h = f.header;
  std::string s = named(frame_type_name(h.type), static_cast<uint8_t>(h.type));
  s += " stream=" + std::to_string(h.stream_id) + " len=" + std::to_string(h.length);
  if (h.flags) s += " flags=" + flag_names(h.type, h.flags);
  switch (h.type) {
    case FrameType::headers:
    case FrameType::priority:
      if (h.type == FrameType::priority || f.has(flag::priority))
        s += " depends_on=" + std::to_string(f.stream_dependency) +
             (f.exclusive ? " exclusive" : "") + " weight=" + std::to_string(f.weight);
      break;
    case FrameType::rst_stream:
      s += " code=" + code_name(f.error_code);
      break;
    case FrameType::settings:
      for (const Setting& x : f.settings)
        s += " " + named(setting_name(x.id), static_cast<uint16_t>(x.id)) + "=" +
             std::to_string(x.value);
      break;
    case FrameType::push_promise:
      s += " promised_stream=" + std::to_string(f.promised_stream_id);
      break;
    case FrameType::ping:
      s += " opaque=";
      for (char c : f.opaque_data) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", static_cast<uint8_t>(c));
        s += buf;
      }
      break;
    case FrameType::goaway:
      s += " last_stream=" + std::to_string(f.last_stream_id) +
           " code=" + code_name(f.error_code);
      if (!f.debug_data.empty()) s += " debug=" + quoted(f.debug_data);
      break;
    case FrameType::window_update:
      s += " increment=" + std::to_string(f.window_size_increment);
      break;
    default:
      break;
  }
  return s;
}

}  // namespace h2
