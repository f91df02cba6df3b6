#include "websocket.h"

#include <openssl/evp.h>

#include <algorithm>

namespace ws {

// The handshake's arithmetic
// --------------------------
// RFC 6455 §1.3, worked by hand in README.md:
//   key     dGhlIHNhbXBsZSBub25jZQ==
//   SHA-1   of key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11
//   base64  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
// The GUID proves the server read the handshake as a WebSocket one: no other kind
// of server would ever compute this answer by accident.

std::string accept_key(std::string_view key) {
  // EXERCISE accept-key: base64(SHA-1(key + kGuid)) (RFC 6455 §4.2.2)
  std::string input(key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_length, EVP_sha1(), nullptr);
  // Base64 makes 4 characters of every 3 bytes: 20 bytes → 28 characters.
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(digest_length));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  // END EXERCISE accept-key
}

static bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

bool key_is_valid(std::string_view key) {
  // 16 bytes are 128 bits: 21 characters of 6 bits, one of 2 bits, then "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22))
    if (!is_base64_char(c)) return false;
  // The last character carries only 2 bits; its 4 low bits must be 0 (A, Q, g, w).
  return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

// Names for --trace and the log
// -----------------------------

const char* opcode_name(uint8_t opcode) {
  // RFC 6455 §11.8: the registered opcodes; 0x3-0x7 and 0xB-0xF are reserved.
  static const char* const names[16] = {
      "continuation", "text",     "binary",   "reserved", "reserved", "reserved",
      "reserved",     "reserved", "close",    "ping",     "pong",     "reserved",
      "reserved",     "reserved", "reserved", "reserved"};
  return names[opcode & 0xF];
}

bool close_code_is_valid(uint16_t code) {
  // RFC 6455 §7.4.1: 1000-1003 and 1007-1011 are defined; 1004 is reserved; 1005,
  // 1006 and 1015 MUST NOT be sent in a close frame. §7.4.2: 1000-2999 are for this
  // RFC and later standards, by IANA registration: 1012 (service restart), 1013
  // (try again later) and 1014 (bad gateway) are registered, so they are valid,
  // as the ws library also takes them; 3000-4999 are for libraries and
  // applications.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

const char* close_code_name(uint16_t code) {
  // RFC 6455 §7.4.1's names; 1012-1014 as IANA's WebSocket Close Code Number
  // Registry (§11.7) has them.
  static const struct {
    uint16_t code;
    const char* name;
  } names[] = {{1000, "normal closure"},
               {1001, "going away"},
               {1002, "protocol error"},
               {1003, "unsupported data"},
               {1005, "no status received"},
               {1006, "abnormal closure"},
               {1007, "invalid frame payload data"},
               {1008, "policy violation"},
               {1009, "message too big"},
               {1010, "mandatory extension"},
               {1011, "internal error"},
               {1012, "service restart"},
               {1013, "try again later"},
               {1014, "bad gateway"}};
  for (const auto& n : names)
    if (n.code == code) return n.name;
  return code >= 3000 && code <= 4999 ? "application" : "invalid";
}

// The frame header
// ----------------
// RFC 6455 §5.2:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-------+-+-------------+-------------------------------+
// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
// | |1|2|3|       |K|             |                               |
// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
// |     Extended payload length continued, if payload len == 127  |
// + - - - - - - - - - - - - - - - +-------------------------------+
// |                               |Masking-key, if MASK set to 1  |
// +-------------------------------+-------------------------------+
// | Masking-key (continued)       |          Payload Data         |
// +-------------------------------- - - - - - - - - - - - - - - - +
// :                     Payload Data continued ...                :
// + - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - +
// |                     Payload Data continued ...                |
// +---------------------------------------------------------------+

Status parse_header(std::string_view in, FrameHeader& h, std::string& reason) {
  if (in.size() < 2) return Status::need_more;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  h.fin = byte(0) & 0x80;
  h.rsv1 = byte(0) & 0x40;
  h.rsv2 = byte(0) & 0x20;
  h.rsv3 = byte(0) & 0x10;
  h.opcode = byte(0) & 0x0F;
  h.mask = byte(1) & 0x80;
  uint8_t length7 = byte(1) & 0x7F;
  // EXERCISE frame-length: 126: 2 more bytes, 127: 8 more, big-endian (RFC 6455 §5.2)
  // Payload len 0-125 is the length; 126: a 16-bit length follows; 127: 64 bits.
  size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  size_t need = 2 + extended + (h.mask ? 4 : 0);
  if (in.size() < need) return Status::need_more;
  uint64_t length = length7;
  if (extended) {
    length = 0;
    for (size_t i = 0; i < extended; ++i)
      length = (length << 8) | byte(2 + i);
  }
  // END EXERCISE frame-length
  // RFC 6455 §5.2: the 64-bit length's most significant bit MUST be 0.
  if (length7 == 127 && (length >> 63)) {
    reason = "RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0";
    return Status::error;
  }
  // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
  if ((length7 == 126 && length < 126) || (length7 == 127 && length <= 0xFFFF)) {
    reason = "RFC 6455 §5.2: a payload length MUST be written in its shortest form";
    return Status::error;
  }
  h.payload_length = length;
  if (h.mask)
    for (size_t i = 0; i < 4; ++i)
      h.masking_key[i] = byte(2 + extended + i);
  h.header_length = need;
  for (size_t i = 0; i < need; ++i)
    h.bytes[i] = byte(i);
  return Status::done;
}

void write_frame(std::string& out, bool fin, Opcode opcode, std::string_view payload,
                 const uint8_t* masking_key) {
  out += static_cast<char>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode));
  uint8_t mask_bit = masking_key ? 0x80 : 0x00;
  uint64_t n = payload.size();
  // RFC 6455 §5.2: the shortest of the three length forms.
  if (n <= 125) {
    out += static_cast<char>(mask_bit | n);
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    for (int shift = 8; shift >= 0; shift -= 8)
      out += static_cast<char>(n >> shift);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>(n >> shift);
  }
  if (!masking_key) {
    out += payload;
    return;
  }
  // RFC 6455 §5.3: octet i of the payload is XORed with octet i MOD 4 of the key.
  out.append(reinterpret_cast<const char*>(masking_key), 4);
  size_t at = out.size();
  out += payload;
  for (size_t i = 0; i < payload.size(); ++i)
    out[at + i] ^= masking_key[i % 4];
}

