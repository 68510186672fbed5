// Models compiled ahead of time (rnnc_add_model, at build time) run without Halide and match the
// reference executor: forward and, for training builds, backward; every compiled target this CPU runs.
#include <gtest/gtest.h>

#include "aot_gru_infer.h"
#include "aot_imdb_train.h"
#include "aot_lstm_panels_train.h"
#include "aot_lstm_train.h"
#include "aot_gru_train.h"
#include "aot_layernorm_lstm_full_train.h"
#include "aot_layernorm_lstm_train.h"
#include "aot_mgu_generator.h"
#include "aot_peephole_lstm_train.h"
#include "aot_rnn_relu_train.h"
#include "aot_rnn_tanh_train.h"
#include "passes/autodiff.h"
#include "runtime/reference_executor.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

using runtime::Tensor;

struct AotModel {
  const char* name;
  const char* ir;
  int targets;
  runtime::KernelTable (*kernels_for_target)(int);
  bool (*cpu_supports_target)(int);
};

void check(const AotModel& aot, int64_t time, int64_t batch) {
  ir::Module m = ir::parse_module(aot.ir, aot.name);
  int checked = 0;
  for (int t = 0; t < aot.targets; ++t) {
    if (!aot.cpu_supports_target(t)) continue;
    ++checked;
    runtime::CompiledModule compiled(m);
    compiled.load(aot.kernels_for_target(t));
    compiled.init_params(4);
    runtime::ReferenceExecutor<double> reference(m);
    for (const auto& [name, p] : compiled.params()) {
      reference.set_param(name, Tensor<double>(p.shape, std::vector<double>(p.data.begin(), p.data.end())));
    }
    std::mt19937 gen(8);
    const ir::Function& fwd = *m.find_function("forward");
    testing::Values inputs = testing::random_inputs(fwd, {{"time", time}, {"batch", batch}}, gen, 11, 2);
    testing::Values want = reference.run("forward", inputs);
    std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
    for (size_t i = 0; i < want.size(); ++i) {
      if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
        EXPECT_LT(testing::relative_error(std::get<Tensor<float>>(got[i]), *w), 1e-4)
            << aot.name << " target " << t << " " << fwd.result_names()[i];
      }
    }
    const ir::Function* bwd = m.find_function("backward");
    if (!bwd) continue;
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
    for (size_t i = 0; i < want.size(); ++i) {
      if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) args.push_back(want[i]);
    }
    testing::Values grads = reference.run("backward", args);
    std::vector<runtime::Value<float>> grads32 = compiled.run("backward", testing::to_f32(args));
    for (size_t i = 0; i < grads.size(); ++i) {
      EXPECT_LT(testing::relative_error(std::get<Tensor<float>>(grads32[i]), std::get<Tensor<double>>(grads[i])), 1e-4)
          << aot.name << " target " << t << " " << bwd->result_names()[i];
    }
  }
  EXPECT_GT(checked, 0) << aot.name << ": this CPU runs none of the compiled targets";
}

#define AOT_MODEL(ns) \
  AotModel { #ns, rnnc_models::ns::ir_text(), rnnc_models::ns::target_count, rnnc_models::ns::kernels_for_target, \
             rnnc_models::ns::cpu_supports_target }

TEST(Aot, LstmTrainingBidirectionalTwoLayersTwoTargets) { check(AOT_MODEL(aot_lstm_train), 6, 3); }
TEST(Aot, LstmOneStepOneRow) { check(AOT_MODEL(aot_lstm_train), 1, 1); }
TEST(Aot, GruInferenceHidden129) { check(AOT_MODEL(aot_gru_infer), 4, 3); }
TEST(Aot, ImdbClassifierTraining) { check(AOT_MODEL(aot_imdb_train), 7, 5); }
TEST(Aot, RnnTanhTraining) { check(AOT_MODEL(aot_rnn_tanh_train), 5, 3); }
TEST(Aot, RnnReluTrainingHidden1TwoLayers) { check(AOT_MODEL(aot_rnn_relu_train), 4, 1); }
TEST(Aot, GruTrainingBidirectional) { check(AOT_MODEL(aot_gru_train), 6, 3); }
TEST(Aot, PeepholeLstmTraining) { check(AOT_MODEL(aot_peephole_lstm_train), 3, 2); }
TEST(Aot, LayernormLstmTrainingTwoLayers) { check(AOT_MODEL(aot_layernorm_lstm_train), 5, 3); }
TEST(Aot, LayernormLstmTrainingFullLength) { check(AOT_MODEL(aot_layernorm_lstm_full_train), 4, 3); }
TEST(Aot, LstmTrainingWeightPanels) { check(AOT_MODEL(aot_lstm_panels_train), 3, 19); }
TEST(Aot, ModelFromAGenerator) { check(AOT_MODEL(aot_mgu_generator), 5, 2); }

TEST(Aot, LoadPicksATargetAndRuns) {
  auto model = rnnc_models::aot_gru_infer::load();
  model->init_params(1);
  runtime::Tensor<float> x({3, 2, 3}, 0.5f);
  auto out = model->run("forward", {x, runtime::IntTensor({2}, {3, 2})});
  EXPECT_EQ(std::get<Tensor<float>>(out[0]).shape, (runtime::Dims{3, 2, 129}));
}

// A library compiled for the CPU only, asked for CUDA: the CPU model, and one line saying why (no driver
// or device here; on a GPU machine, no CUDA target in the library).
TEST(Aot, CudaRequestFallsBackToTheCpuWithANote) {
  EXPECT_THROW(rnnc_models::aot_gru_infer::load(runtime::Device::Cuda), UserError);
  std::string note;
  auto model = rnnc_models::aot_gru_infer::load_or_fallback(runtime::Device::Cuda, &note);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->device(), runtime::Device::Cpu);
  EXPECT_EQ(note.find('\n'), std::string::npos) << note;
  EXPECT_NE(note.find("running on the CPU instead"), std::string::npos) << note;
  EXPECT_TRUE(note.rfind("--device cuda: ", 0) == 0 || note.rfind("aot_gru_infer: compiled for no cuda target", 0) == 0)
      << note;
  std::cout << "[ note     ] " << note << "\n";
  model->init_params(1);
  auto out = model->run("forward", {runtime::Tensor<float>({2, 1, 3}, 0.5f), runtime::IntTensor({1}, {2})});
  EXPECT_EQ(std::get<Tensor<float>>(out[0]).shape, (runtime::Dims{2, 1, 129}));
  // The CPU itself needs no note.
  note.clear();
  EXPECT_TRUE(rnnc_models::aot_gru_infer::load_or_fallback(runtime::Device::Cpu, &note));
  EXPECT_TRUE(note.empty()) << note;
}

}  // namespace
}  // namespace rnnc
