// HPACK edges met while fuzzing our decoder against libnghttp2's
// (tests/fuzz/lesson2_hpack_nghttp2.cpp), each decoded by both so that a change
// on either side shows here first: the cases where RFC 7541 leaves no choice
// (both agree); the one implementation limit where they legitimately differ and
// the fuzz target makes an explicit exception; and, last, the one real
// disagreement the fuzz target found in our decoder (it fails until hpack.h's
// Decoder starts its table at 4096 whatever the limit).
#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

#include "02-http2-push/hpack.h"

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b)
    s += static_cast<char>(c);
  return s;
}

// One connection's blocks through both decoders; "ok"/"error" per block, and the
// lists, which must be the same whenever both decoded.
struct Both {
  hpack::Decoder ours;
  nghttp2_hd_inflater* theirs = nullptr;
  Both() { REQUIRE(nghttp2_hd_inflate_new(&theirs) == 0); }
  ~Both() { nghttp2_hd_inflate_del(theirs); }
  Both(const Both&) = delete;
  Both& operator=(const Both&) = delete;

  // Returns {ours decoded, nghttp2 decoded}.
  std::pair<bool, bool> decode(const std::string& block, hpack::HeaderList& out) {
    out.clear();
    const bool a = ours.decode(block, out).empty();
    hpack::HeaderList b;
    auto* p = reinterpret_cast<uint8_t*>(const_cast<char*>(block.data()));
    size_t left = block.size();
    bool ok = false;
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t n = nghttp2_hd_inflate_hd2(theirs, &nv, &flags, p, left, 1);
      if (n < 0) break;
      p += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT)
        b.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<char*>(nv.value), nv.valuelen),
                     (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(theirs);
        ok = true;
        break;
      }
      if (left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) break;
    }
    if (a && ok) {
      REQUIRE(out.size() == b.size());
      for (size_t i = 0; i < b.size(); ++i) {
        CHECK(out[i].name == b[i].name);
        CHECK(out[i].value == b[i].value);
        CHECK(out[i].never_indexed == b[i].never_indexed);
      }
    }
    return {a, ok};
  }
};

}  // namespace

TEST_SUITE_BEGIN("hpack fuzz regressions");

TEST_CASE("both: a new entry may name the entry its insertion evicts (RFC 7541 §4.4)") {
  Both d;
  hpack::HeaderList l;
  // Table size 64 (§6.3), then "a: 0123456789abcdef" (1 + 16 + 32 = 49), then a literal
  // with indexing named by index 62 (that entry) whose insertion evicts it.
  std::string block = bytes({0x3f, 0x21, 0x40, 0x01, 'a', 0x10});
  block += "0123456789abcdef";
  block += bytes({0x7e, 0x10});
  block += "fedcba9876543210";
  block += bytes({0xbe});
  CHECK(d.decode(block, l) == std::pair{true, true});
  REQUIRE(l.size() == 3);
  CHECK(l[2].name == "a");
  CHECK(l[2].value == "fedcba9876543210");
}

TEST_CASE(
    "both: an entry exactly the table's size fits; one octet more empties it (§4.4)") {
  Both d;
  hpack::HeaderList l;
  // Size 40: "ab: cdefgh" is 2 + 6 + 32 = 40 and fits; "ab: cdefghi" (41) does
  // not, so the table is emptied and index 62 no longer exists.
  CHECK(d.decode(bytes({0x3f, 0x09, 0x40, 0x02, 'a', 'b', 0x06, 'c', 'd', 'e', 'f', 'g',
                        'h', 0xbe}),
                 l) == std::pair{true, true});
  l.clear();
  CHECK(d.decode(
            bytes({0x40, 0x02, 'a', 'b', 0x07, 'c', 'd', 'e', 'f', 'g', 'h', 'i', 0xbe}),
            l) == std::pair{false, false});
}

