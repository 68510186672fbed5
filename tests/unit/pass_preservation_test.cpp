// Every pass alone, and the full pipelines, preserve what the module computes: @forward's results (and
// @backward's gradients) on the reference executor, float64, random inputs, variable lengths.
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/zoo.h"
#include "ir/printer.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

using runtime::Tensor;
using Named = std::map<std::string, Tensor<double>>;

std::vector<std::string> models() { return zoo::model_names(); }

ir::Module build(const std::string& model) {
  if (model == "imdb-classifier") {
    return zoo::build_imdb_classifier({.vocab_size = 13, .embed_dim = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true});
  }
  return zoo::build_cell_model(model, {.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true});
}

ir::Module run_passes(ir::Module m, const std::function<void(passes::PassManager&)>& add) {
  passes::PassManager pm;
  add(pm);
  pm.run(m);
  return m;
}

// The float results of `function` by name, leaving out saved activations.
Named outputs(const runtime::ReferenceExecutor<double>& ex, const std::string& function, const testing::Values& args) {
  const ir::Function& f = *ex.module().find_function(function);
  testing::Values values = ex.run(function, args);
  Named out;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& name = f.result_names()[i];
    if (name.rfind(passes::kSavedPrefix, 0) == 0) continue;
    if (const auto* t = std::get_if<Tensor<double>>(&values[i])) out[name] = *t;
  }
  return out;
}

void expect_same(const Named& want, const Named& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << what << ": no result " << name;
    const Tensor<double>& g = got.at(name);
    ASSERT_EQ(w.shape, g.shape) << what << ": " << name;
    for (int64_t k = 0; k < w.size(); ++k) {
      ASSERT_NEAR(w[k], g[k], 1e-10 * (1 + std::abs(w[k]))) << what << ": " << name << "[" << k << "]";
    }
  }
}

struct Fixture {
  ir::Module module;
  runtime::ReferenceExecutor<double> reference;
  testing::Values inputs;

  explicit Fixture(const std::string& model, int64_t time = 5) : module(build(model)), reference(module) {
    reference.init_params(3);
    std::mt19937 gen(17);
    inputs = testing::random_inputs(module.functions()[0], {{"time", time}, {"batch", 3}}, gen, 13, 2);
  }

  runtime::ReferenceExecutor<double> executor(const ir::Module& m) const {
    runtime::ReferenceExecutor<double> ex(m);
    for (const auto& [name, t] : reference.params()) ex.set_param(name, t);
    return ex;
  }
};

class PassPreservation : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(PassPreservation, ForwardResultsUnchanged) {
  const auto& [model, list] = GetParam();
  for (int64_t time : {1, 5}) {
    Fixture fx(model, time);
    // (an explicit capture: clang 14 cannot capture a structured binding)
    ir::Module after = run_passes(fx.module, [&l = list](passes::PassManager& pm) { passes::add_passes(pm, l); });
    expect_same(outputs(fx.reference, "forward", fx.inputs), outputs(fx.executor(after), "forward", fx.inputs),
                model + " after " + list + " (T=" + std::to_string(time) + ")\n" + ir::print_module(after));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryPassOnEveryModel, PassPreservation,
    ::testing::Combine(::testing::ValuesIn(models()),
                       ::testing::Values("canonicalize", "cse", "dce", "fuse-gates", "hoist-projections",
                                         "fuse-elementwise", "transpose-weights", "unroll=2", "unroll=3", "unroll=8", "partition-kernels",
                                         "fuse-gates,hoist-projections,canonicalize,cse,dce,fuse-elementwise,unroll=2")),
    [](const auto& info) {
      std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n.substr(0, 90);
    });

class PipelinePreservation : public ::testing::TestWithParam<std::string> {};

// The training pipeline computes the same forward results and the same gradients as autodiff alone
// (whose gradients the finite-difference tests pin down), also when its scans are unrolled afterwards.
TEST_P(PipelinePreservation, TrainingPipelineKeepsResultsAndGradients) {
  Fixture fx(GetParam());
  ir::Module plain = run_passes(fx.module, [](passes::PassManager& pm) { passes::add_passes(pm, "autodiff"); });
  ir::Module optimized = run_passes(fx.module, [](passes::PassManager& pm) { passes::add_training_pipeline(pm); });
  ir::Module unrolled = run_passes(optimized, [](passes::PassManager& pm) { passes::add_passes(pm, "unroll=2"); });
  std::mt19937 gen(23);
  runtime::ReferenceExecutor<double> reference_ad = fx.executor(plain);
  testing::Values cotangents = testing::random_cotangents(fx.reference.run("forward", fx.inputs), gen);
  Named want_grads = testing::run_backward(reference_ad, fx.inputs, cotangents);
  for (const ir::Module* m : {&optimized, &unrolled}) {
    runtime::ReferenceExecutor<double> ex = fx.executor(*m);
    expect_same(outputs(fx.reference, "forward", fx.inputs), outputs(ex, "forward", fx.inputs), GetParam() + " forward");
    expect_same(want_grads, testing::run_backward(ex, fx.inputs, cotangents), GetParam() + " gradients");
  }
}

// The inference pipeline computes what @forward with dropout and losses stripped computes.
TEST_P(PipelinePreservation, InferencePipelineKeepsResults) {
  Fixture fx(GetParam());
  ir::Module stripped = run_passes(fx.module, [](passes::PassManager& pm) { passes::add_passes(pm, "strip-training"); });
  ir::Module optimized = run_passes(fx.module, [](passes::PassManager& pm) { passes::add_inference_pipeline(pm); });
  runtime::ReferenceExecutor<double> a = fx.executor(stripped), b = fx.executor(optimized);
  // strip-training drops arguments (labels, seed): pass what is left, by name.
  const ir::Function& original = fx.module.functions()[0];
  const ir::Function& f = *stripped.find_function("forward");
  testing::Values args;
  for (size_t i = 0; i < f.args().size(); ++i) {
    for (size_t j = 0; j < original.args().size(); ++j) {
      if (original.value_name(original.arg(j)) == f.value_name(f.arg(i))) args.push_back(fx.inputs[j]);
    }
  }
  expect_same(outputs(a, "forward", args), outputs(b, "forward", args), GetParam());
}

INSTANTIATE_TEST_SUITE_P(EveryModel, PipelinePreservation, ::testing::ValuesIn(models()), [](const auto& info) {
  std::string n = info.param;
  for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
});

}  // namespace
}  // namespace rnnc
