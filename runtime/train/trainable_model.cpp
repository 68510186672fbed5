#include "runtime/train/trainable_model.h"

#include <cmath>
#include <cstring>

#include "codegen/jit.h"
#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"

namespace rnnc::train {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

Buffer buffer_with(ir::DType dtype, const runtime::Dims& dims, const void* data, size_t elem_size) {
  int64_t n = runtime::num_elements(dims);
  Buffer b = runtime::CompiledModule::new_buffer(dtype, dims);
  if (n) std::memcpy(b.data(), data, static_cast<size_t>(n) * elem_size);
  return b;
}

}  // namespace

std::vector<Buffer> bind_arguments(const ir::Function& f, const NamedBuffers& inputs) {
  std::vector<Buffer> args;
  size_t used = 0;
  for (size_t i = 0; i < f.args().size(); ++i) {
    const std::string& name = f.value_name(f.arg(i));
    auto it = inputs.find(name);
    RNNC_USER_CHECK(it != inputs.end()) << "@" << f.name() << " needs the input '" << name << "' ("
                                        << f.type(f.arg(i)) << ")";
    args.push_back(it->second);
    ++used;
  }
  if (used != inputs.size()) {
    for (const auto& [name, b] : inputs) {
      bool known = false;
      for (size_t i = 0; i < f.args().size(); ++i) known |= f.value_name(f.arg(i)) == name;
      RNNC_USER_CHECK(known) << "@" << f.name() << " has no input named '" << name << "'";
    }
  }
  return args;
}

Buffer i32_buffer(const std::vector<int32_t>& data, const runtime::Dims& dims) {
  RNNC_INTERNAL_CHECK(static_cast<int64_t>(data.size()) == runtime::num_elements(dims)) << "i32_buffer size";
  return buffer_with(ir::DType::I32, dims, data.data(), sizeof(int32_t));
}

Buffer f32_buffer(const std::vector<float>& data, const runtime::Dims& dims) {
  RNNC_INTERNAL_CHECK(static_cast<int64_t>(data.size()) == runtime::num_elements(dims)) << "f32_buffer size";
  return buffer_with(ir::DType::F32, dims, data.data(), sizeof(float));
}

Buffer i64_scalar(int64_t value) { return buffer_with(ir::DType::I64, {}, &value, sizeof(int64_t)); }

TrainableModel::TrainableModel(std::unique_ptr<runtime::CompiledModule> training,
                               std::unique_ptr<runtime::CompiledModule> inference)
    : training_(std::move(training)), inference_(std::move(inference)) {
  RNNC_USER_CHECK(!training_ || training_->module().find_function("backward"))
      << "module @" << training_->module().name() << " has no @backward: run the training pipeline first";
  if (training_) {
    // GPU kernels (no-ops on the CPU): a step's results stay on the device, so that @forward's saved
    // activations reach @backward as they are (the IMDB classifier's, 105 MB a step at batch 64, went
    // to the host), and forward_backward brings back only what its caller reads. Parameters
    // go up once a step, for both runs: every way of changing them (params(), set_param, init_params)
    // drops the device copies.
    training_->set_results_on_host(false);
    training_->set_keep_params_on_device(true);
  }
}

std::unique_ptr<TrainableModel> TrainableModel::jit(const ir::Module& source, const std::string& target, bool training) {
  auto compile = [&](bool training) {
    ir::Module m = source;
    passes::PassManager pm;
    training ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
    pm.run(m);
    auto compiled = std::make_unique<runtime::CompiledModule>(std::move(m));
    compiled->load(codegen::jit_compile(compiled->plan(), target));
    return compiled;
  };
  auto trainer = training ? compile(true) : nullptr;
  auto inference = compile(false);
  return std::make_unique<TrainableModel>(std::move(trainer), std::move(inference));
}

const std::string& TrainableModel::name() const { return inference_->module().name(); }

void TrainableModel::init_params(uint64_t seed) { owner().init_params(seed); }

void TrainableModel::load_params(const ParamMap& values) {
  // Checked against the module's declarations: before init_params there are no values to compare with.
  const ir::Module& module = owner().module();
  for (const ir::ParamDecl& decl : module.params()) {
    auto it = values.find(decl.name);
    RNNC_USER_CHECK(it != values.end()) << "no value for parameter @" << decl.name;
    runtime::Dims dims;
    for (const ir::Dim& d : decl.type.shape) dims.push_back(d.size);
    RNNC_USER_CHECK(it->second.shape == dims) << "parameter @" << decl.name << " has shape "
                                              << runtime::dims_str(it->second.shape) << ", the model expects "
                                              << runtime::dims_str(dims);
  }
  for (const auto& [name, t] : values) {
    RNNC_USER_CHECK(module.find_param(name)) << "the model has no parameter @" << name;
    owner().set_param(name, t);
  }
}

