// Optimizers over named float parameters, with PyTorch's update rules (torch.optim.Adam and SGD with
// their defaults), so that a model trained here follows the same trajectory as its PyTorch original.
// Their state (step count, moments) goes into checkpoints, so a resumed run continues the same steps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/tensor.h"

namespace rnnc::train {

using runtime::Tensor;

// A gradient: a read-only view of a kernel's output buffer, shaped like its parameter.
struct GradView {
  const float* data = nullptr;
  int64_t size = 0;
};
using ParamMap = std::map<std::string, Tensor<float>>;
using GradMap = std::map<std::string, GradView>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One update of every parameter that has a gradient. `scale` multiplies every gradient first (gradient
  // clipping hands its factor over here instead of rewriting the gradients).
  virtual void step(ParamMap& params, const GradMap& grads, float scale) = 0;
  // The optimizer's state as named tensors ("adam.m/<param>", …) and back, for checkpoints.
  virtual std::map<std::string, Tensor<float>> state() const = 0;
  virtual void load_state(const std::map<std::string, Tensor<float>>& state) = 0;
  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr);

 protected:
  // UserError unless lr is a finite number > 0 (a NaN learning rate would silently make every weight NaN).
  explicit Optimizer(double lr);
  double lr_;
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};
struct SgdOptions {
  double lr = 0.1, momentum = 0.0, weight_decay = 0.0;
};

std::unique_ptr<Optimizer> make_adam(const AdamOptions& options);
std::unique_ptr<Optimizer> make_sgd(const SgdOptions& options);
// By name ("adam" or "sgd") with learning rate `lr`; UserError for another name.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double lr);

// torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients, and the factor that brings it to
// at most max_norm (1 when it already is, or when max_norm <= 0).
struct ClipResult {
  double total_norm = 0;
  float scale = 1;
};
ClipResult clip_grad_norm(const GradMap& grads, double max_norm);

}  // namespace rnnc::train
