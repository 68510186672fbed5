// The zoo's models compiled ahead of time for GPUs (rnnc_add_model with CUDA targets, see
// CMakeLists.txt): that they compile and link is checked by building this test, on any machine.
//
// Where a device is present, forward and backward of every model run on it and must match the
// reference executor (relative error < 1e-4 in f32), with every buffer device-resident through the
// time loops. Without a device, those tests skip and say why (no driver, no device). OpenCL variants
// (RNNC_OPENCL_TESTS=ON) run the same GPU schedules through an OpenCL driver such as pocl on a CPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <algorithm>
#include <functional>
#include <iostream>
#include <string>

#include "gpu_models.h"
#include "passes/autodiff.h"
#include "runtime/reference_executor.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

using runtime::Device;
using runtime::Tensor;

struct GpuModel {
  const char* name;
  const char* ir;
  int targets;
  runtime::KernelTable (*kernels_for_target)(int);
  Device (*target_device)(int);
  int64_t vocab, classes;  // for random ids and labels
};

// gpu_models.h (generated) lists the models: RNNC_GPU_MODELS(X) is X(namespace, vocab, classes)…
#define GPU_MODEL(ns, vocab, classes)                                                                    \
  GpuModel{#ns,          rnnc_models::ns::ir_text(), rnnc_models::ns::target_count, rnnc_models::ns::kernels_for_target, \
           rnnc_models::ns::target_device, vocab, classes},

std::vector<GpuModel> models() {
  return {RNNC_GPU_MODELS(GPU_MODEL)};
}

// The first target of `model` compiled for `device`, or -1.
int target_for(const GpuModel& model, Device device) {
  for (int t = 0; t < model.targets; ++t) {
    if (model.target_device(t) == device) return t;
  }
  return -1;
}

