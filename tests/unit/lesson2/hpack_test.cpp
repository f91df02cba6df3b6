// HPACK (RFC 7541): the Appendix C examples as the RFC prints them, the integer
// and Huffman edges, and a cross-check against Debian's libnghttp2.
#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "02-http2-push/hpack.h"

using namespace hpack;

namespace {

// Bytes written as spaced hex, the way the RFC prints them: "8286 8441".
std::string hex(std::string_view spaced) {
  std::string digits;
  for (char c : spaced)
    if (c != ' ' && c != '\n') digits += c;
  std::string out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  return out;
}

struct Field {
  std::string name, value;
};

void check_fields(const HeaderList& got, const std::vector<Field>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].name == want[i].name);
    CHECK(got[i].value == want[i].value);
  }
}

// The dynamic table, newest first, as each example lists it, and its size.
void check_table(const DynamicTable& t, const std::vector<Field>& want, size_t size) {
  REQUIRE(t.count() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(t.get(i)->name == want[i].name);
    CHECK(t.get(i)->value == want[i].value);
  }
  CHECK(t.size() == size);
}

void decode_ok(Decoder& d, const std::string& block, const std::vector<Field>& want) {
  HeaderList got;
  std::string e = d.decode(block, got);
  REQUIRE_MESSAGE(e.empty(), e);
  check_fields(got, want);
}

HeaderList list(const std::vector<Field>& fields) {
  HeaderList out;
  for (const Field& f : fields)
    out.push_back({f.name, f.value});
  return out;
}

const std::vector<Field> kRequest1 = {{":method", "GET"},
                                      {":scheme", "http"},
                                      {":path", "/"},
                                      {":authority", "www.example.com"}};
const std::vector<Field> kRequest2 = {{":method", "GET"},
                                      {":scheme", "http"},
                                      {":path", "/"},
                                      {":authority", "www.example.com"},
                                      {"cache-control", "no-cache"}};
const std::vector<Field> kRequest3 = {{":method", "GET"},
                                      {":scheme", "https"},
                                      {":path", "/index.html"},
                                      {":authority", "www.example.com"},
                                      {"custom-key", "custom-value"}};
