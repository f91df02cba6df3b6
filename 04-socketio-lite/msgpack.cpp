// MessagePack decoding and encoding, format by format as the spec lists them.
#include "msgpack.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "socketio.h"

namespace msgpack {

namespace {

struct Decoder {
  std::string_view in;
  const Limits& limits;
  size_t pos = 0;
  std::vector<std::string> buffers;
  std::string error;

  bool have(size_t n) const { return in.size() - pos >= n; }

  // Big-endian unsigned of n bytes at pos; the caller checked have(n).
  uint64_t be(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v = (v << 8) | static_cast<uint8_t>(in[pos + i]);
    pos += n;
    return v;
  }

  bool str(size_t n, json::Value& out) {
    if (!have(n)) return false;
    out = json::Value(std::string(in.substr(pos, n)));
    pos += n;
    return true;
  }

  bool bin(size_t n, json::Value& out) {
    if (!have(n)) return false;
    out = sio::placeholder(buffers.size());
    buffers.emplace_back(in.substr(pos, n));
    pos += n;
    return true;
  }

  bool count_ok(uint64_t n) {
    // Nothing is reserved for the count a peer claims: elements are added as
    // they decode, so a huge count with no bytes behind it is only need_more.
    if (n > limits.max_elements) {
      error = "array/map: " + std::to_string(n) + " elements is over the limit of " +
              std::to_string(limits.max_elements);
      return false;
    }
    return true;
  }

  bool array(uint64_t n, json::Value& out, size_t depth) {
    if (!count_ok(n)) return false;
    json::Array items;
    for (uint64_t i = 0; i < n; ++i) {
      items.emplace_back();
      if (!value(items.back(), depth + 1)) return false;
    }
    out = json::Value(std::move(items));
    return true;
  }

  bool map(uint64_t n, json::Value& out, size_t depth) {
    if (!count_ok(n)) return false;
    json::Object members;
    for (uint64_t i = 0; i < n; ++i) {
      json::Value key, v;
      if (!value(key, depth + 1)) return false;
      if (!key.is_string()) {
        error = "map: a key is not a string (JSON objects have string keys only)";
        return false;
      }
      if (!value(v, depth + 1)) return false;
      members.emplace_back(key.as_string(), std::move(v));
    }
    out = json::Value(std::move(members));
    return true;
  }

  // ext: a type byte and data; no JSON form, so null.
  bool ext(size_t n, json::Value& out) {
    if (!have(n + 1)) return false;
    pos += n + 1;
    out = json::Value();
    return true;
  }

  bool value(json::Value& out, size_t depth) {
    if (depth > limits.max_depth) {
      error = "nesting: deeper than " + std::to_string(limits.max_depth);
      return false;
    }
    if (!have(1)) return false;
    uint8_t b = static_cast<uint8_t>(in[pos++]);
    // The spec's "Formats" table: fixed-size families first, then one byte each.
    if (b <= 0x7f) {  // positive fixint 0xxxxxxx
      out = json::Value(static_cast<int>(b));
      return true;
    }
    if (b >= 0xe0) {  // negative fixint 111xxxxx
      out = json::Value(static_cast<int>(static_cast<int8_t>(b)));
      return true;
    }
    if ((b & 0xf0) == 0x80) return map(b & 0x0f, out, depth);  // fixmap 1000xxxx
    if ((b & 0xf0) == 0x90) return array(b & 0x0f, out, depth);  // fixarray 1001xxxx
    if ((b & 0xe0) == 0xa0) return str(b & 0x1f, out);  // fixstr 101xxxxx
    auto sized = [&](size_t n, uint64_t& v) {
      if (!have(n)) return false;
      v = be(n);
      return true;
    };
    uint64_t v = 0;
    switch (b) {
      case 0xc0:
        out = json::Value();
        return true;
      case 0xc2:
        out = json::Value(false);
        return true;
      case 0xc3:
        out = json::Value(true);
        return true;
      case 0xc4:  // bin 8/16/32: length, then bytes
      case 0xc5:
      case 0xc6:
        return sized(size_t{1} << (b - 0xc4), v) && bin(v, out);
      case 0xc7:  // ext 8/16/32: length, type, data
      case 0xc8:
      case 0xc9:
        return sized(size_t{1} << (b - 0xc7), v) && ext(v, out);
      case 0xca: {  // float 32
        if (!sized(4, v)) return false;
        uint32_t bits = static_cast<uint32_t>(v);
        float f;
        std::memcpy(&f, &bits, 4);
        return number(f, out);
      }
      case 0xcb: {  // float 64
        if (!sized(8, v)) return false;
        double d;
        std::memcpy(&d, &v, 8);
        return number(d, out);
      }
      case 0xcc:  // uint 8/16/32/64
      case 0xcd:
      case 0xce:
      case 0xcf:
        if (!sized(size_t{1} << (b - 0xcc), v)) return false;
        out = json::Value(static_cast<double>(v));
        return true;
      case 0xd0:  // int 8/16/32/64: two's complement, big-endian
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        size_t n = size_t{1} << (b - 0xd0);
        if (!sized(n, v)) return false;
        int64_t s = n == 8 ? static_cast<int64_t>(v)
                           : static_cast<int64_t>(v << (64 - 8 * n)) >> (64 - 8 * n);
        out = json::Value(static_cast<double>(s));
        return true;
      }
      case 0xd4:  // fixext 1/2/4/8/16
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return ext(size_t{1} << (b - 0xd4), out);
      case 0xd9:  // str 8/16/32
      case 0xda:
      case 0xdb:
        return sized(size_t{1} << (b - 0xd9), v) && str(v, out);
      case 0xdc:  // array 16/32
      case 0xdd:
        return sized(size_t{2} << (b - 0xdc), v) && array(v, out, depth);
      case 0xde:  // map 16/32
      case 0xdf:
        return sized(size_t{2} << (b - 0xde), v) && map(v, out, depth);
      default:  // 0xc1 "never used"
        error = "format: 0xc1 is never used";
        return false;
    }
  }

