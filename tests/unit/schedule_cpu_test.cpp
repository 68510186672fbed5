// Structural checks of the CPU schedules, no timing: decisions that change the speed several-fold
// without changing any result, so the correctness tests cannot see them.
#include <gtest/gtest.h>

#include <functional>

#include "codegen/lower.h"
#include "codegen/schedule_cpu.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/execution_plan.h"

namespace rnnc {
namespace {

ir::Module optimized(const std::string& model, bool training, int64_t input = 100, int64_t hidden = 128, bool lengths = true) {
  ir::Module m = zoo::build_cell_model(model, {.input_size = input, .hidden_size = hidden, .num_layers = 2, .lengths = lengths});
  passes::PassManager pm;
  training ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  pm.run(m);
  return m;
}

bool computed_at_root(const Halide::Func& f) {
  Halide::LoopLevel level = f.function().schedule().compute_level();
  level.lock();
  return level.is_root();
}

// A wide product written straight to a kernel output and read by nothing else (the hoisted input
// projection x·W_ih of every layer) is register-tiled inside its output. A regression once sent
// all of them down the untiled path (its own `tiles` Func counted as another reader): 5-6x slower.
void expect_hoisted_products_tiled(const std::string& model, bool training) {
  ir::Module m = optimized(model, training);
  runtime::ExecutionPlan plan(m);
  const Halide::Target target("x86-64-linux-avx-avx2-fma-sse41");
  int tiled = 0;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (spec.step) continue;
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    codegen::schedule_cpu(k, target);
    for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
      if (!mm.output.defined() || mm.partial.defined() || mm.rank < 2 || mm.n_extent < 16) continue;
      EXPECT_FALSE(computed_at_root(mm.func))
          << model << " " << spec.name << ": product " << mm.func.name() << " is not tiled inside " << mm.output.name();
      ++tiled;
    }
  }
  EXPECT_GE(tiled, 2) << model << ": expected the hoisted projections of both layers";
}

TEST(ScheduleCpu, HoistedProjectionsAreTiledInference) {
  for (const char* model : {"lstm", "gru", "rnn-tanh"}) expect_hoisted_products_tiled(model, false);
}

TEST(ScheduleCpu, HoistedProjectionsAreTiledTraining) { expect_hoisted_products_tiled("lstm", true); }

// The loop a Func is computed in ("" at root or inlined).
std::string compute_var(const Halide::Func& f) {
  Halide::LoopLevel level = f.function().schedule().compute_level();
  level.lock();
  return level.is_root() || level.is_inlined() ? "" : level.var().name();
}

// Every plain product (hoisted, recurrent, input gradient) of a model, forward and backward, and how it is
// computed: "tiled" (the accumulator per register tile, inside the output's column tiles `no`),
// "panels" (its weights read as column panels, runtime/weight_panels.h: the accumulator inside the row
// tiles `mo`, which run inside the panels) or "blocked" (in row blocks, inside `mb`, chunked along k).
// Weights of 512 KiB and more whose N is a multiple of 64 are read as panels (H 512: 1.19 -> 1.00 of
// oneDNN's forward; H 1024: 1.56 -> 0.97, where blocking had been 2x faster than tiles); larger ones
// that cannot be (over 8 MiB, N ragged) are blocked; smaller ones tiled (blocked 15-40 % slower there).
void expect_products(const std::string& model, int64_t input, int64_t hidden,
                     const std::function<std::string(const codegen::FuncRoles::MatMul&)>& want) {
  ir::Module m = optimized(model, /*training=*/true, input, hidden);
  runtime::ExecutionPlan plan(m);
  const Halide::Target target("x86-64-linux-avx-avx2-fma-sse41");
  int seen = 0;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    // Feeders' row copies read their weights unpacked (runtime/weight_panels.h) and run only where the
    // weights are small (compiled_executor.cpp, kFeedWeightBytes).
    if (spec.cpu_only) continue;
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    codegen::schedule_cpu(k, target);
    for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
      if (mm.partial.defined() || mm.rank < 2 || mm.n_extent < 16 || computed_at_root(mm.func)) continue;
      const std::string kind = mm.b_panels ? "panels" : mm.blocked ? "blocked" : "tiled";
      const std::string at = kind == "panels" ? "mo" : kind == "blocked" ? "mb" : "no";
      const std::string where = model + " H" + std::to_string(hidden) + " " + spec.name + ": product " + mm.func.name() +
                                " (k " + std::to_string(mm.k_extent) + ", n " + std::to_string(mm.n_extent) + ")";
      EXPECT_EQ(kind, want(mm)) << where;
      EXPECT_EQ(compute_var(mm.func), at) << where;
      ++seen;
    }
  }
  EXPECT_GE(seen, 4) << model << ": expected the hoisted, recurrent and input-gradient products";
}

