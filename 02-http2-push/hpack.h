// HPACK (RFC 7541): the header compression of HTTP/2.
//
// A field block (the payload of HEADERS + CONTINUATION, RFC 9113 §4.3) is a list
// of representations, each one of (§6):
//   1xxxxxxx  indexed field: a whole field from the tables (§6.1)
//   01xxxxxx  literal, then added to the dynamic table (§6.2.1)
//   0000xxxx  literal, not added (§6.2.2)
//   0001xxxx  literal, never to be added by anyone, e.g. a cookie (§6.2.3)
//   001xxxxx  dynamic table size update (§6.3)
// Numbers are prefix integers (§5.1); strings have a length and may be Huffman
// coded (§5.2). Both ends keep the same dynamic table: the encoder adds to its
// copy exactly what it tells the decoder to add, so a lost or reordered block
// breaks the connection (which is why HPACK errors are connection errors).
//
// Decoder::decode(block, headers) takes a *complete* field block (the connection
// assembles CONTINUATION frames first) and returns "" or the broken rule; after an
// error the table is out of step with the peer's, so the connection must end
// with COMPRESSION_ERROR (RFC 9113 §4.3).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace hpack {

struct Header {
  std::string name;
  std::string value;
  bool never_indexed = false;  // §6.2.3: keep it out of every table downstream too
};
using HeaderList = std::vector<Header>;

// hpack_tables.cpp: RFC 7541 Appendix A and Appendix B.
struct StaticEntry {
  std::string_view name, value;
};
constexpr size_t kStaticTableSize = 61;
extern const StaticEntry kStaticTable[kStaticTableSize];
struct HuffmanCode {
  uint32_t code;  // right-aligned
  uint8_t bits;
};
constexpr size_t kHuffmanSymbols = 257;  // 256 byte values and EOS
constexpr uint16_t kEos = 256;
extern const HuffmanCode kHuffmanCode[kHuffmanSymbols];

// RFC 7541 §4.2: SETTINGS_HEADER_TABLE_SIZE starts at 4096 octets.
constexpr size_t kDefaultTableSize = 4096;

// §5.1 prefix integers. encode writes `value` with an n-bit prefix (1..8); the
// bits above the prefix in the first byte come from `first`.
void encode_integer(std::string& out, uint8_t first, int prefix_bits, uint64_t value);
// Reads an integer at in[pos...], advances pos; "" or the rule broken. Values
// above `max` are refused before they can overflow.
std::string decode_integer(std::string_view in, size_t& pos, int prefix_bits,
                           uint64_t max, uint64_t& value);

// §5.2 string literals: the H bit, a 7-bit-prefix length, the octets.
void encode_string(std::string& out, std::string_view s, bool huffman);
std::string decode_string(std::string_view in, size_t& pos, std::string& out);

// Appendix B code, with the §5.2 padding rules on decode.
void huffman_encode(std::string& out, std::string_view s);
size_t huffman_length(std::string_view s);
std::string huffman_decode(std::string_view in, std::string& out);
// The same, four bits a table lookup (hpack.cpp says how); decode_string() uses it.
// It falls back to huffman_decode() unless the two agree on every symbol and on
// the §5.2 errors, which huffman_fast_in_use() says.
std::string huffman_decode_fast(std::string_view in, std::string& out);
bool huffman_fast_in_use();

// §4.1: an entry's size is its name and value lengths plus 32.
inline size_t entry_size(std::string_view name, std::string_view value) {
  return name.size() + value.size() + 32;
}

// §2.3.2: the dynamic table, newest entry first (it has index 62, §2.3.3).
class DynamicTable {
 public:
  explicit DynamicTable(size_t max_size = kDefaultTableSize) : max_size_(max_size) {}
  void add(std::string name, std::string value);
  void set_max_size(size_t max_size);
  // i counts from 0 = newest; nullptr past the end.
  const Header* get(size_t i) const {
    return i < entries_.size() ? &entries_[i] : nullptr;
  }
  size_t count() const { return entries_.size(); }
  // Newest first, as get(0), get(1), ...
  std::deque<Header>::const_iterator begin() const { return entries_.begin(); }
  std::deque<Header>::const_iterator end() const { return entries_.end(); }
  size_t size() const { return size_; }
  size_t max_size() const { return max_size_; }

 private:
  void evict_to(size_t limit);
  std::deque<Header> entries_;
  size_t size_ = 0;
  size_t max_size_;
};

class Decoder {
 public:
  // limit: the SETTINGS_HEADER_TABLE_SIZE we advertised; a size update may not
  // go above it (§6.3). The table itself starts at 4096 whatever we advertise:
  // RFC 9113 §6.5.2 and RFC 7541 §6.3, it grows only when the encoder sends a
  // size update, so until then an index past 4096 bytes of entries is an error.
  explicit Decoder(size_t limit = kDefaultTableSize)
      : limit_(limit), table_(std::min(limit, kDefaultTableSize)) {}
  // Appends the block's fields to `out`; "" or "RFC 7541 §...: what was wrong".
  // max_list_size bounds what the fields add up to (§4.1 sizes): one indexed byte
  // can stand for a 4 KiB entry, so a small block could decode to gigabytes.
  std::string decode(std::string_view block, HeaderList& out,
                     size_t max_list_size = SIZE_MAX);
  const DynamicTable& table() const { return table_; }

 private:
  std::string field_at(uint64_t index, Header& out) const;
  size_t limit_;
  DynamicTable table_;
};

class Encoder {
 public:
  // The peer's SETTINGS_HEADER_TABLE_SIZE (§4.2). We use at most kDefaultTableSize
  // of it, and tell the decoder at the start of the next block (§6.3).
  void set_peer_limit(size_t peer_limit);
  std::string encode(const HeaderList& headers);
  // The same a field at a time, for fields that are not in one list: begin() at
  // the start of each block (it writes any size update due), then add() each field.
  void begin(std::string& out);
  void add(std::string& out, std::string_view name, std::string_view value,
           bool never_indexed = false);
  const DynamicTable& table() const { return table_; }

 private:
  DynamicTable table_;
  bool update_pending_ = false;
  size_t smallest_pending_ = kDefaultTableSize;
  size_t target_ = kDefaultTableSize;
};

}  // namespace hpack