  // JSON has no NaN or Infinity: JSON.stringify writes null for them.
  bool number(double d, json::Value& out) {
    out = std::isfinite(d) ? json::Value(d) : json::Value();
    return true;
  }
};

void put_be(std::string& out, uint8_t format, uint64_t v, size_t n) {
  out += static_cast<char>(format);
  for (size_t i = n; i-- > 0;)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The shortest header for a length: fix form when it fits, then 8/16/32 bits.
// str8 exists, array8 and map8 do not (first8 = 0 for those).
void put_length(std::string& out, size_t n, uint8_t fix, size_t fix_max, uint8_t first8,
                uint8_t first16) {
  if (n <= fix_max && fix)
    out += static_cast<char>(fix | n);
  else if (n <= 0xff && first8)
    put_be(out, first8, n, 1);
  else if (n <= 0xffff)
    put_be(out, first16, n, 2);
  else
    put_be(out, first16 + 1, n, 4);
}

void put_number(std::string& out, double d) {
  if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
    auto i = static_cast<int64_t>(d);
    if (i >= 0) {
      if (i <= 0x7f) return void(out += static_cast<char>(i));
      if (i <= 0xff) return put_be(out, 0xcc, i, 1);
      if (i <= 0xffff) return put_be(out, 0xcd, i, 2);
      if (i <= 0xffffffffLL) return put_be(out, 0xce, i, 4);
      return put_be(out, 0xcf, i, 8);
    }
    if (i >= -32) return void(out += static_cast<char>(static_cast<int8_t>(i)));
    if (i >= -128) return put_be(out, 0xd0, static_cast<uint8_t>(i), 1);
    if (i >= -32768) return put_be(out, 0xd1, static_cast<uint16_t>(i), 2);
    if (i >= -2147483648LL) return put_be(out, 0xd2, static_cast<uint32_t>(i), 4);
    return put_be(out, 0xd3, static_cast<uint64_t>(i), 8);
  }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  put_be(out, 0xcb, bits, 8);
}

void put(std::string& out, const json::Value& v,
         const std::vector<std::string>& buffers) {
  switch (v.type()) {
    case json::Value::Type::null:
      out += '\xc0';
      return;
    case json::Value::Type::boolean:
      out += v.as_bool() ? '\xc3' : '\xc2';
      return;
    case json::Value::Type::number:
      return put_number(out, v.as_number());
    case json::Value::Type::string:
      put_length(out, v.as_string().size(), 0xa0, 31, 0xd9, 0xda);
      out += v.as_string();
      return;
    case json::Value::Type::array:
      put_length(out, v.as_array().size(), 0x90, 15, 0, 0xdc);
      for (const auto& item : v.as_array())
        put(out, item, buffers);
      return;
    case json::Value::Type::object: {
      if (auto num = sio::placeholder_num(v); num && *num < buffers.size()) {
        const std::string& bytes = buffers[*num];
        put_length(out, bytes.size(), 0, 0, 0xc4, 0xc5);
        out += bytes;
        return;
      }
      put_length(out, v.as_object().size(), 0x80, 15, 0, 0xde);
      for (const auto& [key, item] : v.as_object()) {
        put_length(out, key.size(), 0xa0, 31, 0xd9, 0xda);
        out += key;
        put(out, item, buffers);
      }
      return;
    }
  }
}

}  // namespace

Result decode(std::string_view bytes, const Limits& limits) {
  Decoder d{bytes, limits, 0, {}, {}};
  Result r;
  json::Value v;
  if (d.value(v, 0)) {
    r.status = Status::done;
    r.consumed = d.pos;
    r.value = std::move(v);
    r.buffers = std::move(d.buffers);
  } else if (!d.error.empty()) {
    r.status = Status::error;
    r.error = std::move(d.error);
  }
  return r;
}

std::string encode(const json::Value& value, const std::vector<std::string>& buffers) {
  std::string out;
  put(out, value, buffers);
  return out;
}

}  // namespace msgpack