std::string close_payload(uint16_t code, std::string_view reason) {
  // RFC 6455 §7.1.5: no code in the frame is reported as 1005; send it as nothing.
  if (code == close_code::no_status) return "";
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xFF);
  out += reason;
  return out;
}

// The message reader
// ------------------

static Event need_more(size_t consumed) {
  Event e;
  e.consumed = consumed;
  return e;
}

Event MessageReader::fail(uint16_t code, std::string reason, size_t consumed) {
  done_ = true;
  Event e;
  e.kind = Event::Kind::error;
  e.code = code;
  e.reason = std::move(reason);
  e.consumed = consumed;
  return e;
}

Event MessageReader::read(std::string_view in) {
  // Nothing is read after a close frame or a broken rule (RFC 6455 §5.5.1, §7.1.7).
  if (done_) return need_more(in.size());
  // The message handed out last time is done with: forget it (and, if it was big,
  // give its memory back; an idle socket should hold next to nothing).
  if (!in_message_ && !message_.empty()) {
    if (message_.capacity() > 64 * 1024) std::string().swap(message_);
    message_.clear();
  }
  size_t used = 0;
  for (;;) {
    if (!in_frame_) {
      std::string reason;
      Status s = parse_header(in.substr(used), header_, reason);
      if (s == Status::need_more) return need_more(used);
      if (s == Status::error) return fail(close_code::protocol_error, reason, used);
      used += header_.header_length;
      if (Event e = check_header(used); e.kind == Event::Kind::error) return e;
    }
    // The payload, as much of it as has arrived.
    bool control = is_control(header_.opcode);
    std::string& target = control ? control_ : message_;
    size_t take =
        static_cast<size_t>(std::min<uint64_t>(payload_left_, in.size() - used));
    size_t at = target.size();
    target.append(in.substr(used, take));
    // EXERCISE unmask: XOR byte i with masking_key[i % 4] (RFC 6455 §5.3)
    if (header_.mask) {
      // RFC 6455 §5.3: j = i MOD 4, counting from the frame's first payload byte.
      for (size_t i = 0; i < take; ++i)
        target[at + i] ^= header_.masking_key[(mask_offset_ + i) % 4];
    }
    // END EXERCISE unmask
    mask_offset_ += take;
    payload_left_ -= take;
    used += take;
    // EXERCISE utf8-fragments: validate as bytes come, even mid-character (RFC 6455 §8.1)
    // RFC 6455 §8.1: a text message is UTF-8; it fails at the first byte that
    // cannot be, even in the middle of a fragment (Autobahn case 6.4).
    if (!control && !message_binary_ && !utf8_.feed(std::string_view(target).substr(at)))
      return fail(close_code::invalid_data,
                  "RFC 6455 §8.1: a text message's payload MUST be valid UTF-8", used);
    // END EXERCISE utf8-fragments
    if (payload_left_ > 0) return need_more(used);
    in_frame_ = false;
    if (Event e = frame_done(used); e.kind != Event::Kind::need_more) return e;
    // A fragment that is not the last: on to the next frame.
  }
}

