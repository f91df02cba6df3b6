// Fuzz target: the HPACK decoder (02-http2-push/hpack.h), one connection's worth
// of field blocks through one Decoder, so the dynamic table carries over from
// block to block as it does on a connection.
//
// Input: a knob byte, then blocks, each a 2-byte big-endian length and that many
// bytes (the last one takes whatever is left). The knob picks our
// SETTINGS_HEADER_TABLE_SIZE and whether the list-size limit of the connection
// (Limits::max_header_list_size) applies.
//
// Whatever the bytes:
//   - an error names its rule (RFC 7541 §..., or our own limit) and ends the
//     connection: nothing after it is decoded;
//   - the dynamic table never exceeds its maximum, nor the maximum our limit;
//     its size is the sum of its entries' sizes (§4.1);
//   - a decoded list stays within the limit asked for;
//   - decoding is deterministic: the same block on a copy of the decoder as it
//     was gives the same fields;
//   - what decoded, encoded again with our Encoder (one per connection, too) and
//     decoded by a second Decoder, is the same list, never-indexed flags included;
//   - every decoded string survives a Huffman round trip, and a block that is a
//     valid Huffman string as a whole encodes back to exactly its bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "02-http2-push/hpack.h"
#include "hpack_blocks.h"

namespace {

bool same(const hpack::HeaderList& a, const hpack::HeaderList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value ||
        a[i].never_indexed != b[i].never_indexed)
      return false;
  return true;
}

void check_table(const hpack::DynamicTable& t, size_t limit) {
  size_t sum = 0;
  for (size_t i = 0; i < t.count(); ++i)
    sum += hpack::entry_size(t.get(i)->name, t.get(i)->value);
  check(sum == t.size() && t.size() <= t.max_size() && t.max_size() <= limit);
  check(t.get(t.count()) == nullptr);
}

void check_huffman(std::string_view s) {
  std::string coded;
  hpack::huffman_encode(coded, s);
  check(coded.size() == hpack::huffman_length(s));
  std::string back;
  check(hpack::huffman_decode(coded, back).empty() && back == s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const uint8_t knob = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  static constexpr size_t kLimits[] = {hpack::kDefaultTableSize, 0, 256, 65536};
  const size_t limit = kLimits[knob & 3];
  const size_t max_list = (knob & 4) ? 16384 : SIZE_MAX;

  hpack::Decoder decoder(limit);
  hpack::Encoder encoder;
  hpack::Decoder mirror;  // the peer of `encoder`
  for (int blocks = 0; blocks < 64 && !in.empty(); ++blocks) {
    const std::string_view block = next_block(in);
    const hpack::Decoder before = decoder;
    hpack::HeaderList fields;
    const std::string e = decoder.decode(block, fields, max_list);
    check_table(decoder.table(), limit);
    if (!e.empty()) {
      check(e.rfind("RFC 7541 §", 0) == 0 || e.rfind("limit: ", 0) == 0);
      break;  // the connection ends with COMPRESSION_ERROR (RFC 9113 §4.3)
    }
    size_t list_size = 0;
    for (const hpack::Header& h : fields) {
      list_size += hpack::entry_size(h.name, h.value);
      check_huffman(h.name);
      check_huffman(h.value);
    }
    check(list_size <= max_list);

    hpack::Decoder again = before;
    hpack::HeaderList fields2;
    check(again.decode(block, fields2, max_list).empty() && same(fields, fields2));
    check(again.table().size() == decoder.table().size() &&
          again.table().count() == decoder.table().count());

    const std::string encoded = encoder.encode(fields);
    check_table(encoder.table(), hpack::kDefaultTableSize);
    hpack::HeaderList round;
    check(mirror.decode(encoded, round).empty() && same(fields, round));
    check(mirror.table().size() == encoder.table().size());

    std::string text;
    if (hpack::huffman_decode(block, text).empty()) {
      std::string coded;
      hpack::huffman_encode(coded, text);
      check(coded == block);
    }
  }
  return 0;
}
