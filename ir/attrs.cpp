#include "ir/attrs.h"

#include <charconv>
#include <cmath>

#include "ir/error.h"

namespace rnnc::ir {

const char* attr_kind_name(AttrKind kind) {
  switch (kind) {
    case AttrKind::Int: return "integer";
    case AttrKind::Float: return "float";
    case AttrKind::Word: return "word";
    case AttrKind::IntList: return "integer list";
    case AttrKind::Flag: return "flag";
  }
  return "?";
}

AttrKind attr_kind_of(const AttrValue& value) { return static_cast<AttrKind>(value.index()); }

bool Attrs::has_flag(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && std::holds_alternative<Flag>(it->second);
}

namespace {
template <typename T>
const T& get_as(const std::map<std::string, AttrValue>& values, const std::string& name, AttrKind kind) {
  auto it = values.find(name);
  RNNC_INTERNAL_CHECK(it != values.end()) << "attribute '" << name << "' missing";
  const T* v = std::get_if<T>(&it->second);
  RNNC_INTERNAL_CHECK(v) << "attribute '" << name << "' is not a " << attr_kind_name(kind);
  return *v;
}
}  // namespace

int64_t Attrs::get_int(const std::string& name) const { return get_as<int64_t>(values_, name, AttrKind::Int); }

int64_t Attrs::get_int_or(const std::string& name, int64_t fallback) const {
  return has(name) ? get_int(name) : fallback;
}

double Attrs::get_float(const std::string& name) const {
  return get_as<double>(values_, name, AttrKind::Float);
}

const std::string& Attrs::get_word(const std::string& name) const {
  return get_as<std::string>(values_, name, AttrKind::Word);
}

const std::vector<int64_t>& Attrs::get_int_list(const std::string& name) const {
  return get_as<std::vector<int64_t>>(values_, name, AttrKind::IntList);
}

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string format_attr_value(const AttrValue& value) {
  switch (attr_kind_of(value)) {
    case AttrKind::Int: return std::to_string(std::get<int64_t>(value));
    case AttrKind::Float: return format_float(std::get<double>(value));
    case AttrKind::Word: return std::get<std::string>(value);
    case AttrKind::IntList: {
      std::string s = "[";
      const auto& list = std::get<std::vector<int64_t>>(value);
      for (size_t i = 0; i < list.size(); ++i) s += (i ? ", " : "") + std::to_string(list[i]);
      return s + "]";
    }
    case AttrKind::Flag: return "";
  }
  return "";
}

}  // namespace rnnc::ir