// Loads `model` on `device`, or says why it cannot run here (empty on success).
std::string load_on(const GpuModel& model, Device device, runtime::CompiledModule& compiled) {
  int t = target_for(model, device);
  if (t < 0) return std::string(model.name) + " has no " + runtime::device_name(device) + " target in this build";
  try {
    compiled.load(model.kernels_for_target(t));
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// Forward and backward on the device against the reference executor; the results stay on the device
// between @forward and @backward (results_on_host off) as a training step would keep them. With
// `graphs` (CUDA graphs), a step on other inputs records the graphs first: every checked run replays.
void check_against_reference(const GpuModel& model, Device device, int64_t time, int64_t batch, bool graphs = false) {
  ir::Module m = ir::parse_module(model.ir, model.name);
  runtime::CompiledModule compiled(m);
  if (graphs && device != Device::Cuda) GTEST_SKIP() << "CUDA graphs: CUDA only";
  if (std::string why = load_on(model, device, compiled); !why.empty()) GTEST_SKIP() << why;
  compiled.init_params(4);
  compiled.set_keep_params_on_device(true);
  if (graphs) compiled.set_cuda_graphs(true);
  runtime::ReferenceExecutor<double> reference(m);
  for (const auto& [name, p] : compiled.params()) {
    reference.set_param(name, Tensor<double>(p.shape, std::vector<double>(p.data.begin(), p.data.end())));
  }
  std::mt19937 gen(8);
  const ir::Function& fwd = *m.find_function("forward");
  testing::Values inputs =
      testing::random_inputs(fwd, {{"time", time}, {"batch", batch}}, gen, model.vocab, model.classes);
  testing::Values want = reference.run("forward", inputs);
  if (graphs) {
    // The recording step: other inputs and cotangents of the same shapes, results left on the device.
    std::mt19937 other(9);
    testing::Values x = testing::random_inputs(fwd, {{"time", time}, {"batch", batch}}, other, model.vocab, model.classes);
    compiled.set_results_on_host(false);
    std::vector<runtime::CompiledModule::Buffer> in, out, bwd_in;
    std::vector<runtime::Value<float>> x32 = testing::to_f32(x);
    for (size_t i = 0; i < x32.size(); ++i) in.push_back(runtime::CompiledModule::to_buffer(x32[i], fwd.type(fwd.arg(i)).dtype));
    out = compiled.run_buffers("forward", in);
    if (const ir::Function* bwd = m.find_function("backward")) {
      std::normal_distribution<double> normal;
      for (size_t i = 0; i < out.size(); ++i) {
        if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) continue;
        Tensor<float> c(runtime::shape_of(runtime::CompiledModule::to_value(out[i])));
        for (float& v : c.data) v = static_cast<float>(normal(other));
        bwd_in.push_back(runtime::CompiledModule::to_buffer(c, ir::DType::F32));
      }
      for (size_t i = 0; i < out.size(); ++i) {
        if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) bwd_in.push_back(out[i]);
      }
      ASSERT_EQ(bwd_in.size(), bwd->args().size());
      compiled.run_buffers("backward", bwd_in);
    }
    compiled.set_results_on_host(true);
  }
  double worst_forward = 0, worst_backward = 0;
  // Twice: the second run reuses the device's cached allocations and parameter copies.
  for (int repeat = 0; repeat < 2; ++repeat) {
    std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
    for (size_t i = 0; i < want.size(); ++i) {
      if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
        const double e = testing::relative_error(std::get<Tensor<float>>(got[i]), *w);
        worst_forward = std::max(worst_forward, e);
        EXPECT_LT(e, 1e-4) << model.name << " on " << runtime::device_name(device) << ": @forward result " << fwd.result_names()[i];
      }
    }
  }
  const ir::Function* bwd = m.find_function("backward");
  if (!bwd) return;
  testing::Values args;
  std::normal_distribution<double> normal;
  for (size_t i = 0; i < want.size(); ++i) {
    if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) continue;
    if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
      Tensor<double> c(w->shape);
      for (double& v : c.data) v = normal(gen);
      args.push_back(c);
    }
  }
  testing::Values grads_want;
  {
    testing::Values ref_args = args;
    for (size_t i = 0; i < want.size(); ++i) {
      if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) ref_args.push_back(want[i]);
    }
    grads_want = reference.run("backward", ref_args);
  }
  // @backward on the device, fed @forward's saved activations as the device left them.
  compiled.set_results_on_host(false);
  std::vector<runtime::CompiledModule::Buffer> fwd_in;
  std::vector<runtime::Value<float>> inputs32 = testing::to_f32(inputs);
  for (size_t i = 0; i < inputs32.size(); ++i) {
    fwd_in.push_back(runtime::CompiledModule::to_buffer(inputs32[i], fwd.type(fwd.arg(i)).dtype));
  }
  std::vector<runtime::CompiledModule::Buffer> saved = compiled.run_buffers("forward", fwd_in);
  std::vector<runtime::CompiledModule::Buffer> bwd_in;
  std::vector<runtime::Value<float>> cotangents = testing::to_f32(args);
  for (size_t i = 0; i < cotangents.size(); ++i) {
    bwd_in.push_back(runtime::CompiledModule::to_buffer(cotangents[i], bwd->type(bwd->arg(i)).dtype));
  }
  for (size_t i = 0; i < saved.size(); ++i) {
    if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) != 0) continue;
    if (device != Device::Cpu) {
      EXPECT_FALSE(saved[i].host_dirty()) << fwd.result_names()[i] << " came back to the host";
    }
    bwd_in.push_back(saved[i]);
  }
  std::vector<runtime::CompiledModule::Buffer> grads = compiled.run_buffers("backward", bwd_in);
  for (size_t i = 0; i < grads.size(); ++i) {
    auto got = std::get<Tensor<float>>(runtime::CompiledModule::to_value(grads[i]));
    const double e = testing::relative_error(got, std::get<Tensor<double>>(grads_want[i]));
    worst_backward = std::max(worst_backward, e);
    EXPECT_LT(e, 1e-4) << model.name << " on " << runtime::device_name(device) << ": @backward result "
                       << bwd->result_names()[i];
  }
  std::cout << "[ rel. err ] " << model.name << " on " << runtime::device_name(device) << (graphs ? " (graphs)" : "")
            << ", T " << time << " B " << batch
            << ": forward " << worst_forward << ", backward " << worst_backward << "\n";
}

