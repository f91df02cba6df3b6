// WebSocket frames (RFC 6455 §5): the handshake's key arithmetic, a frame header
// parser, a MessageReader that turns the bytes a client sends into whole messages
// and control frames, and write_frame(), the encoder.
//
// Nothing here touches a socket: the reader takes bytes and returns what they
// mean, so the unit tests drive it through memory, a byte at a time if they like.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace ws {

// RFC 6455 §4.2.2 item 5.4: Sec-WebSocket-Accept is base64(SHA-1(key + this GUID)).
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
std::string accept_key(std::string_view key);
// RFC 6455 §4.2.1 item 5: the key is base64 of 16 bytes (24 characters, "==" at the end).
bool key_is_valid(std::string_view key);

// RFC 6455 §5.2 and §11.8: the opcodes, with their wire values.
enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};
const char* opcode_name(uint8_t opcode);  // "text", or "reserved" for 3-7 and B-F
// RFC 6455 §5.5: opcodes 0x8-0xF are control frames.
inline bool is_control(uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

// RFC 6455 §7.4.1 close codes used here.
namespace close_code {
constexpr uint16_t normal = 1000;
constexpr uint16_t going_away = 1001;
constexpr uint16_t protocol_error = 1002;
constexpr uint16_t unsupported_data = 1003;
constexpr uint16_t no_status = 1005;  // never sent: "no code in the close frame"
constexpr uint16_t abnormal = 1006;  // never sent: "closed without a close frame"
constexpr uint16_t invalid_data = 1007;
constexpr uint16_t policy_violation = 1008;
constexpr uint16_t too_big = 1009;
constexpr uint16_t internal_error = 1011;
}  // namespace close_code
// RFC 6455 §7.4.1 and §7.4.2: may this code appear in a close frame?
// 1000-1003 and 1007-1011 (§7.4.1), 1012-1014 (registered with IANA, §7.4.2),
// 3000-4999.
bool close_code_is_valid(uint16_t code);
const char* close_code_name(uint16_t code);  // "normal closure", "protocol error"...

// The fixed part of a frame, as §5.2 draws it.
struct FrameHeader {
  bool fin = false;
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  uint8_t opcode = 0;  // a raw value: reserved ones are refused by the reader
  bool mask = false;
  uint64_t payload_length = 0;
  uint8_t masking_key[4] = {0, 0, 0, 0};
  size_t header_length = 0;  // 2 to 14 bytes
  uint8_t bytes[14] = {};  // the header as it was on the wire (for --trace)
};

enum class Status { done, need_more, error };

// parse_header(in, header) reads one frame header from the start of in:
//   done       header filled in; header.header_length bytes were used
//   need_more  fewer bytes than the header needs; call again with more
//   error      the 64-bit length has its top bit set, or a length was not written
//              in its shortest form; `reason` names the rule (close with 1002)
Status parse_header(std::string_view in, FrameHeader& header, std::string& reason);

// Appends one frame to out. A server never masks (§5.1); a client passes a key.
void write_frame(std::string& out, bool fin, Opcode opcode, std::string_view payload,
                 const uint8_t* masking_key = nullptr);
// A close frame's payload: the code in network byte order, then the reason.
std::string close_payload(uint16_t code, std::string_view reason);

// What MessageReader::read() found.
struct Event {
  enum class Kind { need_more, message, ping, pong, close, error };
  Kind kind = Kind::need_more;
  size_t consumed = 0;  // bytes of the input used; the rest is for the next call
  bool binary = false;  // message: binary, or text (already checked to be UTF-8)
  std::string_view payload;  // message, ping, pong: valid until the next read()
  uint16_t code = 0;  // close: the peer's code (1005 if none); error: ours to send
  std::string reason;  // close: the peer's reason; error: the rule broken
};

// Reads what a client sends, frame after frame, and returns one event per call:
// a whole message (fragments joined), a control frame, or the rule broken.
// A frame may arrive a byte at a time or a hundred frames in one read: the header
// waits until it is whole (at most 14 bytes), the payload is taken as it comes, so
// the reader never asks its caller to hold more than one header.
class MessageReader {
 public:
  explicit MessageReader(size_t max_message = 1 << 20) : max_message_(max_message) {}
  Event read(std::string_view in);
  // Called for every frame once its payload is in (and unmasked), for --trace.
  std::function<void(const FrameHeader&, std::string_view payload)> on_frame;
  // Clients mask every frame (§5.1); a test can read server frames with false.
  bool expect_masked = true;

 private:
  Event fail(uint16_t code, std::string reason, size_t consumed);
  Event check_header(size_t consumed);
  Event frame_done(size_t consumed);

  size_t max_message_;
  FrameHeader header_;
  bool in_frame_ = false;  // the header is read; payload_left_ bytes to go
  uint64_t payload_left_ = 0;
  uint64_t mask_offset_ = 0;  // payload bytes unmasked so far in this frame
  bool in_message_ = false;  // a fragmented message has begun and not finished
  bool message_binary_ = false;
  std::string message_;  // the data message so far
  size_t frame_start_ = 0;  // where the current data frame starts in message_
  std::string control_;  // the current control frame's payload (<= 125 bytes)
  utf8::Validator utf8_;
  bool done_ = false;  // a close frame was read, or a rule broken: read no more
};

}  // namespace ws
