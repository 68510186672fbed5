// Value types of the IR: an element type and a shape whose dimensions are either static sizes or named
// symbols (`batch`, `time`) bound when a function runs. Printed as `f32[time, batch, 128]`; a scalar is
// `f32[]`.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace rnnc::ir {

enum class DType { F32, F64, I32, I64 };

const char* dtype_name(DType dtype);
bool dtype_from_name(const std::string& name, DType* out);
inline bool is_float(DType d) { return d == DType::F32 || d == DType::F64; }
inline bool is_int(DType d) { return d == DType::I32 || d == DType::I64; }

// One dimension: a static size (symbol empty, size >= 0) or a symbol such as `batch`.
struct Dim {
  int64_t size = 0;
  std::string symbol;

  static Dim fixed(int64_t n) { return Dim{n, {}}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_symbolic() const { return !symbol.empty(); }
  bool operator==(const Dim& o) const { return symbol == o.symbol && (is_symbolic() || size == o.size); }
  bool operator!=(const Dim& o) const { return !(*this == o); }
  std::string str() const;
};

// The two symbols every model uses; other identifiers are allowed too.
inline Dim batch_dim() { return Dim::named("batch"); }
inline Dim time_dim() { return Dim::named("time"); }

using Shape = std::vector<Dim>;

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
  std::string str() const;
};

std::string shape_str(const Shape& shape);

// The product of `t`'s fixed dims (a symbolic dim counts as 1), in double so that no size overflows:
// what the verifier and the code generator bound.
double fixed_element_count(const TensorType& t);
std::ostream& operator<<(std::ostream& os, const Dim& d);
std::ostream& operator<<(std::ostream& os, const TensorType& t);

}  // namespace rnnc::ir