int64_t TrainableModel::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : params()) n += t.size();
  return n;
}

TrainableModel::StepResult TrainableModel::forward_backward(const NamedBuffers& inputs, const std::string& loss) {
  RNNC_USER_CHECK(training_) << "model @" << name() << " was compiled for inference only";
  const ir::Function& fwd = *training_->module().find_function("forward");
  const ir::Function& bwd = *training_->module().find_function("backward");
  std::vector<Buffer> results = training_->run_buffers("forward", bind_arguments(fwd, inputs));
  StepResult step;
  NamedBuffers by_name;
  bool has_loss = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string& name = fwd.result_names()[i];
    by_name[name] = results[i];  // saved activations: left where they are, for @backward
    if (!starts_with(name, passes::kSavedPrefix)) results[i] = runtime::CompiledModule::on_host(results[i]);
    if (name == loss) {
      RNNC_USER_CHECK(results[i].number_of_elements() == 1) << "result '" << loss << "' is not a scalar";
      step.loss = *static_cast<const float*>(results[i].data());
      has_loss = true;
    } else if (!starts_with(name, passes::kSavedPrefix)) {
      step.outputs[name] = results[i];
    }
  }
  RNNC_USER_CHECK(has_loss) << "@forward has no result named '" << loss << "'";
  NamedBuffers bwd_inputs;
  for (size_t i = 0; i < bwd.args().size(); ++i) {
    const std::string& name = bwd.value_name(bwd.arg(i));
    if (starts_with(name, passes::kSavedPrefix)) {
      bwd_inputs[name] = by_name.at(name);
      continue;
    }
    RNNC_INTERNAL_CHECK(starts_with(name, passes::kCotangentPrefix)) << "unexpected @backward argument " << name;
    std::string result = name.substr(std::strlen(passes::kCotangentPrefix));
    const Buffer& like = by_name.at(result);
    runtime::Dims dims;
    for (int d = like.dimensions() - 1; d >= 0; --d) dims.push_back(like.dim(d).extent());
    Buffer ct = runtime::CompiledModule::new_buffer(ir::DType::F32, dims, /*zeroed=*/true);
    if (result == loss) *static_cast<float*>(ct.data()) = 1.0f;
    bwd_inputs[name] = ct;
  }
  std::vector<Buffer> grads = training_->run_buffers("backward", bind_arguments(bwd, bwd_inputs));
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string& name = bwd.result_names()[i];
    if (!starts_with(name, passes::kGradPrefix)) continue;
    std::string param = name.substr(std::strlen(passes::kGradPrefix));
    // The gradient of a float input, not a parameter (params() would drop the device copies).
    if (!training_->module().find_param(param)) continue;
    grads[i] = runtime::CompiledModule::on_host(grads[i]);
    step.grad_buffers[param] = grads[i];
    step.grads[param] = GradView{static_cast<const float*>(grads[i].data()),
                                 static_cast<int64_t>(grads[i].number_of_elements())};
  }
  return step;
}

NamedBuffers TrainableModel::infer(const NamedBuffers& inputs) {
  // The inference module gets the current parameters: a copy per evaluation, small next to a pass over data.
  if (training_) {
    for (const auto& [name, t] : params()) {
      if (inference_->module().find_param(name)) inference_->set_param(name, t);
    }
  }
  const ir::Function& fwd = inference_forward();
  // Inputs only training reads (labels, the dropout seed) may be in `inputs`: take what @forward needs.
  NamedBuffers needed;
  for (size_t i = 0; i < fwd.args().size(); ++i) {
    auto it = inputs.find(fwd.value_name(fwd.arg(i)));
    if (it != inputs.end()) needed.insert(*it);
  }
  std::vector<Buffer> results = inference_->run_buffers("forward", bind_arguments(fwd, needed));
  NamedBuffers out;
  for (size_t i = 0; i < results.size(); ++i) out[fwd.result_names()[i]] = results[i];
  return out;
}

const ir::Function& TrainableModel::training_forward() const {
  RNNC_USER_CHECK(training_) << "model @" << name() << " was compiled for inference only";
  return *training_->module().find_function("forward");
}

const ir::Function& TrainableModel::inference_forward() const { return *inference_->module().find_function("forward"); }

}  // namespace rnnc::train
