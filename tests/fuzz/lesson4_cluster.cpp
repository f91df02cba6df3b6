// Fuzz target: what a Redis can send lesson 04's cluster adapter
// (04-socketio-lite/cluster*.cpp) once its bytes are RESP-decoded (lesson4_resp
// fuzzes that): pub/sub messages (msgpack requests: fetchSockets, server-side
// emits and the chat's presence lists, broadcasts with acks, joins...) and stream
// entries (uid, nsp, type, data: JSON or base64 of msgpack). No Redis runs: the
// adapter is never started, so its answers go nowhere.
//
// Input: the first byte's bit 0 turns connection state recovery on (every entry is
// also kept for replay, Adapter::remember). Then records, each a kind byte, a
// 2-byte big-endian length and that many bytes: kind even, a pub/sub payload; kind
// odd, a stream entry, its id, uid, nsp, type and data separated by NUL bytes.
// Room "general" exists for the presence lists; the namespaces are "/" and, as
// with --protocol-echo, "/test".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "04-socketio-lite/cluster.h"
#include "04-socketio-lite/conformance.h"
#include "04-socketio-lite/engineio.h"
#include "tests/fuzz/server_harness.h"

// The log and --trace written, to nowhere (FUZZ_SERVER_LOG=1 keeps them).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_process();
  return 0;
}

static std::vector<std::string> split_nul(std::string_view in, size_t parts) {
  std::vector<std::string> out;
  while (out.size() + 1 < parts) {
    size_t at = in.find('\0');
    if (at == std::string_view::npos) break;
    out.emplace_back(in.substr(0, at));
    in.remove_prefix(at + 1);
  }
  out.emplace_back(in);
  out.resize(parts);
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  loop::Loop loop;
  eio::Server engine(loop, eio::Options{});
  sio::Server io(loop, engine, sio::Options{});
  sio::install_test_namespace(io);
  cluster::Options options;
  options.namespaces = {"/", "/test"};
  options.max_len = 16;  // the replay log's bound, reached within one input
  cluster::Adapter adapter(loop, io, options);
  if (data[0] & 1) adapter.enable_recovery(120'000);
  adapter.presence_room = [](const std::string& room) { return room == "general"; };
  size_t changes = 0;
  adapter.on_presence = [&](const std::string& room) {
    ++changes;
    (void)adapter.remote_users(room);
  };
  while (in.size() >= 3) {
    const uint8_t kind = static_cast<uint8_t>(in[0]);
    size_t len = static_cast<uint8_t>(in[1]) << 8 | static_cast<uint8_t>(in[2]);
    in.remove_prefix(3);
    if (len > in.size()) len = in.size();
    std::string_view record = in.substr(0, len);
    in.remove_prefix(len);
    if (kind % 2 == 0) {
      adapter.receive_message(std::string(record));
      continue;
    }
    std::vector<std::string> f = split_nul(record, 5);
    adapter.receive_entry(f[0], cluster::Entry{f[1], f[2], f[3], f[4]});
  }
  return 0;
}