std::function<std::string(const codegen::FuncRoles::MatMul&)> all(const std::string& kind) {
  return [kind](const codegen::FuncRoles::MatMul&) { return kind; };
}

TEST(ScheduleCpu, LargeProductsReadTheirWeightsAsPanels) {
  for (const char* model : {"lstm", "gru"}) {
    expect_products(model, 512, 512, all("panels"));
    expect_products(model, 1024, 1024, all("panels"));
  }
}

// Input 700, hidden 837: no N is a multiple of 64. Weights over 8 MiB are blocked, the others tiled.
TEST(ScheduleCpu, LargeRaggedProductsAreBlocked) {
  for (const char* model : {"lstm", "gru"}) {
    expect_products(model, 700, 837, [](const codegen::FuncRoles::MatMul& mm) {
      return mm.k_extent * mm.n_extent * 4 > (8 << 20) ? "blocked" : "tiled";
    });
  }
}

TEST(ScheduleCpu, SmallerProductsAreTiled) {
  for (const char* model : {"lstm", "gru"}) expect_products(model, 100, 128, all("tiled"));
}

// Whether dim d of f is allocated at a fixed size (Func::bound_storage).
bool storage_bounded(const Halide::Func& f, int d) {
  const std::string name = f.args()[d].name();
  for (const Halide::Internal::StorageDim& s : f.function().schedule().storage_dims()) {
    if (s.var == name) return s.bound.defined();
  }
  return false;
}

// A register tile's scratch (and a transposed product's partial tile) has a constant size. The row tile
// at the edge is guarded, fewer rows: left to bounds inference, the scratch's size was dynamic and Halide
// put a malloc and a free around every tile, 88 per time step of a hoisted projection (workload S on
// Zen 5: forward ~29.5 -> ~24 ms, training ~105 -> ~93 ms once bounded).
TEST(ScheduleCpu, TileScratchHasConstantSize) {
  for (const char* target : {"x86-64-linux-avx-avx2-fma-sse41", "x86-64-linux-avx-avx2-avx512-avx512_skylake-fma-sse41"}) {
    ir::Module m = optimized("lstm", /*training=*/true);
    runtime::ExecutionPlan plan(m);
    int tiles = 0, partials = 0;
    for (const runtime::KernelSpec& spec : plan.kernels()) {
      codegen::LoweredKernel k = codegen::lower_kernel(spec);
      codegen::schedule_cpu(k, Halide::Target(target));
      for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
        if (mm.partial.defined()) {
          EXPECT_TRUE(storage_bounded(mm.partial, 1) && storage_bounded(mm.partial, 2))
              << target << " " << spec.name << ": partial tile " << mm.partial.name() << " sized by bounds inference";
          ++partials;
        } else if (!computed_at_root(mm.func) && compute_var(mm.func) != "mb") {
          EXPECT_TRUE(storage_bounded(mm.func, 1))
              << target << " " << spec.name << ": register tile " << mm.func.name() << " sized by bounds inference";
          ++tiles;
        }
      }
    }
    EXPECT_GE(tiles, 6) << target << ": hoisted, recurrent and input-gradient products";
    EXPECT_GE(partials, 4) << target << ": weight gradients";
  }
}

// Whether f sums an rfactor'ed intermediate (Halide names it <name>_intm): a reduction split into
// partial sums (lanes of a vector, or one copy per thread) that f then adds up.
bool sums_an_rfactor(const Halide::Func& f) {
  for (const auto& [name, unused] : Halide::Internal::find_direct_calls(f.function())) {
    std::string callee = name;
    // Halide keeps names unique in the process: a second "x_intm" (another test lowered the same
    // kernel) is "x_intm$1".
    if (size_t dollar = callee.rfind('$'); dollar != std::string::npos &&
        callee.find_first_not_of("0123456789", dollar + 1) == std::string::npos) {
      callee.resize(dollar);
    }
    if (callee.size() > 5 && callee.compare(callee.size() - 5, 5, "_intm") == 0) return true;
  }
  return false;
}