const std::vector<Field> kResponse1 = {{":status", "302"},
                                       {"cache-control", "private"},
                                       {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                       {"location", "https://www.example.com"}};
const std::vector<Field> kResponse2 = {{":status", "307"},
                                       {"cache-control", "private"},
                                       {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                       {"location", "https://www.example.com"}};
const std::vector<Field> kResponse3 = {
    {":status", "200"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:22 GMT"},
    {"location", "https://www.example.com"},
    {"content-encoding", "gzip"},
    {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"}};

}  // namespace

TEST_SUITE_BEGIN("hpack");

TEST_CASE("C.1.1 encoding 10 using a 5-bit prefix") {
  std::string out;
  encode_integer(out, 0, 5, 10);
  CHECK(out == hex("0a"));
  size_t pos = 0;
  uint64_t v = 0;
  CHECK(decode_integer(out, pos, 5, 1 << 20, v).empty());
  CHECK(v == 10);
}

TEST_CASE("C.1.2 encoding 1337 using a 5-bit prefix") {
  std::string out;
  encode_integer(out, 0, 5, 1337);
  CHECK(out == hex("1f 9a 0a"));
  size_t pos = 0;
  uint64_t v = 0;
  CHECK(decode_integer(out, pos, 5, 1 << 20, v).empty());
  CHECK(v == 1337);
  CHECK(pos == 3);
}

TEST_CASE("C.1.3 encoding 42 starting at an octet boundary") {
  std::string out;
  encode_integer(out, 0, 8, 42);
  CHECK(out == hex("2a"));
}

TEST_CASE("integer edges (§5.1)") {
  for (int prefix = 1; prefix <= 8; ++prefix) {
    const uint64_t limit = (uint64_t{1} << prefix) - 1;
    for (uint64_t v : {uint64_t{0}, limit - 1, limit, limit + 1, uint64_t{127} + limit,
                       uint64_t{128} + limit, uint64_t{0xffffffff}}) {
      std::string out;
      encode_integer(out, 0, prefix, v);
      size_t pos = 0;
      uint64_t got = 0;
      CHECK(decode_integer(out, pos, prefix, 0xffffffff, got).empty());
      CHECK(got == v);
      CHECK(pos == out.size());
      // Every shorter prefix of the bytes is an error (the block ended).
      for (size_t n = 0; n < out.size(); ++n) {
        size_t p = 0;
        CHECK(!decode_integer(std::string_view(out).substr(0, n), p, prefix, 0xffffffff,
                              got)
                   .empty());
      }
    }
  }
  size_t pos = 0;
  uint64_t v = 0;
  // One past the maximum is refused, and so is an endless run of 0x80 bytes
  // (zero-valued continuation bytes that would shift past 64 bits).
  std::string over;
  encode_integer(over, 0, 5, 1001);
  CHECK(decode_integer(over, pos, 5, 1000, v).find("§5.1") != std::string::npos);
  pos = 0;
  CHECK(!decode_integer(hex("1f 80 80 80 80 80 80 80 80 80 80 01"), pos, 5,
                        UINT64_MAX / 2, v)
             .empty());
  pos = 0;
  CHECK(
      !decode_integer(hex("1f ff ff ff ff ff ff ff ff ff 7f"), pos, 5, UINT64_MAX / 2, v)
           .empty());
}

TEST_CASE("C.2.1 literal header field with indexing") {
  Decoder d;
  decode_ok(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
            {{"custom-key", "custom-header"}});
  check_table(d.table(), {{"custom-key", "custom-header"}}, 55);
}

TEST_CASE("C.2.2 literal header field without indexing") {
  Decoder d;
  decode_ok(d, hex("040c 2f73 616d 706c 652f 7061 7468"), {{":path", "/sample/path"}});
  check_table(d.table(), {}, 0);
}

TEST_CASE("C.2.3 literal header field never indexed") {
  Decoder d;
  HeaderList got;
  CHECK(d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), got).empty());
  check_fields(got, {{"password", "secret"}});
  CHECK(got[0].never_indexed);
  check_table(d.table(), {}, 0);
}

TEST_CASE("C.2.4 indexed header field") {
  Decoder d;
  decode_ok(d, hex("82"), {{":method", "GET"}});
  check_table(d.table(), {}, 0);
}

TEST_CASE("C.3 request examples without Huffman coding") {
  Decoder d;
  // C.3.1 First Request
  decode_ok(d, hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), kRequest1);
  check_table(d.table(), {{":authority", "www.example.com"}}, 57);
  // C.3.2 Second Request
  decode_ok(d, hex("8286 84be 5808 6e6f 2d63 6163 6865"), kRequest2);
  check_table(d.table(),
              {{"cache-control", "no-cache"}, {":authority", "www.example.com"}}, 110);
  // C.3.3 Third Request
  decode_ok(
      d, hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"),
      kRequest3);
  check_table(d.table(),
              {{"custom-key", "custom-value"},
               {"cache-control", "no-cache"},
               {":authority", "www.example.com"}},
              164);
}

const char* const kC41 = "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff";
const char* const kC42 = "8286 84be 5886 a8eb 1064 9cbf";
const char* const kC43 = "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf";

TEST_CASE("C.4 request examples with Huffman coding") {
  Decoder d;
  // C.4.1 First Request
  decode_ok(d, hex(kC41), kRequest1);
  check_table(d.table(), {{":authority", "www.example.com"}}, 57);
  // C.4.2 Second Request
  decode_ok(d, hex(kC42), kRequest2);
  check_table(d.table(),
              {{"cache-control", "no-cache"}, {":authority", "www.example.com"}}, 110);
  // C.4.3 Third Request
  decode_ok(d, hex(kC43), kRequest3);
  check_table(d.table(),
              {{"custom-key", "custom-value"},
               {"cache-control", "no-cache"},
               {":authority", "www.example.com"}},
              164);
}

TEST_CASE("C.4 our encoder writes the RFC's bytes") {
  Encoder e;
  CHECK(e.encode(list(kRequest1)) == hex(kC41));
  CHECK(e.encode(list(kRequest2)) == hex(kC42));
  CHECK(e.encode(list(kRequest3)) == hex(kC43));
}

// RFC 7541 §6.1: a field that is in the static table is sent as its index alone,
// and the index is the entry's own (Appendix A), even where names repeat
// (:method 2-3, :path 4-5, :status 8-14). The encoder finds the name by a hash
// lookup, then the value among the entries that follow.
TEST_CASE("RFC 7541 §6.1: every static-table entry is encoded as its own index") {
  for (size_t i = 0; i < kStaticTableSize; ++i) {
    CAPTURE(i + 1);
    Encoder e;
    std::string out = e.encode(
        {{std::string(kStaticTable[i].name), std::string(kStaticTable[i].value)}});
    REQUIRE(out.size() == 1);
    CHECK(static_cast<uint8_t>(out[0]) == (0x80 | (i + 1)));
  }
}

// RFC 7541 §6.2.1: a name in the static table with another value refers to the
// name's first index; 201 is not one of :status's values, so 8 (":status 200").
TEST_CASE("RFC 7541 §6.2.1: a static name with a new value uses the name's first index") {
  Encoder e;
  std::string out = e.encode({{":status", "201"}});
  REQUIRE(out.size() >= 2);
  CHECK(static_cast<uint8_t>(out[0]) == (0x40 | 8));
  Decoder d(4096);
  HeaderList back;
  CHECK(d.decode(out, back) == "");
  REQUIRE(back.size() == 1);
  CHECK(back[0].name == ":status");
  CHECK(back[0].value == "201");
}

TEST_CASE("C.5 response examples without Huffman coding (table size 256)") {
  Decoder d(256);
  // C.5.1 First Response
  decode_ok(
      d,
      hex("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 "
          "3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 "
          "7861 6d70 6c65 2e63 6f6d"),
      kResponse1);
  check_table(d.table(),
              {{"location", "https://www.example.com"},
               {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
               {"cache-control", "private"},
               {":status", "302"}},
              222);
  // C.5.2 Second Response: ":status: 302" is evicted to make room.
  decode_ok(d, hex("4803 3330 37c1 c0bf"), kResponse2);
  check_table(d.table(),
              {{":status", "307"},
               {"location", "https://www.example.com"},
               {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
               {"cache-control", "private"}},
              222);
  // C.5.3 Third Response: several entries evicted.
  decode_ok(
      d,
      hex("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 "
          "474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 "
          "454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 "
          "6572 7369 6f6e 3d31"),
      kResponse3);
  check_table(d.table(),
              {{"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
               {"content-encoding", "gzip"},
               {"date", "Mon, 21 Oct 2013 20:13:22 GMT"}},
              215);
}

TEST_CASE("C.6 response examples with Huffman coding (table size 256)") {
  Decoder d(256);
  // C.6.1 First Response
  decode_ok(
      d,
      hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 "
          "82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
      kResponse1);
  CHECK(d.table().size() == 222);
  // C.6.2 Second Response
  decode_ok(d, hex("4883 640e ffc1 c0bf"), kResponse2);
  CHECK(d.table().size() == 222);
  CHECK(d.table().get(0)->value == "307");
  // C.6.3 Third Response
  decode_ok(
      d,
      hex("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b "
          "d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 "
          "0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"),
      kResponse3);
  check_table(d.table(),
              {{"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
               {"content-encoding", "gzip"},
               {"date", "Mon, 21 Oct 2013 20:13:22 GMT"}},
              215);
}

TEST_CASE("Appendix B: the code is canonical and complete") {
  // Sorted by (length, symbol), each code is the previous plus one, shifted to
  // the new length; the last is all ones (EOS, 30 bits).
  std::vector<std::pair<int, int>> order;
  for (int s = 0; s < static_cast<int>(kHuffmanSymbols); ++s)
    order.push_back({kHuffmanCode[s].bits, s});
  std::sort(order.begin(), order.end());
  uint64_t code = 0;
  int len = order[0].first;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i) code = (code + 1) << (order[i].first - len);
    len = order[i].first;
    CHECK(kHuffmanCode[order[i].second].code == code);
  }
  CHECK(kHuffmanCode[kEos].code == 0x3fffffff);
  CHECK(kHuffmanCode[kEos].bits == 30);
}

TEST_CASE("Huffman round trip of all 256 byte values") {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); ++n) {
    // Every length, so every amount of padding (0-7 bits) occurs.
    const std::string s = all.substr(all.size() - n);
    std::string coded, back;
    huffman_encode(coded, s);
    CHECK(coded.size() == huffman_length(s));
    REQUIRE(huffman_decode(coded, back).empty());
    CHECK(back == s);
  }
}

TEST_CASE("Huffman padding and EOS rules (§5.2)") {
  std::string out;
  // "a" is 00011 (5 bits); padding 111 completes the byte.
  CHECK(huffman_decode(hex("1f"), out).empty());
  CHECK(out == "a");
  out.clear();
  // Padding of zeros is not the EOS prefix.
  CHECK(huffman_decode(hex("18"), out).find("not all ones") != std::string::npos);
  // A whole byte of ones after "a"'s byte: padding longer than 7 bits.
  out.clear();
  CHECK(huffman_decode(hex("1f ff"), out).find("longer than 7") != std::string::npos);
  // EOS itself (30 ones) inside the string.
  out.clear();
  CHECK(huffman_decode(hex("ff ff ff ff"), out).find("EOS") != std::string::npos);
}

TEST_CASE("RFC 7541 §5.2: the table-driven Huffman decoder agrees with huffman_decode") {
  // The start-up check passed, so decode_string() uses the fast decoder.
  CHECK(huffman_fast_in_use());
  auto same = [](const std::string& in) {
    std::string slow, fast;
    const std::string slow_error = huffman_decode(in, slow);
    const std::string fast_error = huffman_decode_fast(in, fast);
    CHECK(fast_error == slow_error);
    if (slow_error.empty()) CHECK(fast == slow);
    return slow_error.empty();
  };
  // Every symbol alone and after each amount of padding left by another.
  for (int c = 0; c < 256; ++c)
    for (int before : {-1, int{'a'}, int{'0'}, 0xff}) {
      std::string s, coded;
      if (before >= 0) s += static_cast<char>(before);
      s += static_cast<char>(c);
      huffman_encode(coded, s);
      CAPTURE(c);
      CHECK(same(coded));
    }
  // Random strings, coded (valid) and random bytes (mostly invalid padding or EOS).
  std::mt19937 rng(16);
  int valid = 0, invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s)
      c = static_cast<char>(i % 2 ? rng() % 256 : 'a' + rng() % 26);
    std::string coded;
    huffman_encode(coded, s);
    CHECK(same(coded));
    (same(s) ? valid : invalid) += 1;
  }
  // Both kinds occurred, so both the results and the errors were compared.
  CHECK(valid > 0);
  CHECK(invalid > 0);
  std::string out;
  CHECK(huffman_decode_fast(hex("ff ff ff ff"), out).find("EOS") != std::string::npos);
  CHECK(huffman_decode_fast(hex("18"), out).find("not all ones") != std::string::npos);
}