TEST_CASE("both: size updates only at the start of a block, as many as wanted (§4.2)") {
  Both d;
  hpack::HeaderList l;
  CHECK(d.decode(bytes({0x20, 0x3f, 0xe1, 0x1f, 0x82}), l) == std::pair{true, true});
  CHECK(d.decode(bytes({0x3f, 0x01, 0x82}), l) == std::pair{true, true});
  CHECK(d.decode(bytes({0x82, 0x20}), l) == std::pair{false, false});
}

TEST_CASE("both: Huffman padding of 8 bits, or not all ones, is refused (§5.2)") {
  Both d;
  hpack::HeaderList l;
  // "a" is 00011 (5 bits); 111 pads it to a byte: 0x1f. 0x1f 0xff is 8 more bits.
  CHECK(d.decode(bytes({0x00, 0x01, 'x', 0x81, 0x1f}), l) == std::pair{true, true});
  CHECK(d.decode(bytes({0x00, 0x01, 'x', 0x82, 0x1f, 0xff}), l) ==
        std::pair{false, false});
  Both e;
  CHECK(e.decode(bytes({0x00, 0x01, 'x', 0x81, 0x1e}), l) == std::pair{false, false});
}

TEST_CASE(
    "both: a never-indexed literal stays marked, even with an indexed name (§6.2.3)") {
  Both d;
  hpack::HeaderList l;
  // 0x1f 0x11: never indexed, name index 15 + 17 = 32 ("cookie").
  CHECK(d.decode(bytes({0x1f, 0x11, 0x02, 'i', 'd'}), l) == std::pair{true, true});
  REQUIRE(l.size() == 1);
  CHECK(l[0].name == "cookie");
  CHECK(l[0].never_indexed);
}

TEST_CASE("the one difference: integers with more than five continuation octets (§5.1)") {
  // RFC 7541 §5.1 lets a decoder refuse integer encodings past its limits.
  // nghttp2 reads 32 bits and refuses a sixth continuation octet even when it
  // only adds zero bits; we refuse by value. Five are fine for both. Here: a
  // table size update (001xxxxx) to 31, written long, then :method GET.
  Both d;
  hpack::HeaderList l;
  CHECK(d.decode(bytes({0x3f, 0x80, 0x80, 0x80, 0x80, 0x00, 0x82}), l) ==
        std::pair{true, true});
  Both e;
  CHECK(e.decode(bytes({0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x82}), l) ==
        std::pair{true, false});
}

TEST_CASE(
    "a larger SETTINGS_HEADER_TABLE_SIZE does not grow the table by itself (RFC 9113 "
    "§6.5.2, RFC 7541 §6.3)") {
  // Found by the differential fuzz target. We advertise 65536, but the table
  // stays at the initial 4096 octets until the encoder says otherwise with a
  // size update; nghttp2 (nghttp2_hd_inflate_change_table_size) keeps it so.
  // 100 entries of 43 octets (":authority: 0".."9") are 4300 octets, so the
  // oldest (index 161) is evicted by the encoder's 4096-octet table and a
  // reference to it must fail. Decoder(65536) used to start at 65536 and kept it.
  std::string adds;
  for (int i = 0; i < 100; ++i)
    adds += bytes({0x41, 0x01, '0' + i % 10});
  const std::string oldest = bytes({0xff, 0x22});  // 127 + 34 = 161
  {
    hpack::Decoder d(65536);
    hpack::HeaderList l;
    CHECK_MESSAGE(!d.decode(adds + oldest, l).empty(),
                  "index 161 names an entry a 4096-octet table has evicted");
    CHECK(d.table().max_size() == hpack::kDefaultTableSize);
  }
  {
    // With the size update to 65536 first, the table is that large: both decode.
    Both d;
    REQUIRE(nghttp2_hd_inflate_change_table_size(d.theirs, 65536) == 0);
    d.ours = hpack::Decoder(65536);
    hpack::HeaderList l;
    CHECK(d.decode(bytes({0x3f, 0xe1, 0xff, 0x03}) + adds + oldest, l) ==
          std::pair{true, true});
    CHECK(l.size() == 101);
  }
}