// Whether a weight gradient (a transpose_a product) is summed by rows across the threads, each thread
// into a copy of its own.
bool rows_split(const codegen::FuncRoles::MatMul& mm) { return sums_an_rfactor(mm.func); }

// The weight gradients (transpose_a products) of a training module, each lowered and scheduled for
// AVX-512, with the name of its kernel.
std::vector<std::pair<std::string, codegen::FuncRoles::MatMul>> scheduled_weight_gradients(const ir::Module& m) {
  runtime::ExecutionPlan plan(m);
  std::vector<std::pair<std::string, codegen::FuncRoles::MatMul>> out;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (spec.step) continue;
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    codegen::schedule_cpu(k, Halide::Target("x86-64-linux-avx-avx2-avx512-avx512_skylake-fma-sse41"));
    for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
      if (mm.partial.defined()) out.emplace_back(spec.name, mm);
    }
  }
  return out;
}

// Weight gradients split their rows across the threads where a copy of the output fits in this L2
// (1 MiB: [4H, H] up to H 256), and their output tiles above. Measured on Zen 5 (kernel_bench train,
// docs/performance.md): at H 256 each [1024, 256] gradient 21.7-22.1 ms split by tiles, 18.6-19.2 by
// rows; at H 512 ([2048, 512], 4 MiB a copy) the row split made the training step 1.3-1.4x slower.
TEST(ScheduleCpu, WeightGradientsSplitRowsWhereACopyFitsInL2) {
  for (const auto& [hidden, split] : {std::pair<int64_t, bool>{128, true}, {256, true}, {512, false}}) {
    const auto gradients = scheduled_weight_gradients(optimized("lstm", /*training=*/true, /*input=*/hidden, hidden));
    for (const auto& [kernel, mm] : gradients) {
      EXPECT_EQ(rows_split(mm), split) << "H" << hidden << " " << kernel << ": " << mm.func.name() << " ("
                                       << mm.output_bytes << " bytes)";
    }
    EXPECT_EQ(gradients.size(), 4u) << "H" << hidden << ": W_ih and W_hh of both layers";
  }
}

// The constant a schedule list (bounds or storage dims) gives dim d of f in its `field`, or -1 where the
// list has no such entry or the value is not a constant.
template <typename Entry>
int64_t scheduled_constant(const std::vector<Entry>& entries, Halide::Expr Entry::*field, const Halide::Func& f, int d) {
  const std::string name = f.args()[d].name();
  for (const Entry& e : entries) {
    if (e.var == name && (e.*field).defined()) {
      const int64_t* v = Halide::Internal::as_const_int(e.*field);
      return v ? *v : -1;
    }
  }
  return -1;
}

// The extent dim d of f is computed over (Func::bound_extent), or -1.
int64_t bounded_extent(const Halide::Func& f, int d) {
  return scheduled_constant(f.function().schedule().bounds(), &Halide::Internal::Bound::extent, f, d);
}

// The fixed size of dim d of f (Func::bound_storage), or -1.
int64_t storage_bound(const Halide::Func& f, int d) {
  return scheduled_constant(f.function().schedule().storage_dims(), &Halide::Internal::StorageDim::bound, f, d);
}

// Weight gradients' register tiles on AVX-512: 6 rows x 4 vectors (64 columns) where the computed N is
// a whole number of 64-column tiles, as the plain products' (10 loads per 24 FMAs instead of 14 with
// 12 rows x 2 vectors). At S that is all four: [512, 128] three times, and layer 1's [512, 100], which is
// computed transposed (its fast dim is then M = 512). kernel_bench train: 4.4-4.7 -> 4.3 ms each, the
// ragged one 4.2 -> 3.7; the training step ~1 ms faster, alternating builds (docs/performance.md).
TEST(ScheduleCpu, WeightGradientTilesOfFourVectorsOnAvx512) {
  const auto gradients = scheduled_weight_gradients(optimized("lstm", /*training=*/true));
  for (const auto& [kernel, mm] : gradients) {
    EXPECT_EQ(mm.n_extent % 64, 0) << kernel << ": N " << mm.n_extent;
    EXPECT_EQ(bounded_extent(mm.partial, 0), 64) << kernel << ": columns of " << mm.partial.name();
    EXPECT_EQ(storage_bound(mm.partial, 1), 6) << kernel << ": rows of " << mm.partial.name();
  }
  EXPECT_EQ(gradients.size(), 4u) << "W_ih and W_hh of both layers";
}