TEST_CASE("decoder errors (§2.3.3, §6.1, §6.3, §4.2, §5.2)") {
  auto error = [](const std::string& block, size_t limit = 4096) {
    Decoder d(limit);
    HeaderList got;
    return d.decode(block, got);
  };
  CHECK(error(hex("80")).find("§6.1") != std::string::npos);  // index 0
  CHECK(error(hex("be")).find("§2.3.3") != std::string::npos);  // 62, table empty
  CHECK(error(hex("ff 80 01")).find("§2.3.3") != std::string::npos);  // far past
  // A size update to 4097, above our SETTINGS_HEADER_TABLE_SIZE of 4096.
  CHECK(error(hex("3f e2 1f")).find("§6.3") != std::string::npos);
  CHECK(error(hex("3f e1 1f")).empty());  // 4096 itself is fine
  // A size update after a field.
  CHECK(error(hex("82 20")).find("§4.2") != std::string::npos);
  // A string longer than the block.
  CHECK(error(hex("40 05 61 62")).find("§5.2") != std::string::npos);
  // A Huffman string with bad padding, as a literal value.
  CHECK(error(hex("40 81 61 81 18")).find("§5.2") != std::string::npos);
  // Ends in the middle of a representation.
  CHECK(!error(hex("40")).empty());
  CHECK(!error(hex("40 01 61")).empty());
}

