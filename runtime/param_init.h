// Initial parameter values, drawn from each parameter's declared initialiser (PyTorch's choice for the
// layer it belongs to) with a generator seeded by `seed`. Every executor starts from the same draw.
#pragma once

#include <map>
#include <string>

#include "ir/function.h"
#include "runtime/tensor.h"

namespace rnnc::runtime {

template <typename T>
std::map<std::string, Tensor<T>> draw_params(const ir::Module& module, uint64_t seed);

extern template std::map<std::string, Tensor<float>> draw_params(const ir::Module&, uint64_t);
extern template std::map<std::string, Tensor<double>> draw_params(const ir::Module&, uint64_t);

}  // namespace rnnc::runtime
