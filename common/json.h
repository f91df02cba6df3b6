// A small, strict JSON (RFC 8259) reader and writer.
//
// parse() accepts exactly one JSON text and refuses anything else with a reason:
// trailing bytes, invalid UTF-8, lone surrogates, leading zeros, nesting deeper
// than 64. stringify() writes what JavaScript's JSON.stringify writes for the
// same value, byte for byte: object keys in insertion order, no spaces, the
// same string escapes, and numbers in Number.prototype.toString form.
//
// Lone surrogates, as an option: "\ud83d" is valid JSON text (RFC 8259 §8.2
// notes that the grammar allows it) but not Unicode, and JavaScript, whose
// strings are UTF-16, reads and writes it. With lone_surrogates set, parse()
// keeps such a code unit as its three-byte generalized UTF-8 form (WTF-8:
// \ud83d is ED A0 BD), which utf8::is_valid refuses, so a string holding one is
// easy to find and never mistaken for text. append_string() writes those three
// bytes back as a \u escape, lowercase as JSON.stringify does ("\ud83d"), so the
// JSON text a JavaScript peer sent comes back to it unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace json {

class Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // keeps key order

class Value {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::boolean), bool_(b) {}
  Value(double d) : type_(Type::number), number_(d) {}
  Value(int i) : Value(static_cast<double>(i)) {}
  Value(int64_t i) : Value(static_cast<double>(i)) {}
  Value(uint64_t i) : Value(static_cast<double>(i)) {}
  Value(std::string s) : type_(Type::string), string_(std::move(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(Array a);
  Value(Object o);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_bool() const { return type_ == Type::boolean; }
  bool is_number() const { return type_ == Type::number; }
  bool is_string() const { return type_ == Type::string; }
  bool is_array() const { return type_ == Type::array; }
  bool is_object() const { return type_ == Type::object; }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  const Array& as_array() const { return array_; }
  Array& as_array() { return array_; }
  const Object& as_object() const { return object_; }
  Object& as_object() { return object_; }

  // Object member by key, or nullptr (also when this is not an object).
  const Value* find(std::string_view key) const;
  // Sets an object member, replacing an existing key in place.
  Value& set(std::string key, Value value);

 private:
  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  // std::vector may hold a type that is still incomplete here (C++17).
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

struct ParseResult {
  std::optional<Value> value;
  std::string error;  // set when value is empty: what is wrong, and at which byte
};

struct ParseOptions {
  bool lone_surrogates = false;  // accept \ud800-\udfff unpaired (see above)
};

ParseResult parse(std::string_view text, ParseOptions options = {});

std::string stringify(const Value& value);
void append(std::string& out, const Value& value);
// A JSON string literal, quotes included, escaped as JSON.stringify does; a
// surrogate in generalized UTF-8 (ED A0 80 .. ED BF BF) as its \u escape.
void append_string(std::string& out, std::string_view s);
void append_number(std::string& out, double d);

}  // namespace json