TEST_CASE("a block that expands past max_list_size is refused (an HPACK bomb)") {
  Encoder e;
  HeaderList big = {{"x-a", std::string(1000, 'a')}};
  std::string block = e.encode(big);  // added to the table
  for (int i = 0; i < 100; ++i)
    block += e.encode(big);  // then 1 byte each
  CHECK(block.size() < 1200);
  Decoder d;
  HeaderList got;
  CHECK(d.decode(block, got, 10000).rfind("limit:", 0) == 0);
  Decoder whole;
  got.clear();
  CHECK(whole.decode(block, got).empty());
  CHECK(got.size() == 101);
}

TEST_CASE("dynamic table eviction and size updates (§4.3, §4.4)") {
  DynamicTable t(100);
  t.add("aaaa", "bbbb");  // 40
  t.add("cccc", "dddd");  // 40
  CHECK(t.size() == 80);
  t.add("eeee", "ffff");  // 40: the oldest goes
  CHECK(t.count() == 2);
  CHECK(t.get(1)->name == "cccc");
  CHECK(t.size() == 80);
  // An entry larger than the table empties it and is not added (§4.4).
  t.add(std::string(100, 'x'), "");
  CHECK(t.count() == 0);
  CHECK(t.size() == 0);
  t.add("aaaa", "bbbb");
  t.add("cccc", "dddd");
  t.set_max_size(50);
  CHECK(t.count() == 1);
  CHECK(t.get(0)->name == "cccc");
  t.set_max_size(0);
  CHECK(t.count() == 0);
}

