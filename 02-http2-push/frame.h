// HTTP/2 frames (RFC 9113 §4 and §6): a parser over bytes and writers into a string.
// The frame layer only: streams, flow-control windows and HPACK belong to the
// connection built on top, together with every rule that needs them (listed below).
//
// parse_frame(bytes, max_frame_size, frame) looks at the unconsumed input and returns:
//   done      `frame` is filled in and the first `consumed` bytes (9 + length) were
//             this frame. Its string_views point into `bytes`: use them before
//             dropping those bytes. A frame of unknown type is also done, with only
//             header and payload set; the caller discards it (RFC 9113 §5.5).
//   need_more not a whole frame yet; call again with more bytes. A peer can never
//             make us buffer more than 9 + max_frame_size bytes for one frame.
//   error     the frame breaks a rule that needs no connection state; `code` is the
//             §7 error code and `reason` names the rule. `scope` says what to do
//             (§5.4):
//               connection  send GOAWAY with `code` and close; `consumed` is 0.
//                           A rule the 9-byte header breaks is reported without
//                           waiting for the payload.
//               stream      send RST_STREAM(`stream_id`, `code`), drop `consumed`
//                           bytes (the whole frame) and go on with the next frame.
// It keeps no state between calls: a frame split over many reads is looked at again
// from its first byte. `frame` is reset on every call; its header is set whenever
// 9 bytes were there, also on error.
// check_preface(bytes) works the same way for the client connection preface (§3.4):
// need_more while `bytes` is a prefix of it, so a server can fail on the first
// wrong byte (an HTTP/1.1 request fails at byte 0).
//
// A PRIORITY frame whose stream depends on itself is a stream error here (RFC 7540
// §5.3.1); the same in HEADERS is left to the connection, which must decode the
// field block all the same.
// Left to the connection: SETTINGS first after the preface (§3.4); CONTINUATION
// only right after HEADERS/PUSH_PROMISE without END_HEADERS on the same stream
// (§6.10); stream states and ids (§5.1); windows going past 2^31-1 (§6.9.1,
// §6.9.2); a client refusing SETTINGS_ENABLE_PUSH=1 from a server (§6.5.2);
// answering SETTINGS and PING with ACK (§6.5.3, §6.7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace h2 {

// RFC 9113 §3.4: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24 octets.
constexpr std::string_view kConnectionPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kFrameHeaderSize = 9;
// RFC 9113 §4.2 / §6.5.2: SETTINGS_MAX_FRAME_SIZE starts at 2^14, can go to 2^24-1.
constexpr uint32_t kDefaultMaxFrameSize = 16384;
constexpr uint32_t kLargestMaxFrameSize = 16777215;
// RFC 9113 §6.9.1: no flow-control window may exceed 2^31-1.
constexpr uint32_t kMaxWindowSize = 0x7fffffff;
// RFC 9113 §5.1.1: stream ids are 31 bits; a graceful GOAWAY starts with this one.
constexpr uint32_t kMaxStreamId = 0x7fffffff;

// RFC 9113 §6: the values are the Type byte on the wire.
enum class FrameType : uint8_t {
  data = 0,
  headers,
  priority,
  rst_stream,
  settings,
  push_promise,
  ping,
  goaway,
  window_update,
  continuation,
};

// RFC 9113 §6: the flags each frame type defines; the same bit means different
// things for different types (0x1 is END_STREAM on DATA, ACK on PING).
namespace flag {
constexpr uint8_t end_stream = 0x1;
constexpr uint8_t ack = 0x1;
constexpr uint8_t end_headers = 0x4;
constexpr uint8_t padded = 0x8;
constexpr uint8_t priority = 0x20;
}  // namespace flag

// RFC 9113 §7. A peer may send codes not listed here; they mean nothing special.
enum class ErrorCode : uint32_t {
  no_error = 0x0,
  protocol_error = 0x1,
  internal_error = 0x2,
  flow_control_error = 0x3,
  settings_timeout = 0x4,
  stream_closed = 0x5,
  frame_size_error = 0x6,
  refused_stream = 0x7,
  cancel = 0x8,
  compression_error = 0x9,
  connect_error = 0xa,
  enhance_your_calm = 0xb,
  inadequate_security = 0xc,
  http_1_1_required = 0xd,
};

// RFC 9113 §6.5.2. Unknown identifiers are kept in Frame::settings as they came;
// the receiver MUST ignore them.
enum class SettingId : uint16_t {
  header_table_size = 0x1,
  enable_push = 0x2,
  max_concurrent_streams = 0x3,
  initial_window_size = 0x4,
  max_frame_size = 0x5,
  max_header_list_size = 0x6,
};

struct Setting {
  SettingId id;
  uint32_t value;
};

