// MessagePack (github.com/msgpack/msgpack/blob/master/spec.md), the small part the
// Redis streams adapter needs: its pub/sub requests and responses are msgpack
// maps, and a broadcast that carries binary is base64 of msgpack on the stream.
//
// Values are JSON values (common/json.h) plus binary: a msgpack "bin" becomes a
// placeholder {"_placeholder":true,"num":N} and its bytes buffers[N], the same
// shape sio::Args uses, so a binary argument passes through without a copy of
// the tree. Encoding turns placeholders back into bin.
//
//   decode() returns done (bytes consumed, value, buffers), need_more (a prefix
//   of a value) or error (the rule broken). What JSON cannot hold is refused:
//   map keys that are not strings. Extension types (a JavaScript Date is
//   timestamp ext -1) become null, as they have no JSON form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace msgpack {

struct Limits {
  size_t max_depth = 32;
  size_t max_elements = 1 << 20;  // in one array or map
};

enum class Status { done, need_more, error };
struct Result {
  Status status = Status::need_more;
  size_t consumed = 0;
  json::Value value;
  std::vector<std::string> buffers;
  std::string error;
};

Result decode(std::string_view bytes, const Limits& limits = {});

// Integers that a double holds exactly are written as msgpack integers in their
// shortest form, other numbers as float 64, as @msgpack/msgpack does; a
// placeholder whose num indexes buffers is written as bin.
std::string encode(const json::Value& value,
                   const std::vector<std::string>& buffers = {});

}  // namespace msgpack
