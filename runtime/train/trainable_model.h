// A model being trained: the training module (@forward keeping its activations, @backward giving every
// parameter's gradient) and the inference module (dropout gone), both compiled, over one set of
// parameters. This is the only way the training runtime touches kernels: one forward+backward per
// batch, one inference run per evaluation batch, arguments and results by name.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "runtime/compiled_executor.h"
#include "runtime/train/optimizer.h"

namespace rnnc::train {

using Buffer = runtime::CompiledModule::Buffer;
using NamedBuffers = std::map<std::string, Buffer>;

class TrainableModel {
 public:
  // Both modules are already optimised and loaded; their parameter sets must match.
  TrainableModel(std::unique_ptr<runtime::CompiledModule> training, std::unique_ptr<runtime::CompiledModule> inference);
  // Runs the DSL module through the training and inference pipelines and JIT-compiles both for `target`;
  // with `training` false, only the inference module (for evaluation and prediction): then
  // forward_backward is a UserError.
  static std::unique_ptr<TrainableModel> jit(const ir::Module& source, const std::string& target = "host",
                                             bool training = true);

  const std::string& name() const;
  // The parameters the optimizer updates in place (the training module's storage). The non-const one
  // drops their device copies (GPU kernels: uploaded again by the next run), since the caller may write.
  ParamMap& params() { return owner().mutable_params(); }
  const ParamMap& params() const { return owner().params(); }
  void init_params(uint64_t seed);
  // Replaces every parameter; UserError naming any missing, extra or mis-shaped one.
  void load_params(const ParamMap& values);
  int64_t num_parameters() const;

  struct StepResult {
    float loss = 0;
    NamedBuffers outputs;  // the forward results other than the loss and the saved activations
    GradMap grads;         // views into `grad_buffers`, by parameter name
    NamedBuffers grad_buffers;
  };
  // One forward + backward on `inputs` (by @forward's argument names). The cotangent of the result
  // `loss` is 1, of every other float result 0.
  StepResult forward_backward(const NamedBuffers& inputs, const std::string& loss = "loss");

  // Inference with the current parameters: @forward's results by name. Inputs the inference module
  // does not take (labels, seed) are ignored.
  NamedBuffers infer(const NamedBuffers& inputs);
  const ir::Function& inference_forward() const;
  const ir::Function& training_forward() const;

 private:
  runtime::CompiledModule& owner() { return training_ ? *training_ : *inference_; }
  const runtime::CompiledModule& owner() const { return training_ ? *training_ : *inference_; }
  std::unique_ptr<runtime::CompiledModule> training_, inference_;
};

// Arguments of `f` in order, from `inputs` by name. UserError naming a missing one; extra names are an
// error too (a misspelt input must not be silently ignored).
std::vector<Buffer> bind_arguments(const ir::Function& f, const NamedBuffers& inputs);

// Small host buffers for inputs: IR shape `dims`, row-major data.
Buffer i32_buffer(const std::vector<int32_t>& data, const runtime::Dims& dims);
Buffer f32_buffer(const std::vector<float>& data, const runtime::Dims& dims);
Buffer i64_scalar(int64_t value);

}  // namespace rnnc::train