// The spec's spelling: "HEADERS", "PROTOCOL_ERROR", "SETTINGS_MAX_FRAME_SIZE";
// "UNKNOWN" for a value this file does not know.
const char* frame_type_name(FrameType type);
const char* error_name(ErrorCode code);
const char* setting_name(SettingId id);

struct FrameHeader {
  uint32_t length = 0;  // of the payload; the 9 header bytes are not counted
  FrameType type = FrameType::data;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // 31 bits; the reserved bit is already dropped
};

// One frame. Which fields are set depends on header.type; views point into the
// bytes given to parse_frame.
struct Frame {
  FrameHeader header;
  std::string_view payload;  // all `length` bytes, padding included

  // DATA: the data, padding removed.
  std::string_view data;
  // HEADERS, PUSH_PROMISE, CONTINUATION: a piece of the HPACK field block (§4.3).
  std::string_view field_block_fragment;
  // DATA, HEADERS, PUSH_PROMISE with the PADDED flag.
  uint8_t pad_length = 0;
  // PRIORITY, and HEADERS with the PRIORITY flag: deprecated signals (§5.3.2), read
  // so they can be traced. weight is the byte as sent.
  bool exclusive = false;
  uint32_t stream_dependency = 0;
  uint8_t weight = 0;
  // RST_STREAM, GOAWAY.
  ErrorCode error_code = ErrorCode::no_error;
  // SETTINGS, in the order sent; a receiver applies them in that order (§6.5.3).
  std::vector<Setting> settings;
  // PUSH_PROMISE.
  uint32_t promised_stream_id = 0;
  // PING: 8 bytes to echo.
  std::string_view opaque_data;
  // GOAWAY.
  uint32_t last_stream_id = 0;
  std::string_view debug_data;
  // WINDOW_UPDATE.
  uint32_t window_size_increment = 0;

  bool has(uint8_t flag) const { return (header.flags & flag) != 0; }
};

enum class Status { done, need_more, error };
enum class ErrorScope { connection, stream };  // RFC 9113 §5.4.1, §5.4.2

struct ParseResult {
  Status status = Status::need_more;
  size_t consumed = 0;
  ErrorCode code = ErrorCode::no_error;
  ErrorScope scope = ErrorScope::connection;
  uint32_t stream_id = 0;
  std::string reason;
};

ParseResult check_preface(std::string_view in);

// max_frame_size: the SETTINGS_MAX_FRAME_SIZE this endpoint advertised.
ParseResult parse_frame(std::string_view in, uint32_t max_frame_size, Frame& out);

// Writers append one or more whole frames to `out`. The caller keeps each payload
// within the peer's SETTINGS_MAX_FRAME_SIZE and DATA within the flow-control
// windows; the *_block helpers do the splitting for field blocks.
void write_frame(std::string& out, FrameType type, uint8_t flags, uint32_t stream_id,
                 std::string_view payload);
void write_data(std::string& out, uint32_t stream_id, std::string_view data,
                bool end_stream);
// Only the 9-byte header of a DATA frame of `length` octets: its payload follows
// separately, as bytes shared with other responses (a file's, sent by reference).
void write_data_header(std::string& out, uint32_t stream_id, size_t length,
                       bool end_stream);
void write_headers(std::string& out, uint32_t stream_id, std::string_view fragment,
                   bool end_stream, bool end_headers);
void write_push_promise(std::string& out, uint32_t stream_id, uint32_t promised_stream_id,
                        std::string_view fragment, bool end_headers);
void write_continuation(std::string& out, uint32_t stream_id, std::string_view fragment,
                        bool end_headers);
// A whole field block as HEADERS (or PUSH_PROMISE) followed by as many CONTINUATION
// frames as max_frame_size (the peer's) requires; END_HEADERS on the last one.
void write_headers_block(std::string& out, uint32_t stream_id,
                         std::string_view field_block, bool end_stream,
                         uint32_t max_frame_size);
void write_push_promise_block(std::string& out, uint32_t stream_id,
                              uint32_t promised_stream_id, std::string_view field_block,
                              uint32_t max_frame_size);
void write_rst_stream(std::string& out, uint32_t stream_id, ErrorCode code);
void write_settings(std::string& out, const std::vector<Setting>& settings);
void write_settings_ack(std::string& out);
// opaque_data must be 8 bytes; to answer a PING, echo its opaque_data with ack.
void write_ping(std::string& out, std::string_view opaque_data, bool ack);
void write_goaway(std::string& out, uint32_t last_stream_id, ErrorCode code,
                  std::string_view debug_data);
void write_window_update(std::string& out, uint32_t stream_id, uint32_t increment);

// One line for --trace: "HEADERS stream=1 len=38 flags=END_STREAM|END_HEADERS".
std::string describe(const Frame& frame);

}  // namespace h2
