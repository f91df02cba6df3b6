#include "hpack.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace hpack {

// Integers and strings
// --------------------

// RFC 7541 §5.1: a value below 2^N-1 fits in the prefix; otherwise the prefix is
// all ones and the rest follows 7 bits at a time, least significant first, with
// the top bit of each byte saying "more follows".
//   10 with a 5-bit prefix:    ???01010
//   1337 with a 5-bit prefix:  ???11111 10011010 00001010   (31 + 26 + 10*128)
void encode_integer(std::string& out, uint8_t first, int prefix_bits, uint64_t value) {
  const uint64_t limit = (uint64_t{1} << prefix_bits) - 1;
  if (value < limit) {
    out += static_cast<char>(first | value);
    return;
  }
  out += static_cast<char>(first | limit);
  value -= limit;
  while (value >= 128) {
    out += static_cast<char>(0x80 | (value & 0x7f));
    value >>= 7;
  }
  out += static_cast<char>(value);
}

std::string decode_integer(std::string_view in, size_t& pos, int prefix_bits,
                           uint64_t max, uint64_t& value) {
  if (pos >= in.size()) return "RFC 7541 §5.1: the block ends where an integer should be";
  const uint64_t limit = (uint64_t{1} << prefix_bits) - 1;
  value = static_cast<uint8_t>(in[pos++]) & limit;
  if (value < limit) return "";
  // EXERCISE hpack-integer: then 7 bits a byte, least significant first, top bit: more
  for (int shift = 0;; shift += 7) {
    if (pos >= in.size()) return "RFC 7541 §5.1: the block ends inside an integer";
    const uint64_t b = static_cast<uint8_t>(in[pos++]);
    // RFC 7541 §5.1: "Integer encodings that exceed implementation limits ...
    // MUST be treated as decoding errors." Checked before the shift can overflow.
    if (shift > 56 || ((b & 0x7f) && (b & 0x7f) > (max - value) >> shift))
      return "RFC 7541 §5.1: integer exceeds " + std::to_string(max);
    value += (b & 0x7f) << shift;
    if (!(b & 0x80)) return "";
  }
  // END EXERCISE hpack-integer
}

// RFC 7541 §5.2: H (1 bit), String Length (7+), String Data. H=1: Huffman coded.
void encode_string(std::string& out, std::string_view s, bool huffman) {
  if (huffman) {
    encode_integer(out, 0x80, 7, huffman_length(s));
    huffman_encode(out, s);
  } else {
    encode_integer(out, 0x00, 7, s.size());
    out += s;
  }
}

std::string decode_string(std::string_view in, size_t& pos, std::string& out) {
  if (pos >= in.size()) return "RFC 7541 §5.2: the block ends where a string should be";
  const bool huffman = (static_cast<uint8_t>(in[pos]) & 0x80) != 0;
  uint64_t length = 0;
  if (std::string e = decode_integer(in, pos, 7, in.size(), length); !e.empty()) return e;
  if (length > in.size() - pos)
    return "RFC 7541 §5.2: string of " + std::to_string(length) +
           " octets runs past the end of the block";
  const std::string_view data = in.substr(pos, length);
  pos += length;
  out.clear();
  // The table-driven decoder: the same result as huffman_decode(), faster.
  if (huffman) return huffman_decode_fast(data, out);
  out.assign(data);
  return "";
}

// Huffman code (Appendix B)
// -------------------------

// Codes are packed most significant bit first; the last byte is filled with the
// high bits of EOS, which are all ones (§5.2).
void huffman_encode(std::string& out, std::string_view s) {
  uint64_t bits = 0;
  int count = 0;  // bits in `bits` not yet written, always < 8 between symbols
  for (char c : s) {
    const HuffmanCode& h = kHuffmanCode[static_cast<uint8_t>(c)];
    bits = bits << h.bits | h.code;
    count += h.bits;
    while (count >= 8) {
      count -= 8;
      out += static_cast<char>(bits >> count & 0xff);
    }
  }
  if (count > 0) out += static_cast<char>((bits << (8 - count) | (0xff >> count)) & 0xff);
}

size_t huffman_length(std::string_view s) {
  size_t bits = 0;
  for (char c : s)
    bits += kHuffmanCode[static_cast<uint8_t>(c)].bits;
  return (bits + 7) / 8;
}

