// Host tensors with concrete shapes, row-major: what the reference executor (and the test helpers)
// pass around. Floats are held in the executor's precision T (float or double); integer tensors
// (token ids, lengths, labels, seeds) in int64.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace rnnc::runtime {

using Dims = std::vector<int64_t>;

inline int64_t num_elements(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string dims_str(const Dims& dims);

template <typename T>
struct Tensor {
  Dims shape;
  std::vector<T> data;

  Tensor() = default;
  explicit Tensor(Dims s, T fill = T(0)) : shape(std::move(s)), data(static_cast<size_t>(num_elements(shape)), fill) {}
  Tensor(Dims s, std::vector<T> values) : shape(std::move(s)), data(std::move(values)) {}

  int64_t size() const { return static_cast<int64_t>(data.size()); }
  int rank() const { return static_cast<int>(shape.size()); }
  T& operator[](int64_t i) { return data[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data[static_cast<size_t>(i)]; }
};

using IntTensor = Tensor<int64_t>;

// An argument or result: a float tensor in precision T, or an integer tensor.
template <typename T>
using Value = std::variant<Tensor<T>, IntTensor>;

template <typename T>
const Dims& shape_of(const Value<T>& v) {
  return std::holds_alternative<IntTensor>(v) ? std::get<IntTensor>(v).shape : std::get<Tensor<T>>(v).shape;
}

}  // namespace rnnc::runtime
