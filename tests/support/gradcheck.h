// Test support: running @forward + @backward of an autodiff'ed module on the reference executor, and
// checking the gradients against central finite differences in float64.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ir/function.h"
#include "runtime/reference_executor.h"

namespace rnnc::testing {

using Values = std::vector<runtime::Value<double>>;

// Random inputs for @forward: floats N(0, 1), lengths in [1, time] (the first row full; 0 at time 0), token ids in
// [0, vocab), labels in [0, classes), seed fixed. `dims` binds symbolic dims (time, batch).
Values random_inputs(const ir::Function& forward, const std::map<std::string, int64_t>& dims, std::mt19937& gen,
                     int64_t vocab = 0, int64_t classes = 0);

// The same values in float32 (integer tensors unchanged), for a compiled model's run.
std::vector<runtime::Value<float>> to_f32(const Values& values);

// Σ_i <cotangent_i, result_i> over @forward's float results that are not saved activations.
double weighted_loss(const Values& results, const Values& cotangents);

// Random cotangents for the float results (zeros for integer ones), shaped like `results`.
Values random_cotangents(const Values& results, std::mt19937& gen);

// Runs @forward then @backward; returns the gradients by name (grad.<param>, grad.<arg>).
std::map<std::string, runtime::Tensor<double>> run_backward(const runtime::ReferenceExecutor<double>& ex,
                                                            const Values& inputs, const Values& cotangents);

struct GradCheck {
  std::string worst_name;
  double worst_relative_error = 0;  // norm-wise, per tensor: |g - fd| / max(|g|, |fd|)
  int checked = 0;
};

// Compares every parameter's (and float argument's) gradient with central differences of the weighted
// loss, on at most `per_tensor` elements of each tensor (all of them when smaller). An embedding's
// padding row is left out: by definition (PyTorch's too) its gradient is zero whatever the loss does;
// the check asserts exactly that instead.
GradCheck check_gradients(runtime::ReferenceExecutor<double>& ex, const ir::Module& original, Values inputs,
                          const Values& cotangents, int per_tensor = 40, double eps = 1e-6);

}  // namespace rnnc::testing
