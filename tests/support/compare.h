// Test support: comparing results of two executors.
#pragma once

#include <cmath>
#include <string>

#include "runtime/tensor.h"

namespace rnnc::testing {

// Norm-wise relative error |a - b| / max(|b|, tiny), over all elements.
template <typename A, typename B>
double relative_error(const runtime::Tensor<A>& a, const runtime::Tensor<B>& b) {
  double diff = 0, norm = 0;
  for (int64_t k = 0; k < b.size(); ++k) {
    double d = static_cast<double>(a[k]) - static_cast<double>(b[k]);
    diff += d * d;
    norm += static_cast<double>(b[k]) * static_cast<double>(b[k]);
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

}  // namespace rnnc::testing
