// The adapter's wire format: a broadcast as a stream entry and back.
#include "cluster.h"

#include "engineio_packet.h"
#include "msgpack.h"

namespace cluster {

json::Value string_array(const std::set<std::string>& items) {
  return json::Value(json::Array(items.begin(), items.end()));
}

// Wire format: a broadcast entry
// ------------------------------
// ClusterAdapter.broadcast() publishes {type: BROADCAST, data: {packet, opts}}; the
// streams adapter's encode() turns it into the entry's four fields. The packet is
// socket.io-parser's object before the namespace is added: {"type":2,"data":[...]}
// (always EVENT: the parser makes it BINARY_EVENT when it finds binary).
Entry broadcast_entry(const std::string& uid, const sio::Packet& packet,
                      const std::set<std::string>& rooms,
                      const std::set<std::string>& except) {
  json::Value data(json::Object{
      {"packet", json::Value(json::Object{{"type", 2}, {"data", *packet.data}})},
      {"opts", json::Value(json::Object{{"rooms", string_array(rooms)},
                                        {"except", string_array(except)},
                                        {"flags", json::Value(json::Object{})}})}});
  Entry e{uid, packet.nsp, std::to_string(static_cast<int>(MessageType::broadcast)), ""};
  // redis-streams-adapter encode(): "data" is JSON.stringify(data), unless the
  // message may hold binary and does: then base64 of msgpack, where a Buffer is bin.
  if (packet.attachments.empty())
    e.data = json::stringify(data);
  else
    e.data = eio::base64_encode(msgpack::encode(data, packet.attachments));
  return e;
}

bool read_data(const std::string& data, json::Value& value,
               std::vector<std::string>& buffers, std::string& error) {
  // redis-streams-adapter decode(): JSON when it starts with "{", else base64 msgpack.
  if (!data.empty() && data[0] == '{') {
    json::ParseResult r = json::parse(data);
    if (!r.value) {
      error = "data: malformed JSON: " + r.error;
      return false;
    }
    value = std::move(*r.value);
    return true;
  }
  std::string bytes;
  if (!eio::base64_decode(data, bytes)) {
    error = "data: neither JSON (\"{...\") nor base64";
    return false;
  }
  msgpack::Result m = msgpack::decode(bytes);
  if (m.status != msgpack::Status::done || m.consumed != bytes.size()) {
    error = "data: not one msgpack value: " +
            (m.status == msgpack::Status::error ? m.error : std::string("truncated"));
    return false;
  }
  value = std::move(m.value);
  buffers = std::move(m.buffers);
  return true;
}

// opts: {"rooms":[...],"except":[...],"flags":{...}}; the flags (volatile,
// compress, timeout) change nothing here.
bool read_opts(const json::Value* opts, std::set<std::string>& rooms,
               std::set<std::string>& except, std::string& error) {
  if (!opts || !opts->is_object()) {
    error = "opts: missing or not an object";
    return false;
  }
  for (auto [key, out] : {std::pair{"rooms", &rooms}, std::pair{"except", &except}}) {
    const json::Value* list = opts->find(key);
    if (!list) continue;  // an emitter may leave it out
    if (!list->is_array()) {
      error = std::string("opts.") + key + ": not an array";
      return false;
    }
    for (const auto& room : list->as_array()) {
      if (!room.is_string()) {
        error = std::string("opts.") + key + ": a room is not a string";
        return false;
      }
      out->insert(room.as_string());
    }
  }
  return true;
}

bool read_broadcast(const json::Value& data, std::vector<std::string> buffers,
                    Broadcast& out, std::string& error) {
  const json::Value* packet = data.find("packet");
  const json::Value* type = packet ? packet->find("type") : nullptr;
  const json::Value* args = packet ? packet->find("data") : nullptr;
  // socket.io-parser: an EVENT's data is ["name", ...args]; 5 is BINARY_EVENT.
  if (!type || !type->is_number() || (type->as_number() != 2 && type->as_number() != 5)) {
    error = "packet.type: a broadcast carries an EVENT (2)";
    return false;
  }
  if (!args || !args->is_array() || args->as_array().empty() ||
      !args->as_array()[0].is_string()) {
    error = "packet.data: an EVENT's data is [\"name\", ...args]";
    return false;
  }
  if (!read_opts(data.find("opts"), out.rooms, out.except, error)) return false;
  out.packet.type = buffers.empty() ? sio::Type::event : sio::Type::binary_event;
  out.packet.data = *args;
  out.packet.attachments = std::move(buffers);
  return true;
}

}  // namespace cluster