// Built and linked: every model has a CUDA kernel table for capabilities 8.0 and 8.6, complete.
TEST(GpuAot, CudaVariantsOfEveryZooModelAreLinked) {
  for (const GpuModel& model : models()) {
    int cuda = 0;
    ir::Module m = ir::parse_module(model.ir, model.name);
    runtime::ExecutionPlan plan(m);
    for (int t = 0; t < model.targets; ++t) {
      if (model.target_device(t) != Device::Cuda) continue;
      ++cuda;
      runtime::KernelTable table = model.kernels_for_target(t);
      EXPECT_TRUE(table.device_interface) << model.name << " target " << t;
      // Launches past 48 KiB of shared memory are opted in through it (runtime/cuda_shared_memory.h).
      EXPECT_TRUE(table.set_get_library_symbol) << model.name << " target " << t;
      for (const runtime::KernelSpec& spec : plan.kernels()) {
        if (spec.cpu_only) continue;  // a feeder's single-threaded copy, for CPU row ranges only
        EXPECT_TRUE(table.functions.count(spec.name) && table.functions.at(spec.name)) << model.name << " " << spec.name;
      }
    }
    EXPECT_EQ(cuda, 2) << model.name << ": expected the cuda_capability_80 and _86 variants";
  }
}

// Without a driver or a device, asking for CUDA is a UserError that says which is missing.
TEST(GpuAot, UnusableCudaIsAClearError) {
  const GpuModel model = models().front();
  runtime::CompiledModule compiled(ir::parse_module(model.ir, model.name));
  std::string why = load_on(model, Device::Cuda, compiled);
  if (why.empty()) GTEST_SKIP() << "a CUDA device is present: nothing to check";
  EXPECT_NE(why.find("--device cuda"), std::string::npos) << why;
  std::cout << "[ message  ] " << why << "\n";
}

// The same, through the fallback the tools use: the CPU plus one line naming the reason.
TEST(GpuAot, UnusableCudaFallsBackWithOneLine) {
  const std::string why = runtime::device_unavailable_reason(Device::Cuda);
  std::string note;
  const Device got = runtime::usable_device_or_cpu(Device::Cuda, &note);
  if (why.empty()) {
    EXPECT_EQ(got, Device::Cuda);
    EXPECT_TRUE(note.empty()) << note;
    GTEST_SKIP() << "a CUDA device is present: " << runtime::device_description(Device::Cuda);
  }
  EXPECT_EQ(got, Device::Cpu);
  EXPECT_EQ(note, why + "; running on the CPU instead");
  EXPECT_EQ(note.find('\n'), std::string::npos) << note;
  EXPECT_EQ(note.rfind("--device cuda: ", 0), 0u) << note;
  EXPECT_EQ(runtime::device_description(Device::Cuda), "");
}

Device device_under_test() {
  const char* d = std::getenv("RNNC_GPU_TEST_DEVICE");
  return runtime::parse_device(d && *d ? d : "cuda");
}

class GpuModelTest : public ::testing::TestWithParam<GpuModel> {};

TEST_P(GpuModelTest, ForwardBackwardMatchReference) {
  check_against_reference(GetParam(), device_under_test(), 6, 3);
}
// Ragged tiles: more rows than two tiles of rows, fewer than three.
TEST_P(GpuModelTest, RaggedBatch) {
  check_against_reference(GetParam(), device_under_test(), 3, 37);
}
TEST_P(GpuModelTest, OneStepOneRow) { check_against_reference(GetParam(), device_under_test(), 1, 1); }
// Replays of recorded CUDA graphs, on inputs other than the recording's. An odd number of steps: a
// scan's final carries are then in its second buffer, and both must outlive the recording run.
TEST_P(GpuModelTest, CudaGraphsMatchReference) {
  check_against_reference(GetParam(), device_under_test(), 5, 3, /*graphs=*/true);
}

INSTANTIATE_TEST_SUITE_P(Zoo, GpuModelTest, ::testing::ValuesIn(models()),
                         [](const ::testing::TestParamInfo<GpuModel>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace rnnc
