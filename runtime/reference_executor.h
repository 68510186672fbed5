// The reference executor: interprets any verified module in plain, obviously-correct C++ loops, in
// float32 (T = float) or float64 (T = double). It is the oracle every optimisation and every generated
// kernel is checked against, so it stays simple and shares nothing with the fast path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/function.h"
#include "runtime/tensor.h"

namespace rnnc::runtime {

template <typename T>
class ReferenceExecutor {
 public:
  // Verifies the module (UserError listing the violations otherwise).
  explicit ReferenceExecutor(ir::Module module);

  const ir::Module& module() const { return module_; }

  // Sets a parameter; its shape must be the declared one.
  void set_param(const std::string& name, Tensor<T> value);
  const Tensor<T>& param(const std::string& name) const;
  const std::map<std::string, Tensor<T>>& params() const { return params_; }
  // Draws every parameter from its declared initialiser with a generator seeded by `seed`.
  void init_params(uint64_t seed);

  // Runs a function. Argument shapes bind the symbolic dims (batch, time); a mismatch, a missing
  // parameter or an out-of-range id or label is a UserError that names it.
  std::vector<Value<T>> run(const std::string& function, const std::vector<Value<T>>& args) const;

 private:
  ir::Module module_;
  std::map<std::string, Tensor<T>> params_;
};

extern template class ReferenceExecutor<float>;
extern template class ReferenceExecutor<double>;

}  // namespace rnnc::runtime
