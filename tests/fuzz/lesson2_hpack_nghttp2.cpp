// Differential fuzz target: our HPACK decoder (02-http2-push/hpack.h) against
// libnghttp2's inflater, block after block on one table each (input framed as in
// lesson2_hpack.cpp: a knob byte, then 2-byte-length-prefixed blocks). Both are
// told the same SETTINGS_HEADER_TABLE_SIZE: 4096, or (odd knob) 65536; either
// way the table starts at 4096 until the encoder sends a size update (RFC 9113
// §6.5.2, RFC 7541 §6.3). For every block they must agree on whether it decodes and,
// when it does, on the list: names, values, and which fields are never-indexed
// (RFC 7541 §6.2.3). The first block that fails ends the run, as it ends the
// connection (RFC 9113 §4.3).
//
// Where the two may legitimately differ, the difference is named here and
// checked to be that and nothing else:
//   1. RFC 7541 §5.1 lets a decoder limit integer encodings ("Integer encodings
//      that exceed implementation limits"). nghttp2 reads integers into 32 bits
//      and refuses a sixth continuation byte even when it adds only zero bits
//      (shift >= 32); we refuse by value, so we accept e.g. 31 written as
//      3f 80 80 80 80 80 00. When only nghttp2 refuses a block, the block must
//      contain such an integer.
//   2. Our connection also caps a decoded list (SETTINGS_MAX_HEADER_LIST_SIZE,
//      RFC 9113 §10.5.1); nghttp2's inflater has no such cap, so here we decode
//      without one (SIZE_MAX).
//   3. A smaller SETTINGS_HEADER_TABLE_SIZE than 4096 makes nghttp2 insist on a
//      size update at the start of the next block (RFC 7541 §4.2), while our
//      Decoder(limit) starts with a table of that size (as RFC 7541 Appendix
//      C.5 assumes): lenient, never decoding differently. Limits below 4096 are
//      not compared.
// One real disagreement was found here and fixed: Decoder(65536) used to start
// its table at 65536 (tests/unit/lesson2/hpack_fuzz_regressions_test.cpp).
#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "02-http2-push/hpack.h"
#include "hpack_blocks.h"

namespace {

// nghttp2's answer for one whole block: false if it refused it.
bool inflate(nghttp2_hd_inflater* inflater, std::string_view block,
             hpack::HeaderList& out) {
  auto* p = reinterpret_cast<uint8_t*>(const_cast<char*>(block.data()));
  size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, p, left, 1);
    if (n < 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      out.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<char*>(nv.value), nv.valuelen),
                     (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater);
      return true;
    }
    // With in_final set, all input used and no field emitted means FINAL was due.
    check(left > 0 || (flags & NGHTTP2_HD_INFLATE_EMIT));
  }
}

// Exception 1 above: does the block hold an integer with more than five
// continuation bytes, before anything else in it is broken?
bool has_long_integer(std::string_view in) {
  size_t pos = 0;
  // Reads one integer; true if it is one nghttp2 would refuse for its length.
  auto too_long = [&](int prefix, uint64_t& v, bool& broken) {
    const size_t start = pos;
    broken = !hpack::decode_integer(in, pos, prefix, UINT64_MAX, v).empty();
    return !broken && pos - start - 1 > 5;
  };
  auto skip_string = [&](bool& broken) {
    uint64_t n = 0;
    if (too_long(7, n, broken)) return true;
    if (broken || n > in.size() - pos) return broken = true, false;
    pos += n;
    return false;
  };
  while (pos < in.size()) {
    const uint8_t b = static_cast<uint8_t>(in[pos]);
    const int prefix = (b & 0x80)           ? 7
                       : (b & 0xe0) == 0x20 ? 5
                       : (b & 0xc0) == 0x40 ? 6
                                            : 4;
    const bool literal = !(b & 0x80) && (b & 0xe0) != 0x20;
    uint64_t index = 0;
    bool broken = false;
    if (too_long(prefix, index, broken)) return true;
    if (broken) return false;
    if (!literal) continue;
    if (index == 0 && (skip_string(broken) || broken)) return !broken;
    if (skip_string(broken) || broken) return !broken;
  }
  return false;
}

bool same(const hpack::HeaderList& a, const hpack::HeaderList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value ||
        a[i].never_indexed != b[i].never_indexed)
      return false;
  return true;
}

std::string show(const hpack::HeaderList& l) {
  std::string s;
  for (const hpack::Header& h : l)
    s += h.name + ": " + h.value + (h.never_indexed ? " (never indexed)\n" : "\n");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const bool large = in[0] & 1;
  const size_t limit = large ? 65536 : hpack::kDefaultTableSize;
  in.remove_prefix(1);

  hpack::Decoder ours(limit);
  nghttp2_hd_inflater* theirs = nullptr;
  check(nghttp2_hd_inflate_new(&theirs) == 0);
  check(nghttp2_hd_inflate_change_table_size(theirs, limit) == 0);
  for (int blocks = 0; blocks < 64 && !in.empty(); ++blocks) {
    const std::string owned(next_block(in));
    const std::string_view block = owned;
    hpack::HeaderList a, b;
    const std::string e = ours.decode(block, a);
    const bool ok = inflate(theirs, block, b);
    if (e.empty() && !ok) {
      // Exception 1: only an over-long integer may make nghttp2 alone refuse.
      if (has_long_integer(block)) break;
      std::fprintf(stderr, "nghttp2 refused a block we decoded to:\n%s", show(a).c_str());
      std::abort();
    }
    if (!e.empty() && ok) {
      std::fprintf(stderr, "we refused (%s) a block nghttp2 decoded to:\n%s", e.c_str(),
                   show(b).c_str());
      std::abort();
    }
    if (!ok) break;
    if (!same(a, b)) {
      std::fprintf(stderr, "lists differ; ours:\n%snghttp2:\n%s", show(a).c_str(),
                   show(b).c_str());
      std::abort();
    }
  }
  nghttp2_hd_inflate_del(theirs);
  return 0;
}
