// The requests a Node member sends every node over pub/sub, answered here.
#include "cluster.h"

#include "common/log.h"
#include "msgpack.h"

namespace cluster {

// Requests over pub/sub
// ---------------------
// SUBSCRIBE socket.io#/# : after it, PUBSUB NUMSUB socket.io#/# counts this node,
// and a Node member waits for its answer to every request.

void Adapter::subscribe() {
  for (const auto& nsp : options_.namespaces) {
    // Once subscribed, the others' presence lists can reach us: ask for them.
    subscriber_.command(
        {"SUBSCRIBE", options_.channel_prefix + "#" + nsp + "#"},
        [this, first = nsp == options_.namespaces.front()](const redis::Reply& r) {
          if (first && !r.is_error()) ask_presence();
        });
    // The responses channel, as a Node member has: nobody answers us there (we
    // ask nothing), but PUBSUB NUMSUB on it says this node is alive, for
    // recovery's check of a pid held here (cluster_recovery.cpp).
    subscriber_.command(
        {"SUBSCRIBE", options_.channel_prefix + "#" + nsp + "#" + uid_ + "#"});
  }
}

// A request: msgpack {type, data, uid, nsp}.
void Adapter::on_request(const std::string& payload) {
  msgpack::Result m = msgpack::decode(payload);
  if (m.status != msgpack::Status::done) {
    logs::warn("cluster: pub/sub message skipped: not msgpack (%s)",
               m.status == msgpack::Status::error ? m.error.c_str() : "truncated");
    return;
  }
  const json::Value* type = m.value.find("type");
  const json::Value* uid = m.value.find("uid");
  const json::Value* nsp_name = m.value.find("nsp");
  const json::Value* data = m.value.find("data");
  // The types are 1 to 13; anything else (a huge number too) is not one of ours.
  if (!type || !type->is_number() || type->as_number() < 1 || type->as_number() > 13 ||
      !uid || !uid->is_string() || !nsp_name || !nsp_name->is_string()) {
    logs::warn("cluster: pub/sub message skipped: no type (1-13), uid or nsp");
    return;
  }
  if (uid->as_string() == uid_) return;
  sio::Namespace* nsp = io_.find(nsp_name->as_string());
  if (!nsp) return;
  json::Value empty;
  const json::Value& d = data ? *data : empty;
  const json::Value* request_id = d.find("requestId");
  auto t = static_cast<MessageType>(static_cast<int>(type->as_number()));
  const std::string& from = uid->as_string();
  switch (t) {
    // fetchSockets(): {"opts":{...},"requestId":"..."} → the sockets here that match,
    // as RemoteSocket details {id, handshake, rooms, data}.
    case MessageType::fetch_sockets: {
      std::set<std::string> rooms, except;
      std::string error;
      if (!request_id || !read_opts(d.find("opts"), rooms, except, error)) return;
      json::Array sockets;
      for (const auto& s : sio::BroadcastOperator(*nsp, rooms, except).sockets()) {
        const http::Request& req = s->handshake();
        json::Object headers;
        for (const auto& h : req.headers)
          headers.emplace_back(h.name, h.value);
        json::Value handshake(json::Object{{"headers", json::Value(std::move(headers))},
                                           {"url", req.target},
                                           {"auth", s->auth()}});
        sockets.push_back(json::Value(json::Object{{"id", s->id()},
                                                   {"handshake", std::move(handshake)},
                                                   {"rooms", string_array(s->rooms())},
                                                   {"data", s->data}}));
      }
      return respond(nsp->name(), from, MessageType::fetch_sockets_response,
                     json::Value(json::Object{{"requestId", *request_id},
                                              {"sockets", std::move(sockets)}}));
    }
    // serverSideEmit(): the chat's presence lists (cluster_presence.cpp), or, with
    // an ack, one this server has no handler for: its one answer is null.
    case MessageType::server_side_emit:
      if (!request_id) {
        if (const json::Value* packet = d.find("packet"))
          on_presence_packet(from, *packet);
        return;
      }
      return respond(nsp->name(), from, MessageType::server_side_emit_response,
                     json::Value(json::Object{{"requestId", *request_id},
                                              {"packet", json::Value()}}));
    // emitWithAck() to every node: delivered here as a plain event, and the count
    // of acks to wait for from here is 0 (this server has no acks on broadcasts).
    case MessageType::broadcast:
      apply(*nsp, t, d, std::move(m.buffers), "");
      if (!request_id) return;
      return respond(
          nsp->name(), from, MessageType::broadcast_client_count,
          json::Value(json::Object{{"requestId", *request_id}, {"clientCount", 0}}));
    default:
      return apply(*nsp, t, d, std::move(m.buffers), "");
  }
}

// PUBLISH <channel> with msgpack {type, data, uid, nsp}, as ClusterAdapter
// publishes: an answer on socket.io#<nsp>#<requester uid>#, a server-side emit
// on socket.io#<nsp># (cluster_presence.cpp).
void Adapter::publish_message(const std::string& channel, const std::string& nsp,
                              MessageType type, json::Value data) {
  json::Value message(json::Object{{"type", static_cast<int>(type)},
                                   {"data", std::move(data)},
                                   {"uid", uid_},
                                   {"nsp", nsp}});
  commands_.command({"PUBLISH", channel, msgpack::encode(message)});
}

void Adapter::respond(const std::string& nsp, const std::string& requester,
                      MessageType type, json::Value data) {
  publish_message(options_.channel_prefix + "#" + nsp + "#" + requester + "#", nsp, type,
                  std::move(data));
}

}  // namespace cluster
