// Socket.IO v5 packets (socket.io-protocol-v5.md, "Packet encoding"): the encoder
// and an incremental decoder. Each packet travels as one Engine.IO message; a
// binary packet is a text message followed by one binary message per attachment.
//
//   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//   2["hello","ada"]          EVENT on "/"
//   2/admin,12["hello"]       EVENT on "/admin", asking for ACK 12
//   51-["up",{"_placeholder":true,"num":0}]  + one binary message (BINARY_EVENT)
//
// Decoder::add_text / add_binary return one of:
//   done       `packet` is complete (a binary packet: with all its attachments)
//   need_more  a binary packet is waiting for more attachments
//   error      `error` names the rule broken; the connection is then closed
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace sio {

// Socket.IO v5 "Exchange protocol": the values are the wire digits.
enum class Type : uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

const char* type_name(Type type);  // "CONNECT", "BINARY_EVENT"...
bool is_binary(Type type);

struct Packet {
  Type type = Type::event;
  std::string nsp = "/";
  std::optional<uint64_t> id;  // the ack id
  std::optional<json::Value> data;  // absent: no payload
  std::vector<std::string> attachments;  // binary types only, in `num` order
};

// The text part. For binary types the attachment count written is
// attachments.size(); the caller sends the attachments after it, in order.
std::string encode(const Packet& packet);

// {"_placeholder":true,"num":N}: where attachment N stands in the JSON.
json::Value placeholder(size_t num);
// N if value is a placeholder, else nullopt.
std::optional<size_t> placeholder_num(const json::Value& value);

// One line for --trace: EVENT /admin id=12 ["hello"] +1 attachment (3 B)
std::string describe(const Packet& packet);

// The name an EVENT's first element stands for: a string as it is, a number as
// JavaScript's String(n) ("42"), which is the key the reference's EventEmitter
// looks its listeners up by.
std::string event_name(const json::Value& first);

// Each attachment is an Engine.IO message of its own, so the transport already
// bounds it by maxPayload (a WebSocket message over it is closed with 1009, a
// polling POST over it gets 413), as in the reference. max_attachment_bytes says
// the same again here; max_packet_bytes bounds what one packet may hold in all
// while it waits for its attachments, which the reference leaves to its
// maxAttachments (10) times maxHttpBufferSize: the same 10 MB at the defaults.
struct Limits {
  size_t max_attachments = 10;  // per packet, as socket.io-parser's maxAttachments
  size_t max_attachment_bytes = 1000000;  // each attachment: maxPayload
  size_t max_packet_bytes = 10000000;  // all attachments of one packet together
  size_t max_nsp = 256;  // bytes in a namespace name
};

class Decoder {
 public:
  enum class Status { done, need_more, error };
  struct Result {
    Status status = Status::need_more;
    Packet packet;  // set when done
    std::string error;  // set on error
  };

  explicit Decoder(Limits limits = {}) : limits_(limits) {}
  Result add_text(std::string_view text);
  Result add_binary(std::string_view bytes);
  bool waiting() const { return pending_ != nullptr; }

 private:
  Result finish();
  Limits limits_;
  // A binary packet still missing attachments. On the heap: every session has a
  // Decoder, and a Packet held in place would cost an idle one 190 bytes.
  std::unique_ptr<Packet> pending_;
  size_t expected_ = 0;
  size_t received_bytes_ = 0;
};

}  // namespace sio
