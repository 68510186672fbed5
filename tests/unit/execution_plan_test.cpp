// The execution plan: which kernels a scan runs itself (feeders), for the zoo's models.
#include <gtest/gtest.h>

#include <set>

#include "frontend/zoo.h"
#include "ir/parser.h"
#include "passes/pipeline.h"
#include "runtime/execution_plan.h"

namespace rnnc {
namespace {

ir::Module optimized(const std::string& model, bool training) {
  ir::Module m = zoo::build_cell_model(model, {.input_size = 100, .hidden_size = 128, .num_layers = 2});
  passes::PassManager pm;
  training ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  pm.run(m);
  return m;
}

// The feeders of each scan of `function`, in plan order, and a check that none is also a step.
std::vector<std::vector<runtime::Feeder>> feeders_of(const runtime::ExecutionPlan& plan, const std::string& function) {
  std::vector<std::vector<runtime::Feeder>> out;
  std::set<size_t> steps;
  for (const runtime::PlanStep& step : plan.function(function).steps) {
    steps.insert(step.kernel);
    if (step.kind == runtime::PlanStep::Kind::Scan) out.push_back(step.feeders);
  }
  for (const auto& scan : out) {
    for (const runtime::Feeder& f : scan) {
      EXPECT_FALSE(steps.count(f.kernel)) << plan.kernels()[f.kernel].name << " runs both as a step and as a feeder";
    }
  }
  return out;
}

// The step kernels' carries, by scan, and which of them are updated in place.
std::vector<std::vector<bool>> in_place_by_scan(const runtime::ExecutionPlan& plan, const std::string& function) {
  std::vector<std::vector<bool>> out;
  for (const runtime::PlanStep& step : plan.function(function).steps) {
    if (step.kind != runtime::PlanStep::Kind::Scan) continue;
    const runtime::KernelSpec& spec = plan.kernels()[step.kernel];
    EXPECT_EQ(spec.in_place_carries.size(), static_cast<size_t>(spec.carries)) << spec.name;
    out.push_back(spec.in_place_carries);
  }
  return out;
}

// Weights of 512 KiB and more that only products read as their right operand are read as column panels
// (KernelSpec::panel_inputs, runtime/weight_panels.h). At hidden 256 (input 256): each step's recurrent
// weights ([256, 1024] forward, [1024, 256] backward) and the hoisted products' ([256, 1024] projection,
// [1024, 256] input gradient); not the weight gradients' (transpose_a: their right operand is rows of
// data). At workload S (hidden 128: 256 KiB) nothing: its kernels stay as they were.
TEST(ExecutionPlan, LargeProductWeightsAreReadAsPanels) {
  auto build = [](int64_t size) {
    ir::Module m = zoo::build_cell_model("lstm", {.input_size = size, .hidden_size = size, .num_layers = 1, .lengths = false});
    passes::PassManager pm;
    passes::add_training_pipeline(pm);
    pm.run(m);
    return m;
  };
  ir::Module large = build(256);
  runtime::ExecutionPlan plan(large);
  std::vector<std::string> panels;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    for (int64_t i : spec.panel_inputs) {
      const ir::TensorType& t = spec.function->type(spec.inputs[static_cast<size_t>(i)]);
      panels.push_back(spec.name + " [" + std::to_string(t.shape[0].size) + ", " + std::to_string(t.shape[1].size) + "]");
    }
  }
  EXPECT_EQ(panels, (std::vector<std::string>{"lstm_forward_k4 [256, 1024]", "lstm_forward_scan0_step [256, 1024]",
                                              "lstm_backward_scan0_step [1024, 256]", "lstm_backward_k2 [1024, 256]"}));
  for (const char* model : {"lstm", "gru", "layernorm-lstm"}) {
    ir::Module s = optimized(model, /*training=*/true);
    runtime::ExecutionPlan p(s);
    for (const runtime::KernelSpec& spec : p.kernels()) EXPECT_TRUE(spec.panel_inputs.empty()) << model << ": " << spec.name;
  }
}

// A layer-norm LSTM's backward scans carry d_h, d_c and five sums over time (the gradients of the
// norms' scales and shifts, added to in every step and read by nothing else): the sums are updated in
// place, d_h and d_c are not (each step computes them anew). No forward scan's carry is a sum.
TEST(ExecutionPlan, SumsCarriedOverTimeAreUpdatedInPlace) {
  ir::Module m = optimized("layernorm-lstm", /*training=*/true);
  runtime::ExecutionPlan plan(m);
  const std::vector<bool> backward{false, false, true, true, true, true, true};
  EXPECT_EQ(in_place_by_scan(plan, "backward"), (std::vector<std::vector<bool>>{backward, backward}));
  for (const char* model : {"lstm", "gru", "layernorm-lstm"}) {
    ir::Module t = optimized(model, /*training=*/true);
    runtime::ExecutionPlan p(t);
    for (const std::vector<bool>& scan : in_place_by_scan(p, "forward")) {
      for (bool in_place : scan) EXPECT_FALSE(in_place) << model;
    }
  }
}

// A sum whose carry or total is read by anything else is not updated in place: with one buffer, a
// read after the step wrote an element would see the new sum.
TEST(ExecutionPlan, SumsReadElsewhereAreNotUpdatedInPlace) {
  ir::Module m = ir::parse_module(R"(
module @sums {
  func @f(%x: f32[time, batch, 2]) -> (f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[time, batch, 2]) {
    %z = constant 0.0 : f32[batch, 2]
    %a_n, %b_n, %c_n, %d_n, %e_n, %y = scan forward carry(%a = %z, %b = %z, %c = %z, %d = %z, %e = %z) seq(%x = %x) invariant() {
      %a1 = add %a, %x : f32[batch, 2]
      %e1 = add %e, %x : f32[batch, 2]
      %b1 = add %b, %x : f32[batch, 2]
      %bx = mul %b, %x : f32[batch, 2]
      %c1, %c2 = fused(%c = %c, %x = %x) {
        %s = add %c, %x : f32[batch, 2]
        %t = mul %s, %x : f32[batch, 2]
        yield %s, %t
      } : f32[batch, 2], f32[batch, 2]
      %d1 = fused(%d = %d, %x = %x) {
        %s = add %x, %d : f32[batch, 2]
        yield %s
      } : f32[batch, 2]
      %y0 = add %bx, %c2 : f32[batch, 2]
      %y = add %y0, %e1 : f32[batch, 2]
      yield next(%a1, %b1, %c1, %d1, %e1) out(%y)
    } : f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[batch, 2], f32[time, batch, 2]
    return %a_n, %b_n, %c_n, %d_n, %e_n, %y
  }
}
)");
  runtime::ExecutionPlan plan(m);
  // a: a plain sum; b: its carry is read by %bx too; c: its sum is read by %t too, in its group; d: a
  // sum in a group; e: its sum is read by %y too.
  EXPECT_EQ(in_place_by_scan(plan, "f"), (std::vector<std::vector<bool>>{{true, false, false, true, false}}));
}

// Each layer's hoisted input projection x·W_ih is a single matmul read by its scan alone: the scan
// runs it, through a single-threaded copy of it that has the same inputs and outputs.
TEST(ExecutionPlan, HoistedProjectionsFeedTheirScans) {
  for (const char* model : {"lstm", "gru", "rnn-tanh", "layernorm-lstm"}) {
    ir::Module m = optimized(model, /*training=*/false);
    runtime::ExecutionPlan plan(m);
    std::vector<std::vector<runtime::Feeder>> scans = feeders_of(plan, "forward");
    ASSERT_EQ(scans.size(), 2u) << model;
    for (const auto& feeders : scans) {
      ASSERT_EQ(feeders.size(), 1u) << model;
      const runtime::KernelSpec& whole = plan.kernels()[feeders[0].kernel];
      const runtime::KernelSpec& rows = plan.kernels()[feeders[0].rows_kernel];
      ASSERT_EQ(whole.nodes.size(), 1u) << model << " " << whole.name;
      EXPECT_EQ(whole.function->op(whole.nodes[0]), ir::OpKind::MatMul) << model << " " << whole.name;
      EXPECT_EQ(feeders[0].sequence, 0) << model;
      EXPECT_EQ(rows.name, whole.name + "_rows");
      EXPECT_TRUE(rows.row_separable && !whole.row_separable) << model << " " << rows.name;
      EXPECT_EQ(rows.nodes, whole.nodes);
      EXPECT_EQ(rows.inputs, whole.inputs);
      EXPECT_EQ(rows.outputs, whole.outputs);
    }
  }
}

// Training: the forward scans are fed their projections; in @backward the upper layer's scan has
// nothing to be fed (its input is the loss gradient), and the lower one is fed the input gradient of
// the upper layer, dg · W_ih. The weight gradients (transpose_a products, which sum over all rows)
// never feed a scan.
TEST(ExecutionPlan, BackwardScansAreFedTheUpperLayersInputGradient) {
  ir::Module m = optimized("lstm", /*training=*/true);
  runtime::ExecutionPlan plan(m);
  std::vector<std::vector<runtime::Feeder>> forward = feeders_of(plan, "forward");
  ASSERT_EQ(forward.size(), 2u);
  EXPECT_EQ(forward[0].size(), 1u);
  EXPECT_EQ(forward[1].size(), 1u);
  std::vector<std::vector<runtime::Feeder>> backward = feeders_of(plan, "backward");
  ASSERT_EQ(backward.size(), 2u);
  EXPECT_TRUE(backward[0].empty());
  ASSERT_EQ(backward[1].size(), 1u);
  const runtime::KernelSpec& dx = plan.kernels()[backward[1][0].kernel];
  EXPECT_FALSE(dx.function->node(dx.nodes[0]).attrs.has_flag("transpose_a")) << dx.name;
  // The LSTM's training saves no projection: its pieces are the scan's alone.
  EXPECT_FALSE(forward[0][0].kept || forward[1][0].kept || backward[1][0].kept);
}

// A layer-norm LSTM's training returns x·W_ih (its backward normalises it again): the projections still
// feed their scans, into the whole sequence (Feeder::kept), which @forward then returns.
TEST(ExecutionPlan, ProjectionsTheFunctionReturnsAreFedAndKept) {
  ir::Module m = optimized("layernorm-lstm", /*training=*/true);
  runtime::ExecutionPlan plan(m);
  std::vector<std::vector<runtime::Feeder>> forward = feeders_of(plan, "forward");
  ASSERT_EQ(forward.size(), 2u);
  for (const auto& feeders : forward) {
    ASSERT_EQ(feeders.size(), 1u);
    EXPECT_TRUE(feeders[0].kept) << plan.kernels()[feeders[0].kernel].name;
  }
  // Inference returns no projection: fed as the LSTM's are.
  ir::Module inference = optimized("layernorm-lstm", /*training=*/false);
  runtime::ExecutionPlan inference_plan(inference);
  for (const auto& feeders : feeders_of(inference_plan, "forward")) {
    ASSERT_EQ(feeders.size(), 1u);
    EXPECT_FALSE(feeders[0].kept);
  }
}

}  // namespace
}  // namespace rnnc
