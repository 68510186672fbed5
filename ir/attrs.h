// Attributes of an op: a small sorted map from name to value. Values are integers, floats, identifiers
// (enum-like words such as `reverse`), integer lists, or flags (present means true: `{transpose_b}`).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace rnnc::ir {

struct Flag {
  bool operator==(const Flag&) const { return true; }
};

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, Flag>;

enum class AttrKind { Int, Float, Word, IntList, Flag };
const char* attr_kind_name(AttrKind kind);
AttrKind attr_kind_of(const AttrValue& value);

class Attrs {
 public:
  Attrs() = default;

  Attrs& set(const std::string& name, AttrValue value) {
    values_[name] = std::move(value);
    return *this;
  }
  Attrs& set_flag(const std::string& name) { return set(name, Flag{}); }
  void erase(const std::string& name) { values_.erase(name); }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool has_flag(const std::string& name) const;
  // The getters throw InternalError when the attribute is missing or of another kind: the verifier has
  // checked every attribute against the op's spec before anything reads it.
  int64_t get_int(const std::string& name) const;
  int64_t get_int_or(const std::string& name, int64_t fallback) const;
  double get_float(const std::string& name) const;
  const std::string& get_word(const std::string& name) const;
  const std::vector<int64_t>& get_int_list(const std::string& name) const;

  const std::map<std::string, AttrValue>& values() const { return values_; }
  bool operator==(const Attrs& o) const { return values_ == o.values_; }
  bool operator!=(const Attrs& o) const { return !(*this == o); }

 private:
  std::map<std::string, AttrValue> values_;
};

// Prints a float so that parsing the text gives back exactly the same double, and so that it always
// reads as a float (`1.0`, not `1`).
std::string format_float(double v);
std::string format_attr_value(const AttrValue& value);

}  // namespace rnnc::ir