// The rules a frame header must follow, checked before any payload is read.
Event MessageReader::check_header(size_t used) {
  const FrameHeader& h = header_;
  // RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them; we
  // negotiate none (no permessage-deflate).
  if (h.rsv1 || h.rsv2 || h.rsv3)
    return fail(close_code::protocol_error,
                "RFC 6455 §5.2: RSV bits MUST be 0 when no extension is negotiated",
                used);
  // RFC 6455 §5.2: reserved opcodes (0x3-0x7, 0xB-0xF) fail the connection.
  if ((h.opcode >= 0x3 && h.opcode <= 0x7) || h.opcode >= 0xB)
    return fail(close_code::protocol_error,
                "RFC 6455 §5.2: opcode " + std::to_string(h.opcode) + " is reserved",
                used);
  // RFC 6455 §5.1: a client MUST mask every frame; a server MUST NOT mask.
  if (h.mask != expect_masked)
    return fail(close_code::protocol_error,
                expect_masked ? "RFC 6455 §5.1: a client MUST mask every frame"
                              : "RFC 6455 §5.1: a server MUST NOT mask any frame",
                used);
  if (is_control(h.opcode)) {
    // RFC 6455 §5.5: control frames MUST NOT be fragmented.
    if (!h.fin)
      return fail(close_code::protocol_error,
                  "RFC 6455 §5.5: control frames MUST NOT be fragmented", used);
    // RFC 6455 §5.5: control frames MUST have a payload length of 125 bytes or less.
    if (h.payload_length > 125)
      return fail(close_code::protocol_error,
                  "RFC 6455 §5.5: a control frame's payload MUST be 125 bytes or less",
                  used);
    control_.clear();
  } else if (h.opcode == static_cast<uint8_t>(Opcode::continuation)) {
    // RFC 6455 §5.4: a continuation frame continues a fragmented message.
    if (!in_message_)
      return fail(close_code::protocol_error,
                  "RFC 6455 §5.4: a continuation frame with no message to continue",
                  used);
  } else {
    // RFC 6455 §5.4: fragments of one message are not interleaved with another.
    if (in_message_)
      return fail(close_code::protocol_error,
                  "RFC 6455 §5.4: a new message began before the fragmented one ended",
                  used);
    in_message_ = true;
    message_binary_ = h.opcode == static_cast<uint8_t>(Opcode::binary);
    utf8_.reset();
  }
  // RFC 6455 §7.4.1: 1009 for a message too big to process; refused before
  // any of it is buffered.
  if (!is_control(h.opcode) && h.payload_length > max_message_ - message_.size())
    return fail(close_code::too_big,
                "RFC 6455 §7.4.1: message over the limit of " +
                    std::to_string(max_message_) + " bytes",
                used);
  if (!is_control(h.opcode)) frame_start_ = message_.size();
  in_frame_ = true;
  payload_left_ = h.payload_length;
  mask_offset_ = 0;
  return need_more(used);
}

// A frame's payload is complete: a control frame is handed out at once; a data
// frame either ends its message or waits for the next fragment.
Event MessageReader::frame_done(size_t used) {
  const FrameHeader& h = header_;
  bool control = is_control(h.opcode);
  if (on_frame)
    on_frame(h, control ? std::string_view(control_)
                        : std::string_view(message_).substr(frame_start_));
  Event e;
  e.consumed = used;
  if (h.opcode == static_cast<uint8_t>(Opcode::close)) {
    // RFC 6455 §5.5.1: the body, if any, starts with a 2-byte code.
    if (control_.size() == 1)
      return fail(close_code::protocol_error,
                  "RFC 6455 §5.5.1: a close frame's payload is empty or starts with a "
                  "2-byte code",
                  used);
    e.kind = Event::Kind::close;
    e.code = close_code::no_status;
    if (control_.size() >= 2) {
      e.code = static_cast<uint16_t>((static_cast<uint8_t>(control_[0]) << 8) |
                                     static_cast<uint8_t>(control_[1]));
      // RFC 6455 §7.4: only the codes §7.4.1 defines, and 3000-4999, may be sent.
      if (!close_code_is_valid(e.code))
        return fail(close_code::protocol_error,
                    "RFC 6455 §7.4.1: close code " + std::to_string(e.code) +
                        " is not one an endpoint may send",
                    used);
      e.reason = control_.substr(2);
      // RFC 6455 §5.5.1: the reason is UTF-8; §8.1 makes invalid UTF-8 a 1007.
      if (!utf8::is_valid(e.reason))
        return fail(close_code::invalid_data,
                    "RFC 6455 §5.5.1: a close reason MUST be UTF-8", used);
    }
    done_ = true;  // RFC 6455 §5.5.1: no data frames after a close frame
    return e;
  }
  if (h.opcode == static_cast<uint8_t>(Opcode::ping) ||
      h.opcode == static_cast<uint8_t>(Opcode::pong)) {
    e.kind = h.opcode == static_cast<uint8_t>(Opcode::ping) ? Event::Kind::ping
                                                            : Event::Kind::pong;
    e.payload = control_;
    return e;
  }
  // EXERCISE fragments: FIN=0: wait for continuation frames (RFC 6455 §5.4)
  if (!h.fin) return e;  // need_more: the message goes on in the next frame
  in_message_ = false;
  // END EXERCISE fragments
  // RFC 6455 §8.1: the last fragment must not end inside a UTF-8 sequence.
  if (!message_binary_ && !utf8_.complete())
    return fail(close_code::invalid_data,
                "RFC 6455 §8.1: a text message ends inside a UTF-8 sequence", used);
  e.kind = Event::Kind::message;
  e.binary = message_binary_;
  e.payload = message_;
  return e;
}

}  // namespace ws