namespace {

// The decoder's view of a canonical code (as in zlib's puff.c): how many codes
// each length has, and the symbols ordered by (length, symbol). Codes of one
// length are consecutive numbers, so a length's codes are recognised with one
// subtraction and compare.
struct Canonical {
  std::array<uint16_t, 31> count{};
  std::array<uint16_t, kHuffmanSymbols> symbols{};
  Canonical() {
    for (const HuffmanCode& h : kHuffmanCode)
      ++count[h.bits];
    std::array<uint16_t, 31> next{};
    for (size_t len = 1; len < 31; ++len)
      next[len] = next[len - 1] + count[len - 1];
    for (uint16_t sym = 0; sym < kHuffmanSymbols; ++sym)
      symbols[next[kHuffmanCode[sym].bits]++] = sym;
  }
};

const Canonical& canonical() {
  static const Canonical c;
  return c;
}

}  // namespace

std::string huffman_decode(std::string_view in, std::string& out) {
  // EXERCISE huffman-decode: walk the code bit by bit; EOS or bad padding is an error
  const Canonical& c = canonical();
  // code: the bits read since the last symbol; first: the smallest code of the
  // current length; index: where that length's symbols start.
  uint32_t code = 0, first = 0, index = 0;
  int len = 0;
  for (char byte : in) {
    for (int bit = 7; bit >= 0; --bit) {
      code |= (static_cast<uint8_t>(byte) >> bit) & 1;
      ++len;
      const uint32_t n = c.count[len];
      if (code - first < n) {
        const uint16_t sym = c.symbols[index + code - first];
        // RFC 7541 §5.2: a string literal containing EOS MUST be a decoding error.
        if (sym == kEos) return "RFC 7541 §5.2: Huffman string contains EOS";
        out += static_cast<char>(sym);
        code = first = index = 0;
        len = 0;
        continue;
      }
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
  }
  // Left over: `len` bits that are not (yet) a symbol: the padding.
  // RFC 7541 §5.2: padding longer than 7 bits MUST be treated as a decoding error.
  if (len > 7) return "RFC 7541 §5.2: Huffman padding longer than 7 bits";
  // RFC 7541 §5.2: padding not matching the most significant bits of EOS (all
  // ones) MUST be treated as a decoding error.
  const uint32_t pad = code >> 1;  // undo the shift made for a next bit
  if (pad != (uint32_t{1} << len) - 1)
    return "RFC 7541 §5.2: Huffman padding is not all ones";
  return "";
  // END EXERCISE huffman-decode
}

// The fast path: four bits at a time
// ----------------------------------
//
// huffman_decode() above walks the code a bit at a time, as a learner writes it:
// ~20 instructions a bit, 1,280 a request under h2load (whose :path comes Huffman
// coded and never indexed). Here the same walk is done once, at start-up, for
// every (place in the code tree, next four bits), and kept in a table, as nghttp2
// and h2o do; decoding is then two lookups a byte (tests/bench/README.md item 16).
// The table is made from kHuffmanCode, and used only when it agrees with
// huffman_decode() on every symbol and on the §5.2 errors (huffman_fast_in_use()):
// huffman_decode() stays the definition, so `make check-2` tests a learner's own.

namespace {

// One step: after these four bits, the walk is at tree node `next` (0 = the
// root, nothing pending); kEmit: a symbol was completed on the way (at most one:
// the shortest code has 5 bits); kFail: the bits completed EOS.
enum : uint8_t { kEmit = 1, kFail = 2 };
struct NibbleStep {
  uint8_t next, flags, symbol;
};

struct NibbleTable {
  // 257 leaves make 256 internal nodes, so a node fits in a byte.
  std::array<std::array<NibbleStep, 16>, 256> step{};
  std::array<uint8_t, 256> depth{};  // bits since the last symbol at that node
  std::array<bool, 256> all_ones{};  // those bits are all ones (EOS's first bits)

  NibbleTable() {
    // The tree: child[n][bit] is an internal node (>= 0) or a leaf, ~symbol (< 0).
    std::array<std::array<int, 2>, 256> child{};
    int nodes = 1;
    all_ones[0] = true;
    for (int sym = 0; sym < static_cast<int>(kHuffmanSymbols); ++sym) {
      const HuffmanCode& h = kHuffmanCode[sym];
      int n = 0;
      for (int i = h.bits - 1; i > 0; --i) {
        const int bit = h.code >> i & 1;
        if (!child[n][bit]) {
          child[n][bit] = nodes;
          depth[nodes] = depth[n] + 1;
          all_ones[nodes] = all_ones[n] && bit;
          ++nodes;
        }
        n = child[n][bit];
      }
      child[n][h.code & 1] = ~sym;
    }
    for (int n = 0; n < 256; ++n)
      for (int nibble = 0; nibble < 16; ++nibble) {
        NibbleStep& s = step[n][nibble];
        int at = n;
        for (int bit = 3; bit >= 0; --bit) {
          const int c = child[at][nibble >> bit & 1];
          if (c >= 0) {
            at = c;
            continue;
          }
          if (~c == kEos) {
            s.flags |= kFail;
            break;
          }
          s.flags |= kEmit;
          s.symbol = static_cast<uint8_t>(~c);
          at = 0;
        }
        s.next = static_cast<uint8_t>(at);
      }
  }
};

const NibbleTable& nibble_table() {
  static const NibbleTable t;
  return t;
}

// The fast decoder proper; huffman_decode_fast() decides whether to use it.
std::string huffman_decode_by_nibbles(std::string_view in, std::string& out) {
  const NibbleTable& t = nibble_table();
  // The shortest code has 5 bits, so n bytes hold at most 8n/5 symbols: room is
  // made once and the symbols written in place (out += c was 170 instructions).
  const size_t start = out.size();
  out.resize(start + in.size() * 8 / 5 + 1);
  char* next = out.data() + start;
  uint8_t at = 0;
  for (char byte : in) {
    for (int nibble : {static_cast<uint8_t>(byte) >> 4, byte & 0x0f}) {
      const NibbleStep& s = t.step[at][nibble];
      // RFC 7541 §5.2: a string literal containing EOS MUST be a decoding error.
      if (s.flags & kFail) {
        out.resize(start);
        return "RFC 7541 §5.2: Huffman string contains EOS";
      }
      if (s.flags & kEmit) *next++ = static_cast<char>(s.symbol);
      at = s.next;
    }
  }
  out.resize(next - out.data());
  // RFC 7541 §5.2: padding longer than 7 bits MUST be treated as a decoding error.
  if (t.depth[at] > 7) return "RFC 7541 §5.2: Huffman padding longer than 7 bits";
  // RFC 7541 §5.2: padding not matching the most significant bits of EOS (all
  // ones) MUST be treated as a decoding error.
  if (!t.all_ones[at]) return "RFC 7541 §5.2: Huffman padding is not all ones";
  return "";
}

// Both decoders on the inputs that tell them apart: every symbol alone and all
// in one string, EOS, and padding too long or not all ones.
bool decoders_agree() {
  std::vector<std::string> inputs = {"\xff\xff\xff\xff", "\xff", "\x18", "\x1f\xff"};
  std::string every;
  for (int c = 0; c < 256; ++c) {
    every += static_cast<char>(c);
    inputs.emplace_back();
    huffman_encode(inputs.back(), std::string(1, static_cast<char>(c)));
  }
  inputs.emplace_back();
  huffman_encode(inputs.back(), every);
  for (const std::string& in : inputs) {
    std::string slow, fast;
    const std::string slow_error = huffman_decode(in, slow);
    const std::string fast_error = huffman_decode_by_nibbles(in, fast);
    if (slow_error != fast_error || (slow_error.empty() && slow != fast)) return false;
  }
  return true;
}

}  // namespace

bool huffman_fast_in_use() {
  static const bool agree = decoders_agree();
  return agree;
}

std::string huffman_decode_fast(std::string_view in, std::string& out) {
  if (!huffman_fast_in_use()) return huffman_decode(in, out);
  return huffman_decode_by_nibbles(in, out);
}

// Tables
// ------

void DynamicTable::evict_to(size_t limit) {
  // RFC 7541 §4.4: entries are evicted from the end (the oldest) until the size
  // fits.
  while (size_ > limit) {
    size_ -= entry_size(entries_.back().name, entries_.back().value);
    entries_.pop_back();
  }
}

void DynamicTable::add(std::string name, std::string value) {
  const size_t size = entry_size(name, value);
  // RFC 7541 §4.4: an entry larger than the maximum size empties the table and
  // is not added; that is not an error.
  evict_to(size > max_size_ ? 0 : max_size_ - size);
  if (size > max_size_) return;
  entries_.push_front(Header{std::move(name), std::move(value)});
  size_ += size;
}

void DynamicTable::set_max_size(size_t max_size) {
  max_size_ = max_size;
  // RFC 7541 §4.3: a smaller maximum evicts entries until the table fits.
  evict_to(max_size);
}

// RFC 7541 §2.3.3: indexes 1-61 are the static table, 62 onwards the dynamic
// table, newest first.
std::string Decoder::field_at(uint64_t index, Header& out) const {
  // RFC 7541 §6.1: the index value of 0 is not used; it MUST be treated as a
  // decoding error.
  if (index == 0) return "RFC 7541 §6.1: index 0";
  if (index <= kStaticTableSize) {
    out.name.assign(kStaticTable[index - 1].name);
    out.value.assign(kStaticTable[index - 1].value);
    return "";
  }
  // RFC 7541 §2.3.3: an index beyond both tables MUST be a decoding error.
  const Header* h = table_.get(index - kStaticTableSize - 1);
  if (!h)
    return "RFC 7541 §2.3.3: index " + std::to_string(index) + " is past the " +
           std::to_string(kStaticTableSize + table_.count()) + " table entries";
  out.name = h->name;
  out.value = h->value;
  return "";
}

// Decoder
// -------

std::string Decoder::decode(std::string_view in, HeaderList& out, size_t max_list_size) {
  size_t pos = 0;
  size_t list_size = 0;
  bool seen_field = false;
  constexpr uint64_t kMaxIndex = 1u << 20;
  out.reserve(out.size() + 8);  // a request's usual count: no growth one at a time
  while (pos < in.size()) {
    const uint8_t b = static_cast<uint8_t>(in[pos]);
    uint64_t n = 0;
    Header h;
    std::string e;
    if (b & 0x80) {
      // RFC 7541 §6.1: Indexed Header Field, 1xxxxxxx, a 7-bit-prefix index.
      if (!(e = decode_integer(in, pos, 7, kMaxIndex, n)).empty()) return e;
      if (!(e = field_at(n, h)).empty()) return e;
    } else if ((b & 0xe0) == 0x20) {
      // RFC 7541 §4.2: a size update MUST occur at the beginning of a block.
      if (seen_field) return "RFC 7541 §4.2: dynamic table size update after a field";
      // RFC 7541 §6.3: Dynamic Table Size Update, 001xxxxx, 5-bit prefix.
      if (!(e = decode_integer(in, pos, 5, uint64_t{1} << 32, n)).empty()) return e;
      // RFC 7541 §6.3: a value above the limit set by the protocol (our
      // SETTINGS_HEADER_TABLE_SIZE) MUST be treated as a decoding error.
      if (n > limit_)
        return "RFC 7541 §6.3: table size update to " + std::to_string(n) +
               " exceeds our SETTINGS_HEADER_TABLE_SIZE " + std::to_string(limit_);
      table_.set_max_size(n);
      continue;
    } else {
      // RFC 7541 §6.2.1: 01xxxxxx, literal with incremental indexing, 6-bit prefix.
      // RFC 7541 §6.2.2: 0000xxxx, literal without indexing, 4-bit prefix.
      // RFC 7541 §6.2.3: 0001xxxx, literal never indexed, 4-bit prefix.
      const bool indexing = (b & 0xc0) == 0x40;
      h.never_indexed = !indexing && (b & 0x10);
      if (!(e = decode_integer(in, pos, indexing ? 6 : 4, kMaxIndex, n)).empty())
        return e;
      // The name: index 0 means a literal name follows, else it is a table's.
      if (n == 0) {
        if (!(e = decode_string(in, pos, h.name)).empty()) return e;
      } else {
        if (!(e = field_at(n, h)).empty()) return e;
      }
      if (!(e = decode_string(in, pos, h.value)).empty()) return e;
      if (indexing) table_.add(h.name, h.value);
    }
    seen_field = true;
    list_size += entry_size(h.name, h.value);
    // Not an HPACK rule but a limit of ours (RFC 9113 §10.5.1); the table is left
    // out of step, so the caller must end the connection.
    if (list_size > max_list_size)
      return "limit: field block decodes to over " + std::to_string(max_list_size) +
             " octets";
    out.push_back(std::move(h));
  }
  return "";
}

// Encoder
// -------

void Encoder::set_peer_limit(size_t peer_limit) {
  const size_t size = std::min(peer_limit, kDefaultTableSize);
  smallest_pending_ = update_pending_ ? std::min(smallest_pending_, size) : size;
  update_pending_ = true;
  target_ = size;
}

// Fields whose values change with every response: indexing them would only
// push useful entries out of the table.
static bool worth_indexing(std::string_view name, std::string_view value,
                           size_t table_max) {
  return name != "content-length" && name != ":path" &&
         entry_size(name, value) <= table_max / 2;
}

static void encode_literal_string(std::string& out, std::string_view s) {
  // Huffman only when it is actually shorter (for "1" it is not).
  encode_string(out, s, huffman_length(s) < s.size());
}

// The first static-table index (1-based) with this name, or 0. A hash lookup
// instead of comparing the name with all 61 entries: the scan was 9% of the
// server's instructions under h2load (tests/bench/README.md). Entries that share
// a name are adjacent in RFC 7541 Appendix A (:status 8-14), so the caller looks
// for the value from there on.
static size_t static_name_index(std::string_view name) {
  static const std::unordered_map<std::string_view, size_t> first = [] {
    std::unordered_map<std::string_view, size_t> m;
    for (size_t i = kStaticTableSize; i-- > 0;)
      m[kStaticTable[i].name] = i + 1;
    return m;
  }();
  auto it = first.find(name);
  return it == first.end() ? 0 : it->second;
}

std::string Encoder::encode(const HeaderList& headers) {
  std::string out;
  begin(out);
  for (const Header& h : headers)
    add(out, h.name, h.value, h.never_indexed);
  return out;
}

void Encoder::begin(std::string& out) {
  // RFC 7541 §4.2: after a change of the maximum size, the next block starts with
  // size updates: the smallest size reached, then the final one.
  if (update_pending_) {
    if (smallest_pending_ < table_.max_size() && smallest_pending_ < target_) {
      encode_integer(out, 0x20, 5, smallest_pending_);
      table_.set_max_size(smallest_pending_);
    }
    if (target_ != table_.max_size()) {
      encode_integer(out, 0x20, 5, target_);
      table_.set_max_size(target_);
    }
    update_pending_ = false;
  }
}

void Encoder::add(std::string& out, std::string_view name, std::string_view value,
                  bool never_indexed) {
  // The dynamic table first: a response's fields are usually there from the
  // response before, which spares the static table's hash lookup. (A field is
  // never in both: one the static table holds whole is not added, §6.1 below.)
  // Walked with the deque's iterator, not get(i): indexing a deque computes its
  // block and offset each time (under h2load this function went from 1,039 to
  // 883 instructions a request, tests/bench/README.md item 16).
  size_t exact = 0, dynamic_name = 0, i = 0;
  for (auto d = table_.begin(); d != table_.end() && !exact; ++d, ++i) {
    if (d->name != name) continue;
    if (!dynamic_name) dynamic_name = kStaticTableSize + 1 + i;
    if (d->value == value) exact = kStaticTableSize + 1 + i;
  }
  // Else a static entry with this name, and this value if there is one.
  size_t name_index = 0;
  if (!exact) {
    name_index = static_name_index(name);
    for (size_t i = name_index; i && i <= kStaticTableSize && !exact; ++i) {
      if (kStaticTable[i - 1].name != name) break;
      if (kStaticTable[i - 1].value == value) exact = i;
    }
    if (!name_index) name_index = dynamic_name;
  }
  if (exact && !never_indexed) {
    encode_integer(out, 0x80, 7, exact);  // §6.1
    return;
  }
  const bool indexing = !never_indexed && worth_indexing(name, value, table_.max_size());
  if (indexing) {
    encode_integer(out, 0x40, 6, name_index);  // §6.2.1
  } else {
    encode_integer(out, never_indexed ? 0x10 : 0x00, 4, name_index);  // §6.2.3, §6.2.2
  }
  if (!name_index) encode_literal_string(out, name);
  encode_literal_string(out, value);
  if (indexing) table_.add(std::string(name), std::string(value));
}

}  // namespace hpack
