// Lowering must not depend on what was lowered before it in the process. Halide gives a Func a name
// with a suffix when the one asked for was used before, so every lookup by name has to use the name
// the Func got: keyed by the name asked for, a GPU step's gate slices once missed their gate-major
// product whenever an unrelated kernel had added Funcs, and the step kernel took another path.
#include <gtest/gtest.h>

#include <Halide.h>

#include "codegen/lower.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/execution_plan.h"

namespace rnnc {
namespace {

int gate_major_products(const runtime::KernelSpec& spec) {
  codegen::LoweredKernel k = codegen::lower_kernel(spec, {.slice_products = true});
  int n = 0;
  for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) n += mm.gate_major;
  return n;
}

TEST(LowerNames, GateSlicesFindTheirProductWhateverWasLoweredBefore) {
  ir::Module m = zoo::build_cell_model("lstm", {.input_size = 5, .hidden_size = 6, .num_layers = 2, .lengths = true});
  passes::PassManager pm;
  passes::add_training_pipeline(pm);
  pm.run(m);
  runtime::ExecutionPlan plan(m);
  std::vector<const runtime::KernelSpec*> steps;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (spec.step && spec.name.find("forward") != std::string::npos) steps.push_back(&spec);
  }
  ASSERT_FALSE(steps.empty());
  // The names a product's register tiles ask for (op_func_name: "<op>_<counter>" + "_tiles"), taken
  // first: Halide then hands out suffixed ones, as it does when another Func held the name or its
  // hash bucket before.
  std::vector<Halide::Func> taken;
  for (int i = 0; i < 400; ++i) taken.emplace_back("matmul_" + std::to_string(i) + "_tiles");
  std::vector<int> first;
  for (const runtime::KernelSpec* spec : steps) first.push_back(gate_major_products(*spec));
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_GT(first[i], 0) << steps[i]->name << ": its gates slice one product";
  // Every kernel lowered again, several times over: the names asked for are all taken by now.
  for (int round = 0; round < 3; ++round) {
    for (const runtime::KernelSpec& spec : plan.kernels()) codegen::lower_kernel(spec, {.slice_products = true});
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_EQ(gate_major_products(*steps[i]), first[i]) << steps[i]->name << ", round " << round;
    }
  }
}

}  // namespace
}  // namespace rnnc
