#include "ir/types.h"

#include <ostream>

namespace rnnc::ir {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
  }
  return "?";
}

bool dtype_from_name(const std::string& name, DType* out) {
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64}) {
    if (name == dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

std::string Dim::str() const { return is_symbolic() ? symbol : std::to_string(size); }

double fixed_element_count(const TensorType& t) {
  double elements = 1;
  for (const Dim& d : t.shape) elements *= d.is_symbolic() ? 1.0 : static_cast<double>(d.size);
  return elements;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + shape[i].str();
  return s + "]";
}

std::string TensorType::str() const { return std::string(dtype_name(dtype)) + shape_str(shape); }

std::ostream& operator<<(std::ostream& os, const Dim& d) { return os << d.str(); }
std::ostream& operator<<(std::ostream& os, const TensorType& t) { return os << t.str(); }

}  // namespace rnnc::ir