TEST_CASE("encoder: a smaller peer table is announced at the next block (§4.2, §6.3)") {
  Encoder e;
  e.set_peer_limit(0);
  e.set_peer_limit(100);
  const std::string block = e.encode({{"x-a", "1"}});
  // 001 00000 (size 0), then 001 11111 0x45 (size 100), then the field.
  CHECK(block.substr(0, 4) == hex("20 3f 45 40"));
  Decoder d;
  HeaderList got;
  CHECK(d.decode(block, got).empty());
  CHECK(d.table().max_size() == 100);
  CHECK(e.table().max_size() == 100);
}

// The cross-check: libnghttp2 (a real peer's HPACK, used only in this test)
// decodes what we encode, and we decode what it encodes, for random field lists
// over one long connection each way, so both dynamic tables are exercised.
namespace {

std::string random_text(std::mt19937& rng, size_t max, bool name) {
  std::uniform_int_distribution<size_t> len(name ? 1 : 0, max);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string token = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s;
  for (size_t i = len(rng); i > 0; --i) {
    if (name)
      s += token[static_cast<size_t>(byte(rng)) % token.size()];
    else
      s += static_cast<char>(byte(rng) % 4 ? 0x20 + byte(rng) % 95 : byte(rng));
  }
  return s;
}

HeaderList random_list(std::mt19937& rng) {
  static const std::vector<Field> common = {{":method", "GET"},
                                            {":path", "/messages"},
                                            {"content-type", "application/json"},
                                            {"accept", "*/*"},
                                            {"user-agent", "curl/8"}};
  HeaderList out;
  std::uniform_int_distribution<int> n(0, 12), pick(0, 9);
  for (int i = n(rng); i > 0; --i) {
    const int p = pick(rng);
    if (p < 4) {
      const Field& f = common[static_cast<size_t>(p + pick(rng)) % common.size()];
      out.push_back({f.name, f.value});
    } else {
      out.push_back(
          {random_text(rng, 20, true), random_text(rng, p == 9 ? 300 : 30, false)});
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cross-check: libnghttp2 decodes our blocks") {
  nghttp2_hd_inflater* inflater = nullptr;
  REQUIRE(nghttp2_hd_inflate_new(&inflater) == 0);
  Encoder e;
  std::mt19937 rng(7541);
  for (int round = 0; round < 300; ++round) {
    const HeaderList fields = random_list(rng);
    const std::string block = e.encode(fields);
    HeaderList got;
    auto* in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
      REQUIRE(n >= 0);
      in += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT)
        got.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<char*>(nv.value), nv.valuelen)});
      if (flags & NGHTTP2_HD_INFLATE_FINAL) break;
    }
    nghttp2_hd_inflate_end_headers(inflater);
    REQUIRE(got.size() == fields.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].name == fields[i].name);
      CHECK(got[i].value == fields[i].value);
    }
  }
  nghttp2_hd_inflate_del(inflater);
}

TEST_CASE("cross-check: we decode libnghttp2's blocks") {
  nghttp2_hd_deflater* deflater = nullptr;
  REQUIRE(nghttp2_hd_deflate_new(&deflater, 4096) == 0);
  Decoder d;
  std::mt19937 rng(9113);
  for (int round = 0; round < 300; ++round) {
    const HeaderList fields = random_list(rng);
    std::vector<nghttp2_nv> nva;
    for (const Header& h : fields)
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())),
                     h.name.size(), h.value.size(), NGHTTP2_NV_FLAG_NONE});
    std::string block(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
    const ssize_t n =
        nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(block.data()),
                              block.size(), nva.data(), nva.size());
    REQUIRE(n >= 0);
    block.resize(static_cast<size_t>(n));
    HeaderList got;
    const std::string e = d.decode(block, got);
    REQUIRE_MESSAGE(e.empty(), e);
    REQUIRE(got.size() == fields.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].name == fields[i].name);
      CHECK(got[i].value == fields[i].value);
    }
  }
  nghttp2_hd_deflate_del(deflater);
}

TEST_SUITE_END();
