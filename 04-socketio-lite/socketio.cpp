// Socket.IO v5 packets: what socket.io-parser does, byte for byte, minus what a
// server need not accept (see check_payload below for the rules kept).
#include "socketio.h"

#include <algorithm>
#include <cmath>

namespace sio {

const char* type_name(Type type) {
  switch (type) {
    case Type::connect:
      return "CONNECT";
    case Type::disconnect:
      return "DISCONNECT";
    case Type::event:
      return "EVENT";
    case Type::ack:
      return "ACK";
    case Type::connect_error:
      return "CONNECT_ERROR";
    case Type::binary_event:
      return "BINARY_EVENT";
    case Type::binary_ack:
      return "BINARY_ACK";
  }
  return "?";
}

bool is_binary(Type type) {
  return type == Type::binary_event || type == Type::binary_ack;
}

// Socket.IO v5 "Format":
// <packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON]
std::string encode(const Packet& p) {
  // 5 = BINARY_EVENT: its digit first, always one digit (0-6).
  std::string out(1, static_cast<char>('0' + static_cast<int>(p.type)));
  // "52-": two attachments follow, as binary messages of their own.
  if (is_binary(p.type)) out += std::to_string(p.attachments.size()) + "-";
  // "the namespace is only included if it is different from the main namespace"
  if (!p.nsp.empty() && p.nsp != "/") out += p.nsp + ",";
  // "12": the ack id, glued to the JSON; the JSON starts with [ { or ", never a
  // digit, which is what makes the id readable.
  if (p.id) out += std::to_string(*p.id);
  // json.h writes what JSON.stringify writes, so our bytes match the reference's.
  if (p.data) json::append(out, *p.data);
  return out;
}

// The key order matters: JSON.stringify of the reference's {_placeholder, num}.
json::Value placeholder(size_t num) {
  return json::Value(json::Object{{"_placeholder", true}, {"num", json::Value(num)}});
}

// socket.io-parser's reconstructPacket accepts {"_placeholder":true,"num":N}
// with N a whole number; so do we, and N must name an attachment we have.
std::optional<size_t> placeholder_num(const json::Value& v) {
  const json::Value* flag = v.find("_placeholder");
  if (!flag || !flag->is_bool() || !flag->as_bool()) return std::nullopt;
  const json::Value* num = v.find("num");
  if (!num || !num->is_number()) return std::nullopt;
  double n = num->as_number();
  if (n < 0 || n > 1e6 || std::floor(n) != n) return std::nullopt;
  return static_cast<size_t>(n);
}

// --trace prints packets decoded: the type by name, the namespace always (so
// "/" is visible too), long payloads cut at 200 bytes.
std::string describe(const Packet& p) {
  std::string out = type_name(p.type);
  out += " " + (p.nsp.empty() ? std::string("/") : p.nsp);
  if (p.id) out += " id=" + std::to_string(*p.id);
  if (p.data) {
    std::string json = json::stringify(*p.data);
    if (json.size() > 200) json = json.substr(0, 200) + "...";
    out += " " + json;
  }
  if (is_binary(p.type)) {
    size_t bytes = 0;
    for (const auto& a : p.attachments)
      bytes += a.size();
    out += " +" + std::to_string(p.attachments.size()) +
           (p.attachments.size() == 1 ? " attachment (" : " attachments (") +
           std::to_string(bytes) + " B)";
  }
  return out;
}

// Event names the reference keeps for itself (socket.io-parser RESERVED_EVENTS):
// a client may not send them as events.
static bool reserved(const std::string& name) {
  static const char* const names[] = {"connect",       "connect_error", "disconnect",
                                      "disconnecting", "newListener",   "removeListener"};
  return std::any_of(std::begin(names), std::end(names),
                     [&](const char* n) { return name == n; });
}

// What each type may carry ("Exchange protocol"); "" when the payload is fine.
static std::string check_payload(Type type, const std::optional<json::Value>& data) {
  switch (type) {
    case Type::connect:
      // The auth payload is optional, and an object when present.
      if (data && !data->is_object()) return "CONNECT payload must be an object";
      return "";
    case Type::disconnect:
      if (data) return "DISCONNECT carries no payload";
      return "";
    case Type::connect_error:
      if (!data || !(data->is_object() || data->is_string()))
        return "CONNECT_ERROR payload must be an object or a string";
      return "";
    case Type::event:
    case Type::binary_event: {
      // "The payload is mandatory and MUST be a non-empty array." Its first
      // element is the event's name: a string or, as socket.io-parser's
      // isPayloadValid allows (socket.emit(42) sends 2[42]), a number.
      if (!data || !data->is_array() || data->as_array().empty())
        return "EVENT payload must be a non-empty array";
      const json::Value& name = data->as_array()[0];
      if (!name.is_string() && !name.is_number())
        return "EVENT name must be a string or a number";
      if (name.is_string() && reserved(name.as_string()))
        return "EVENT name \"" + name.as_string() + "\" is reserved";
      return "";
    }
    case Type::ack:
    case Type::binary_ack:
      // "The payload is mandatory and MUST be an array (possibly empty)."
      if (!data || !data->is_array()) return "ACK payload must be an array";
      return "";
  }
  return "unknown packet type";
}

std::string event_name(const json::Value& first) {
  if (first.is_string()) return first.as_string();
  std::string name;
  json::append_number(name, first.as_number());  // Number.prototype.toString
  return name;
}

// Every placeholder must name an attachment that exists.
static bool placeholders_valid(const json::Value& v, size_t attachments) {
  if (v.is_array()) {
    for (const auto& item : v.as_array())
      if (!placeholders_valid(item, attachments)) return false;
  } else if (v.is_object()) {
    const json::Value* flag = v.find("_placeholder");
    if (flag && flag->is_bool() && flag->as_bool()) {
      auto num = placeholder_num(v);
      return num && *num < attachments;
    }
    for (const auto& [key, item] : v.as_object())
      if (!placeholders_valid(item, attachments)) return false;
  }
  return true;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads the header left to right, each field optional after the type, then the
// JSON; every rule a field breaks is named in `error`.
Decoder::Result Decoder::add_text(std::string_view s) {
  Result r;
  r.status = Status::error;  // until the packet has passed every check
  // A text packet in the middle of a binary one: the attachments went missing.
  if (pending_) {
    r.error = "text packet while " +
              std::to_string(expected_ - pending_->attachments.size()) +
              " attachment(s) of a binary packet are still due";
    return r;
  }
  // Socket.IO v5 "Exchange protocol": seven types, 0 to 6.
  if (s.empty() || s[0] < '0' || s[0] > '6') {
    r.error = "unknown packet type";
    return r;
  }
  Packet p;
  p.type = static_cast<Type>(s[0] - '0');
  size_t i = 1;

  // <# of binary attachments>- : binary types only, digits then a dash.
  size_t attachments = 0;
  if (is_binary(p.type)) {
    size_t start = i;
    while (i < s.size() && is_digit(s[i]) && i - start < 6)
      attachments = attachments * 10 + static_cast<size_t>(s[i++] - '0');
    if (i == start || i >= s.size() || s[i] != '-') {
      r.error = "attachment count must be digits followed by '-'";
      return r;
    }
    ++i;
    if (attachments > limits_.max_attachments) {
      r.error = "more than " + std::to_string(limits_.max_attachments) + " attachments";
      return r;
    }
  }

  // <namespace>, : present when it starts with '/', up to a comma or the end
  // (the reference accepts "40/admin" without the comma, so we do too).
  // EXERCISE sio-namespace: '/' starts it; it ends at ',' (or at the end)
  if (i < s.size() && s[i] == '/') {
    size_t comma = s.find(',', i);
    size_t end = comma == std::string_view::npos ? s.size() : comma;
    if (end - i > limits_.max_nsp) {
      r.error = "namespace longer than " + std::to_string(limits_.max_nsp) + " bytes";
      return r;
    }
    p.nsp = std::string(s.substr(i, end - i));
    i = comma == std::string_view::npos ? s.size() : comma + 1;
  }
  // END EXERCISE sio-namespace

  // <acknowledgment id> : digits. JavaScript reads it as a Number, so it must
  // stay a safe integer (at most 2^53 - 1).
  // EXERCISE sio-ack-id: digits after the namespace, before the JSON, at most 2^53 - 1
  if (i < s.size() && is_digit(s[i])) {
    uint64_t id = 0;
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) {
      if (i - start >= 16) {
        r.error = "ack id too large";
        return r;
      }
      id = id * 10 + static_cast<uint64_t>(s[i++] - '0');
    }
    if (id > 9007199254740991ULL) {
      r.error = "ack id too large";
      return r;
    }
    p.id = id;
  }
  // END EXERCISE sio-ack-id

  // [JSON-stringified payload]: the rest, if anything is left.
  if (i < s.size()) {
    // Lone surrogates ("\ud83d") are read, as JSON.parse reads them: a
    // JavaScript client that cuts a string by UTF-16 code units sends them. The
    // application decides what such a string may be used for (utf8::is_valid
    // refuses it); it is written back as it came (json.h, ParseOptions).
    json::ParseResult parsed = json::parse(s.substr(i), {.lone_surrogates = true});
    if (!parsed.value) {
      r.error = "payload is not JSON: " + parsed.error;
      return r;
    }
    p.data = std::move(*parsed.value);
  }
  if (std::string e = check_payload(p.type, p.data); !e.empty()) {
    r.error = e;
    return r;
  }
  // An ACK answers an id: without one it answers nothing.
  if ((p.type == Type::ack || p.type == Type::binary_ack) && !p.id) {
    r.error = "ACK without an ack id";
    return r;
  }
  if (is_binary(p.type) && !placeholders_valid(*p.data, attachments)) {
    r.error = "placeholder refers to an attachment that does not exist";
    return r;
  }

  // A binary packet waits for its attachments: the next binary messages.
  pending_ = std::make_unique<Packet>(std::move(p));
  expected_ = attachments;
  received_bytes_ = 0;
  return finish();
}

// Socket.IO v5 "Packet encoding": "+ binary attachments extracted" - each one
// arrives as the next binary Engine.IO message, in num order.
Decoder::Result Decoder::add_binary(std::string_view bytes) {
  Result r;
  if (!pending_) {
    r.status = Status::error;
    r.error = "binary message with no binary packet waiting for it";
    return r;
  }
  // Engine.IO bounds each message (maxPayload), so each attachment on its own;
  // a packet's attachments together are bounded too (socketio.h, Limits).
  if (bytes.size() > limits_.max_attachment_bytes) {
    pending_.reset();
    r.status = Status::error;
    r.error = "an attachment larger than " +
              std::to_string(limits_.max_attachment_bytes) + " bytes";
    return r;
  }
  received_bytes_ += bytes.size();
  if (received_bytes_ > limits_.max_packet_bytes) {
    pending_.reset();
    r.status = Status::error;
    r.error = "attachments larger than " + std::to_string(limits_.max_packet_bytes) +
              " bytes in all";
    return r;
  }
  pending_->attachments.emplace_back(bytes);
  return finish();
}

// Hands the pending packet out once it has every attachment it announced.
Decoder::Result Decoder::finish() {
  Result r;
  if (pending_->attachments.size() < expected_) return r;  // need_more
  r.status = Status::done;
  r.packet = std::move(*pending_);
  pending_.reset();
  return r;
}

}  // namespace sio
