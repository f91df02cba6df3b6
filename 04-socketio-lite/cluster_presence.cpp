// Who is online in each room, for the whole cluster (the chat's "online" lists).
//
// A node knows only its own sockets. Each node tells the others, over pub/sub, a
// room's users here whenever that set changes, as a server-side emit (socket.io's
// io.serverSideEmit("chat:presence", room, users), type 9 without a requestId):
//   PUBLISH socket.io#/# <msgpack {type: 9, data: {packet: ["chat:presence",
//                         "general", ["ada"]]}, uid, nsp: "/"}>
// and keeps the lists the others sent, one per node and room. Pub/sub is lost
// while a node is cut off, so every node sends all of its lists again every
// kPresenceRefreshMs, and forgets a node's list kPresenceExpiryMs after it last
// heard it (a node killed outright sends nothing more). A node that (re)subscribes
// asks the others for theirs with ["chat:presence?"]. A Node member has no
// handler for either event: it ignores them, and its users are not in our lists.
#include "cluster.h"

#include "common/log.h"

namespace cluster {

namespace {
constexpr const char* kPresence = "chat:presence";
constexpr const char* kPresenceAsk = "chat:presence?";
}  // namespace

void Adapter::share_presence(const std::string& room,
                             const std::set<std::string>& users) {
  auto it = own_presence_.find(room);
  if (it != own_presence_.end() ? it->second == users : users.empty()) return;
  if (users.empty())
    own_presence_.erase(it);
  else
    own_presence_[room] = users;
  publish_presence(room, users);
}

std::set<std::string> Adapter::remote_users(const std::string& room) const {
  std::set<std::string> users;
  auto it = remote_presence_.find(room);
  if (it == remote_presence_.end()) return users;
  for (const auto& [uid, presence] : it->second)
    users.insert(presence.users.begin(), presence.users.end());
  return users;
}

void Adapter::server_side_emit(json::Array packet) {
  if (!commands_.connected()) return;  // the refresh sends it again
  const std::string& nsp = options_.namespaces.front();
  publish_message(options_.channel_prefix + "#" + nsp + "#", nsp,
                  MessageType::server_side_emit,
                  json::Value(json::Object{{"packet", json::Value(std::move(packet))}}));
}

void Adapter::publish_presence(const std::string& room,
                               const std::set<std::string>& users) {
  server_side_emit(
      json::Array{json::Value(kPresence), json::Value(room), string_array(users)});
}

// Every list of ours again: asked for, subscribed again, or the refresh.
void Adapter::publish_all_presence() {
  for (const auto& [room, users] : own_presence_)
    publish_presence(room, users);
}

// Subscribed (again): the others' lists may have been missed, and ours forgotten.
void Adapter::ask_presence() {
  server_side_emit(json::Array{json::Value(kPresenceAsk)});
  publish_all_presence();
}

// Every kPresenceRefreshMs: ours again, and the lists of nodes gone quiet dropped.
void Adapter::presence_tick() {
  presence_timer_ = loop_.after(kPresenceRefreshMs, [this] { presence_tick(); });
  publish_all_presence();
  int64_t now = loop::Loop::now_ms();
  for (auto room = remote_presence_.begin(); room != remote_presence_.end();) {
    bool changed = false;
    for (auto node = room->second.begin(); node != room->second.end();) {
      if (now - node->second.seen_ms <= kPresenceExpiryMs) {
        ++node;
        continue;
      }
      logs::info("cluster: node %s silent for %lld ms: its users in \"%s\" forgotten",
                 node->first.c_str(), static_cast<long long>(now - node->second.seen_ms),
                 room->first.c_str());
      node = room->second.erase(node);
      changed = true;
    }
    std::string name = room->first;
    room = room->second.empty() ? remote_presence_.erase(room) : std::next(room);
    if (changed && on_presence) on_presence(name);
  }
}

// ["chat:presence", room, [user, ...]] or ["chat:presence?"] from node `from`;
// false when the packet is neither (another server-side emit).
bool Adapter::on_presence_packet(const std::string& from, const json::Value& packet) {
  if (!packet.is_array() || packet.as_array().empty() ||
      !packet.as_array()[0].is_string())
    return false;
  const json::Array& args = packet.as_array();
  const std::string& event = args[0].as_string();
  if (event == kPresenceAsk) {
    publish_all_presence();
    return true;
  }
  if (event != kPresence) return false;
  if (args.size() != 3 || !args[1].is_string() || !args[2].is_array() ||
      args[2].as_array().size() > kMaxPresenceUsers) {
    logs::warn("cluster: %s from %s skipped: not [room, [at most %zu users]]", kPresence,
               logs::printable(from, 20).c_str(), kMaxPresenceUsers);
    return true;
  }
  const std::string& room = args[1].as_string();
  if (!presence_room || !presence_room(room)) {
    logs::warn("cluster: %s from %s skipped: no room \"%s\" here", kPresence,
               logs::printable(from, 20).c_str(), logs::printable(room, 40).c_str());
    return true;
  }
  std::set<std::string> users;
  for (const auto& user : args[2].as_array()) {
    // A user name as the chat takes one (common/chat.h: 1-32 characters...).
    if (!user.is_string() || chat::validate(user.as_string(), "-")) {
      logs::warn("cluster: %s from %s skipped: a user that is not a chat user name",
                 kPresence, logs::printable(from, 20).c_str());
      return true;
    }
    users.insert(user.as_string());
  }
  auto& nodes = remote_presence_[room];
  auto it = nodes.find(from);
  if (it == nodes.end() && nodes.size() >= kMaxPresenceNodes) {
    logs::warn("cluster: %s from %s skipped: %zu nodes in \"%s\" already", kPresence,
               logs::printable(from, 20).c_str(), nodes.size(), room.c_str());
    return true;
  }
  bool changed = it == nodes.end() ? !users.empty() : it->second.users != users;
  if (users.empty())
    nodes.erase(from);
  else
    nodes[from] = Presence{std::move(users), loop::Loop::now_ms()};
  if (nodes.empty()) remote_presence_.erase(room);
  if (changed && on_presence) on_presence(room);
  return true;
}

}  // namespace cluster