// Whether a product's reduction loop is split for unrolling (a loop "...ki" in its update).
bool reduction_unrolled(const Halide::Func& f) {
  for (const Halide::Internal::Dim& d : f.function().update(0).schedule().dims()) {
    if (d.var.size() >= 3 && d.var.compare(d.var.size() - 3, 3, ".ki") == 0) return true;
  }
  return false;
}

// A feeder's single-threaded copy (<name>_rows) of a time-stacked product does not unroll its
// reduction: there LLVM spilled all 24 accumulators in every iteration (1.75x slower than the parallel
// kernel on one thread). Every other product does (LSTM H 512 training ~7 % slower without).
TEST(ScheduleCpu, FeederCopiesKeepTheirAccumulatorsInRegisters) {
  ir::Module m = optimized("lstm", /*training=*/false);
  runtime::ExecutionPlan plan(m);
  int copies = 0, others = 0;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    codegen::schedule_cpu(k, Halide::Target("x86-64-linux-avx-avx2-avx512-avx512_skylake-fma-sse41"));
    for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
      const bool copy = spec.cpu_only;
      EXPECT_EQ(reduction_unrolled(mm.func), !copy) << spec.name << ": " << mm.func.name();
      ++(copy ? copies : others);
    }
  }
  EXPECT_EQ(copies, 2) << "the _rows copies of both layers' input projections";
  EXPECT_GE(others, 4) << "the projections themselves and the steps' recurrent products";
}

// The gate gradients [dI dF dG dO] of an LSTM's backward step (and a GRU's three) are one dense copy per
// part. Written as one select chain over the concatenated (vectorised) dim, each vector read all four
// parts at clamped indices: four gathers per vector, a backward step 47 -> 27 us per call on Zen 5.
// GPU lowering keeps the chain (one thread per element: no gathers there). The parts cover the result, so
// its pure definition stores nothing, and each part is computed inside its copy loop, not into a buffer of
// its own first: a zero fill (a 64 KiB memset per call) and four 16 KiB round trips cost S's backward step
// 34.5 -> 30.5 us per call.
TEST(ScheduleCpu, GateGradientsAreConcatenatedPartByPart) {
  for (const auto& [model, gates] : {std::pair<const char*, size_t>{"lstm", 4}, {"gru", 3}}) {
    ir::Module m = optimized(model, /*training=*/true);
    runtime::ExecutionPlan plan(m);
    int steps = 0;
    for (const runtime::KernelSpec& spec : plan.kernels()) {
      if (!spec.step || spec.name.find("backward") == std::string::npos) continue;
      codegen::LoweredKernel k = codegen::lower_kernel(spec);
      codegen::schedule_cpu(k, Halide::Target("x86-64-linux-avx-avx2-fma-sse41"));
      ASSERT_FALSE(k.roles.concats.empty()) << model << " " << spec.name << ": no concat built part by part";
      const codegen::FuncRoles::Concat& c = k.roles.concats.front();
      EXPECT_EQ(c.parts.size(), gates) << model << " " << spec.name;
      EXPECT_EQ(static_cast<size_t>(c.func.num_update_definitions()), gates) << model << " " << spec.name;
      EXPECT_TRUE(computed_at_root(c.func)) << model << " " << spec.name;
      const auto* pure = c.func.value().as<Halide::Internal::Call>();
      EXPECT_TRUE(pure && pure->is_intrinsic(Halide::Internal::Call::undef))
          << model << " " << spec.name << ": the pure definition stores " << c.func.value();
      // (A GRU's gate gradients are read again by the step, so they are computed once.)
      for (int u = 0; std::string(model) == "lstm" && u < c.func.num_update_definitions(); ++u) {
        const auto* part = c.func.update_value(u).as<Halide::Internal::Call>();
        ASSERT_TRUE(part && part->call_type == Halide::Internal::Call::Halide) << model << " " << spec.name;
        for (const Halide::Func& shared : k.roles.shared) {
          EXPECT_NE(shared.name(), part->name) << model << " " << spec.name << ": part " << u << " goes through a buffer";
        }
      }
      codegen::LowerOptions gpu;
      gpu.concat_by_parts = false;
      EXPECT_TRUE(codegen::lower_kernel(spec, gpu).roles.concats.empty()) << model << " " << spec.name;
      ++steps;
    }
    EXPECT_EQ(steps, 2) << model << ": one backward step per layer";
  }
}

