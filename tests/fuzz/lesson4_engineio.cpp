// Fuzz target: Engine.IO v4 packet and payload decoders
// (04-socketio-lite/engineio_packet.h). Any body must decode or be refused with a reason;
// what decodes must encode back to a payload that decodes to the same packets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "04-socketio-lite/engineio_packet.h"

static bool same(const std::vector<eio::Packet>& a, const std::vector<eio::Packet>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].binary != b[i].binary)
      return false;
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // As one WebSocket text frame.
  eio::Packet one;
  eio::DecodeResult r = eio::decode_packet(in, one);
  if (!r.ok && r.error.empty()) std::abort();
  // As a polling body.
  std::vector<eio::Packet> packets;
  eio::DecodeResult p = eio::decode_payload(in, packets);
  if (!p.ok) {
    if (p.error.empty()) std::abort();
    return 0;
  }
  std::vector<eio::Packet> again;
  if (!eio::decode_payload(eio::encode_payload(packets), again).ok) std::abort();
  if (!same(packets, again)) std::abort();
  return 0;
}