// A layer-norm LSTM's steps: (1) the training forward step saves h·W_hh as an output that the gate math
// also reads; that product is register-tiled, not accumulated one output vector at a time (270 -> ~60
// us per step call on Zen 5), and tiled in the output itself, which the gate math then reads: built in a
// root buffer of its own that the output copied, the step took 47 us instead of 36 (kernel_bench, 32
// rows, STREAM=seq). (2) The row statistics (mean,
// variance, their gradients' sums over 4H or H) sum vectors of lanes (rfactor into an `_intm`), not one
// scalar chain per row (inference forward step 100 -> 39 us).
TEST(ScheduleCpu, LayerNormStepsTileTheirProductAndVectoriseTheirStatistics) {
  // Without lengths, as rnnc-bench runs it: a masked step's outputs select, so none is the product.
  ir::Module m = optimized("layernorm-lstm", /*training=*/true, 100, 128, /*lengths=*/false);
  runtime::ExecutionPlan plan(m);
  int shared_products = 0, reductions = 0;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (!spec.step) continue;
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    codegen::schedule_cpu(k, Halide::Target("x86-64-linux-avx-avx2-avx512-avx512_skylake-fma-sse41"));
    for (const codegen::FuncRoles::MatMul& mm : k.roles.matmuls) {
      if (!mm.output.defined()) continue;
      EXPECT_FALSE(computed_at_root(mm.func)) << spec.name << ": " << mm.func.name() << " untiled";
      EXPECT_EQ(mm.tiles.name(), mm.output.name()) << spec.name << ": the output copies " << mm.tiles.name();
      ++shared_products;
    }
    for (const Halide::Func& f : k.roles.reductions) {
      EXPECT_TRUE(sums_an_rfactor(f)) << spec.name << ": reduction " << f.name() << " left scalar";
      ++reductions;
    }
  }
  EXPECT_GE(shared_products, 2) << "a saved h·W_hh in each layer's training forward step";
  EXPECT_GE(reductions, 8);
}

// A layer norm or its gradient that is a step's output is computed in the output itself, not into a
// buffer of its own that the output then copies (a layer-norm LSTM's backward step copied both of its
// [rows, 4H] results: 12 % of its samples). The same value yielded twice (the normalised cell state as
// the next carry and as a stacked output: both are the carry's buffer at run time) is computed in one
// output and copied by the other.
TEST(ScheduleCpu, LayerNormOutputsAreComputedInPlaceNotCopied) {
  ir::Module m = optimized("layernorm-lstm", /*training=*/true, 100, 128, /*lengths=*/false);  // masked outputs select
  runtime::ExecutionPlan plan(m);
  int norm_outputs = 0;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (!spec.step) continue;
    codegen::LoweredKernel k = codegen::lower_kernel(spec);
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      const ir::OpKind op = spec.function->op(spec.outputs[i].node);
      if (op != ir::OpKind::LayerNorm && op != ir::OpKind::LayerNormGrad) continue;
      ++norm_outputs;
      const auto* call = k.outputs[i].value().as<Halide::Internal::Call>();
      bool copies_an_output = false;
      for (const Halide::Func& o : k.outputs) copies_an_output |= call && call->name == o.name();
      EXPECT_FALSE(call && call->call_type == Halide::Internal::Call::Halide && !copies_an_output)
          << spec.name << ": output " << i << " (" << ir::op_name(op) << ") copies " << (call ? call->name : "");
    }
  }
  // The backward steps' input and hidden projection gradients, and each step's normalised cell state.
  EXPECT_GE(norm_outputs, 6);
}

}  // namespace
}  // namespace rnnc
