// Generated CPU kernels against the reference executor: every zoo model, forward and backward (the
// training pipeline) and the inference pipeline, at several shapes including odd ones (hidden 1, 7, 129;
// batch 1 and 3; one time step), with variable lengths. The oracle runs in float64; the compiled model in
// float32; norm-wise relative error < 1e-4 per result.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <thread>
#include <atomic>
#include <chrono>
#include <memory>

#include "codegen/jit.h"
#include "codegen/schedule_cpu.h"
#include "frontend/model.h"
#include "frontend/zoo.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
#include "runtime/kernel_scratch.h"
#include "runtime/param_derived_cache.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

using runtime::Tensor;

struct Shape {
  int64_t input, hidden, batch, time;
  int layers;
  bool bidirectional;
  bool lengths = true;  // cell models: a lengths input (masked steps)
};

ir::Module build(const std::string& model, const Shape& s) {
  if (model == "char-lm") {
    return zoo::build_char_lm({.vocab_size = 11, .embed_dim = s.input, .hidden_size = s.hidden, .num_layers = s.layers});
  }
  if (model == "forecaster") return zoo::build_forecaster({.features = s.input, .hidden_size = s.hidden});
  if (model == "imdb-classifier") {
    return zoo::build_imdb_classifier({.vocab_size = 11, .embed_dim = s.input, .hidden_size = s.hidden,
                                       .num_layers = s.layers, .bidirectional = s.bidirectional});
  }
  return zoo::build_cell_model(model, {.input_size = s.input, .hidden_size = s.hidden, .num_layers = s.layers,
                                       .bidirectional = s.bidirectional, .lengths = s.lengths});
}

ir::Module optimized(ir::Module m, bool training) {
  passes::PassManager pm;
  training ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  pm.run(m);
  return m;
}

// The arguments of `f` picked by name from those of `original` (the inference function has fewer).
template <typename V>
std::vector<V> args_for(const ir::Function& f, const ir::Function& original, const std::vector<V>& values) {
  std::vector<V> out;
  for (size_t i = 0; i < f.args().size(); ++i) {
    for (size_t j = 0; j < original.args().size(); ++j) {
      if (original.value_name(original.arg(j)) == f.value_name(f.arg(i))) out.push_back(values[j]);
    }
  }
  return out;
}

// Gives the reference executor the compiled model's parameters, widened to float64.
void copy_params(const runtime::CompiledModule& compiled, runtime::ReferenceExecutor<double>& reference) {
  for (const auto& [name, t] : compiled.params()) {
    reference.set_param(name, Tensor<double>(t.shape, std::vector<double>(t.data.begin(), t.data.end())));
  }
}

// `values` as buffers of `f`'s argument types, in float32.
std::vector<runtime::CompiledModule::Buffer> argument_buffers(const ir::Function& f, const testing::Values& values) {
  std::vector<runtime::CompiledModule::Buffer> out;
  std::vector<runtime::Value<float>> values32 = testing::to_f32(values);
  for (size_t i = 0; i < values32.size(); ++i) {
    out.push_back(runtime::CompiledModule::to_buffer(values32[i], f.type(f.arg(i)).dtype));
  }
  return out;
}

void expect_close(const Tensor<float>& got, const Tensor<double>& want, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  double err = testing::relative_error(got, want);
  EXPECT_LT(err, 1e-4) << what;
}

// The zoo and the examples' models (char-lm: cross-entropy over [time, batch, vocab]; forecaster: MSE).
std::vector<std::string> tested_models() {
  std::vector<std::string> names = zoo::model_names();
  names.push_back("char-lm");
  names.push_back("forecaster");
  return names;
}

class CodegenTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

const Shape kShapes[] = {{3, 1, 1, 1, 1, false}, {5, 7, 3, 6, 2, true}, {4, 129, 3, 3, 1, false}};

// @backward's arguments from @forward's results: a random cotangent, N(0, 1), for each float result
// other than the saved activations, then the saved activations as they are.
template <typename T>
std::vector<runtime::Value<T>> backward_args(const ir::Function& fwd, const std::vector<runtime::Value<T>>& results,
                                             std::mt19937& gen) {
  std::vector<runtime::Value<T>> args;
  auto saved = [&](size_t i) { return fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0; };
  for (size_t i = 0; i < results.size(); ++i) {
    if (saved(i)) continue;
    if (const auto* r = std::get_if<Tensor<T>>(&results[i])) {
      Tensor<T> c(r->shape);
      std::normal_distribution<T> normal;
      for (T& v : c.data) v = normal(gen);
      args.push_back(c);
    }
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (saved(i)) args.push_back(results[i]);
  }
  return args;
}

// Forward and backward of the training pipeline (then `more_passes`, as after any pipeline) against the
// reference; `prepare` sets the module up before it runs, `inspect` looks at it after.
void check_training(const std::string& model, const Shape& s,
                    int64_t feed_chunk_bytes = runtime::CompiledModule::kDefaultFeedChunkBytes,
                    const std::function<void(runtime::CompiledModule&)>& prepare = {},
                    const std::string& more_passes = "",
                    const std::function<void(const runtime::CompiledModule&)>& inspect = {}) {
  ir::Module m = optimized(build(model, s), /*training=*/true);
  if (!more_passes.empty()) {
    passes::PassManager pm;
    passes::add_passes_after_pipeline(pm, more_passes);
    pm.run(m);
  }
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  compiled.set_feed_chunk_bytes(feed_chunk_bytes);
  if (prepare) prepare(compiled);
  compiled.init_params(5);
  runtime::ReferenceExecutor<double> reference(m);
  copy_params(compiled, reference);
  std::mt19937 gen(9);
  const ir::Function& fwd = *m.find_function("forward");
  testing::Values inputs = testing::random_inputs(fwd, {{"time", s.time}, {"batch", s.batch}}, gen, 11, 2);
  testing::Values want = reference.run("forward", inputs);
  std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
  for (size_t i = 0; i < want.size(); ++i) {
    if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
      expect_close(std::get<Tensor<float>>(got[i]), *w, model + " forward " + fwd.result_names()[i]);
    }
  }
  // @backward on the same saved activations and cotangents.
  testing::Values bwd_args = backward_args(fwd, want, gen);
  const ir::Function& bwd = *m.find_function("backward");
  testing::Values grads = reference.run("backward", bwd_args);
  std::vector<runtime::Value<float>> grads32 = compiled.run("backward", testing::to_f32(bwd_args));
  for (size_t i = 0; i < grads.size(); ++i) {
    expect_close(std::get<Tensor<float>>(grads32[i]), std::get<Tensor<double>>(grads[i]), model + " " + bwd.result_names()[i]);
  }
  if (inspect) inspect(compiled);
}

TEST_P(CodegenTest, TrainingKernelsMatchTheReference) {
  const auto& [model, shape_index] = GetParam();
  check_training(model, kShapes[shape_index]);
}

// The JIT cache key depends on the model, its sizes and the target, not on what was built before it.
TEST(JitCacheKey, DependsOnModelSizesAndTargetOnly) {
  auto key = [](const std::string& model, int hidden, const std::string& target) {
    runtime::CompiledModule compiled(optimized(build(model, {3, hidden, 2, 4, 1, false}), /*training=*/true));
    return codegen::jit_cache_key(compiled.plan(), target);
  };
  const std::string lstm = key("lstm", 7, "x86-64-linux-avx2");
  key("gru", 5, "x86-64-linux-avx2");  // another model in between changes nothing
  EXPECT_EQ(key("lstm", 7, "x86-64-linux-avx2"), lstm);
  EXPECT_NE(key("lstm", 8, "x86-64-linux-avx2"), lstm);
  EXPECT_NE(key("lstm", 7, "x86-64-linux-avx512"), lstm);
  EXPECT_NE(key("gru", 7, "x86-64-linux-avx2"), lstm);
  // The schedules split the weight gradients into a part per core: kernels made for another core count
  // are not this machine's.
  EXPECT_NE(lstm.find("\ncores=" + std::to_string(codegen::schedule_cores()) + "\n"), std::string::npos) << lstm.substr(0, 200);
}

// Weights over 8 MiB take the blocked product schedule (FuncRoles::MatMul::blocked): the hoisted, recurrent
// and input-gradient products at input 700, hidden 837, with ragged column blocks (3348 and 2511
// outputs), reductions that are not a whole number of k-chunks (700, 837), and more rows than one row
// block (67, split across the executor's row-range threads).
TEST(CodegenBlockedProducts, MatchTheReference) {
  for (const char* model : {"lstm", "gru"}) check_training(model, {700, 837, 67, 2, 1, false});
}

// Weights of 512 KiB and more are read as column panels (runtime/weight_panels.h): at hidden 256 the
// steps' recurrent weights ([256, 1024] forward, [1024, 256] backward; GRU's [256, 768], [768, 256]) and,
// at input 256, the hoisted input projection's and the input gradient's, packed by the executor, a
// step's once a scan, a kernel's once a call. Batch 19 on two row threads with partial row tiles;
// variable lengths and both directions; and full-length sequences in one direction, as rnnc-bench runs
// them (the carries kept in their outputs' history, runtime/compiled_executor.cpp stack_carries).
TEST(CodegenWeightPanels, LargeWeightsReadAsPanelsMatchTheReference) {
  check_training("lstm", {256, 256, 19, 3, 1, false, /*lengths=*/false});
  for (const char* model : {"lstm", "gru"}) {
    ir::Module m = optimized(build(model, {256, 256, 19, 3, 1, true}), /*training=*/true);
    runtime::ExecutionPlan plan(m);
    int steps = 0, kernels = 0;
    for (const runtime::KernelSpec& spec : plan.kernels()) (spec.step ? steps : kernels) += !spec.panel_inputs.empty();
    EXPECT_EQ(steps, 4) << model << ": forward and backward steps, both directions";
    EXPECT_GE(kernels, 2) << model << ": the input projection and the input gradient";
    check_training(model, {256, 256, 19, 3, 1, true});
  }
}

// Scans whose rows run on two threads (batch 19: rows 0-9 and 10-18) compute their input projections
// (and, in @backward, the upper layer's input gradient, which the lower scan reads) a few steps at a time
// inside each thread
// (runtime/execution_plan.h, Feeder). ~2.5 KB per call cuts the 9 steps into pieces of 2 steps and a
// last one of 1 (hidden 7), forwards and, bidirectional, backwards in time. Same kernels as shape 1.
TEST(CodegenFeeders, ScansFedInPiecesMatchTheReference) {
  for (const char* model : {"lstm", "gru", "layernorm-lstm", "imdb-classifier"}) {
    check_training(model, {5, 7, 19, 9, 2, true}, 2500);
  }
}

// The row ranges of batch 19 (runtime/row_split.h: rows 0-11 and 12-18, the products' 12-row tiles at
// hidden 7) run by the threads the other way round: the first thread made to look three times slower
// takes the smaller range, the later rows. Feeders cut each range into pieces of its own length.
void run_ranges_reversed(runtime::CompiledModule& compiled) {
  int scans = 0;
  for (const runtime::KernelSpec& spec : compiled.plan().kernels()) {
    if (!spec.step || !spec.row_separable) continue;
    for (int run = 0; run < 30; ++run) {
      const std::vector<runtime::RowRange> ranges = compiled.row_split().ranges(spec.name, 19, 2, 12);
      compiled.row_split().record(spec.name, ranges, {3.0 * runtime::step_row_cost(ranges[0].rows), runtime::step_row_cost(ranges[1].rows)});
    }
    EXPECT_EQ(compiled.row_split().ranges(spec.name, 19, 2, 12), (std::vector<runtime::RowRange>{{12, 7}, {0, 12}})) << spec.name;
    ++scans;
  }
  EXPECT_GT(scans, 0);
}

TEST(CodegenRowSplit, RangesRunTheOtherWayRoundMatchTheReference) {
  for (const char* model : {"lstm", "layernorm-lstm"}) check_training(model, {5, 7, 19, 9, 2, true}, 2500, run_ranges_reversed);
}

// The kernels' temporaries come from runtime/kernel_scratch.h once a module is loaded: a layer-norm
// LSTM's forward, one row per step (one part, on this thread), leaves its step's scratch buffers in
// this thread's cache, which it starts without.
TEST(CodegenScratch, KernelTemporariesComeFromTheScratchCache) {
  ir::Module m = optimized(build("layernorm-lstm", {5, 7, 1, 3, 1, false}), /*training=*/true);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  compiled.init_params(3);
  std::mt19937 gen(6);
  const ir::Function& fwd = *m.find_function("forward");
  std::vector<runtime::Value<float>> inputs = testing::to_f32(testing::random_inputs(fwd, {{"time", 3}, {"batch", 1}}, gen, 11, 2));
  runtime::kernel_scratch_trim();
  compiled.run("forward", inputs);
  EXPECT_GT(runtime::kernel_scratch_cached().blocks, 0u);
  runtime::kernel_scratch_trim();
}

// An allocator the user gave Halide's runtime stays: loading a module does not replace it (its blocks
// are not rnnc's to free), and the kernels allocate through it.
int g_user_mallocs = 0;
void* counting_malloc(void* user_context, size_t bytes) {
  ++g_user_mallocs;
  return runtime::kernel_scratch_allocate(user_context, bytes);
}
void counting_free(void* user_context, void* data) { runtime::kernel_scratch_free(user_context, data); }

TEST(CodegenScratch, AnAllocatorTheUserSetStays) {
  ir::Module m = optimized(build("layernorm-lstm", {5, 7, 1, 3, 1, false}), /*training=*/true);
  runtime::CompiledModule compiled(m);
  runtime::KernelTable table = codegen::jit_compile(compiled.plan());
  const halide_malloc_t before = table.set_custom_malloc(&counting_malloc);
  const halide_free_t before_free = table.set_custom_free(&counting_free);
  compiled.load(table);
  compiled.init_params(3);
  std::mt19937 gen(6);
  const ir::Function& fwd = *m.find_function("forward");
  g_user_mallocs = 0;
  compiled.run("forward", testing::to_f32(testing::random_inputs(fwd, {{"time", 3}, {"batch", 1}}, gen, 11, 2)));
  EXPECT_GT(g_user_mallocs, 0);
  EXPECT_EQ(table.set_custom_malloc(before), &counting_malloc);
  table.set_custom_free(before_free);
}

// Forward and backward of the training pipeline of `model` on the same inputs, in two modules set up by
// `configure_a` and `configure_b`: every result must be the same bits. Returns b's module.
std::unique_ptr<runtime::CompiledModule> expect_same_bits(const std::string& model, const Shape& shape,
                                                          const std::function<void(runtime::CompiledModule&)>& configure_a,
                                                          const std::function<void(runtime::CompiledModule&)>& configure_b) {
  ir::Module m = optimized(build(model, shape), /*training=*/true);
  auto make = [&](const std::function<void(runtime::CompiledModule&)>& configure) {
    auto compiled = std::make_unique<runtime::CompiledModule>(m);
    compiled->load(codegen::jit_compile(compiled->plan()));
    compiled->set_feed_chunk_bytes(2500);
    configure(*compiled);
    compiled->init_params(5);
    return compiled;
  };
  std::unique_ptr<runtime::CompiledModule> a = make(configure_a), b = make(configure_b);
  std::mt19937 gen(4);
  const ir::Function& fwd = *m.find_function("forward");
  std::vector<runtime::Value<float>> inputs =
      testing::to_f32(testing::random_inputs(fwd, {{"time", shape.time}, {"batch", shape.batch}}, gen, 11, 2));
  std::vector<runtime::Value<float>> fa = a->run("forward", inputs), fb = b->run("forward", inputs);
  EXPECT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
    if (const auto* t = std::get_if<Tensor<float>>(&fa[i])) {
      EXPECT_EQ(t->data, std::get<Tensor<float>>(fb[i]).data) << model << " forward " << fwd.result_names()[i];
    }
  }
  std::vector<runtime::Value<float>> bwd_args = backward_args(fwd, fa, gen);
  std::vector<runtime::Value<float>> ga = a->run("backward", bwd_args), gb = b->run("backward", bwd_args);
  const ir::Function& bwd = *m.find_function("backward");
  for (size_t i = 0; i < ga.size(); ++i) {
    EXPECT_EQ(std::get<Tensor<float>>(ga[i]).data, std::get<Tensor<float>>(gb[i]).data) << model << " " << bwd.result_names()[i];
  }
  return b;
}

// Which thread runs which rows changes no bit of the results: one module as built, one whose threads
// run the ranges the other way round. (Boundaries inside a register tile would: the guarded partial
// tile is compiled apart from whole ones and rounds differently, which a split learnt from timing then
// made vary from run to run; under target host-strict_float, no fast-math flags, the two agreed.)
TEST(CodegenRowSplit, ResultsDoNotDependOnWhichThreadRunsWhichRows) {
  for (const char* model : {"lstm", "gru", "layernorm-lstm", "imdb-classifier"}) {
    expect_same_bits(model, {5, 7, 19, 9, 2, true}, [](runtime::CompiledModule&) {}, run_ranges_reversed);
  }
}

// Holds the thread that runs the rows from `held_first` on, before each chunk of steps, until the other
// thread has run rows in this scan and then nothing for 2 ms (it has run out of rows and waits for
// more; at most 1 s), so that it takes the held range's last tiles over.
std::function<void(int, int, int)> hold_up_rows(int held_first) {
  struct Times {
    std::atomic<int64_t> other{0};  // the other thread's last chunk
    int64_t last = 0;               // the held rows' last chunk
    int64_t scan_start = 0;         // the held rows' last chunk of the previous scan
  };
  auto times = std::make_shared<Times>();
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  return [held_first, times, now_ns](int, int chunk, int first_row) {
    if (first_row != held_first) {
      times->other.store(now_ns());
      return;
    }
    if (chunk == 0) times->scan_start = times->last;
    const int64_t give_up = now_ns() + 1'000'000'000;
    while ((times->other.load() <= times->scan_start || now_ns() - times->other.load() < 2'000'000) && now_ns() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    times->last = now_ns();
  };
}

// Rows handed over mid-scan (runtime/row_stealing.h) are computed as their owner would have computed
// them: batch 50 on two threads (rows 0-23 and 24-49 on the 6- or 12-row tiles of hidden 7, the last one
// partial), one range held up before each chunk until the other thread has run out of rows and takes
// its last tiles, one or more hand-overs a scan; against the same model with no hand-overs. Both
// directions with lengths; feeders in pieces of one step, or of several (~20 KB a call: a piece is cut
// short where rows are handed over inside it); full-length sequences in one direction (the carries
// kept in their outputs' history); and a layer norm over 64 and 16 columns (row sums in vector lanes,
// rfactor, each row then adding its lanes).
TEST(CodegenRowStealing, RowsHandedOverMidScanGiveTheSameBits) {
  const std::vector<std::pair<std::string, Shape>> cases{
      {"lstm", {5, 7, 50, 9, 2, true}},
      {"gru", {5, 7, 50, 9, 2, true}},
      {"layernorm-lstm", {5, 7, 50, 9, 2, true}},
      {"imdb-classifier", {5, 7, 50, 9, 2, true}},
      {"lstm", {5, 7, 50, 9, 1, false, /*lengths=*/false}},
      {"layernorm-lstm", {5, 16, 50, 9, 1, false}},
  };
  for (int64_t feed_bytes : {2500, 20000}) {
    for (int held_first : {0, 24}) {
      // Two row threads, feeders in pieces of `feed_bytes`; no hand-overs, or the held-up rows'.
      auto two_threads = [&](bool held_up) {
        return [&, held_up](runtime::CompiledModule& c) {
          c.set_row_threads(2);
          c.set_feed_chunk_bytes(feed_bytes);
          if (held_up) {
            c.set_scan_chunk_hook(hold_up_rows(held_first));
          } else {
            c.set_row_stealing(false);
          }
        };
      };
      for (const auto& [model, shape] : cases) {
        std::unique_ptr<runtime::CompiledModule> b = expect_same_bits(model, shape, two_threads(false), two_threads(true));
        EXPECT_GT(b->rows_handed_over(), 0) << model << " hidden " << shape.hidden << ", rows from " << held_first
                                            << " held up, feeders " << feed_bytes << " bytes a call";
      }
    }
  }
}

// Scans unrolled two steps a kernel call (the `unroll` pass, run after the training pipeline, then
// partition-kernels again) on two row threads, rows handed over between them at chunks of two steps:
// forward and backward against the reference, 9 steps (a last chunk of one step, the other padded),
// full length and with lengths. With lengths, the unrolled steps mask their outputs with constant zeros
// outside the fused groups: the lowering once failed on them ("value of node 19 not lowered").
TEST(CodegenRowStealing, UnrolledScansHandedOverMatchTheReference) {
  for (bool lengths : {false, true}) {
    int64_t handed_over = -1;
    check_training(
        "lstm", {5, 7, 50, 9, 1, false, lengths}, 2500,
        [&](runtime::CompiledModule& c) {
          c.set_row_threads(2);
          c.set_scan_chunk_hook(hold_up_rows(24));
        },
        "unroll=2", [&](const runtime::CompiledModule& c) { handed_over = c.rows_handed_over(); });
    EXPECT_GT(handed_over, 0) << (lengths ? "lengths" : "full length");
  }
}

// A scan of no steps (time 0) on two row threads with rows free to move: no chunk runs, so no range is
// ever handed over or waited for; the results are the initial carries, and the gradients zeros (for
// the weights) or the cotangents passed straight back (for the initial state), as the reference has them.
TEST(CodegenRowStealing, ScansOfNoStepsMatchTheReference) {
  for (const char* model : {"lstm", "gru"}) {
    for (bool lengths : {false, true}) {
      int64_t handed_over = -1;
      check_training(
          model, {5, 7, 50, 0, 2, false, lengths}, 2500, [](runtime::CompiledModule& c) { c.set_row_threads(2); }, "",
          [&](const runtime::CompiledModule& c) { handed_over = c.rows_handed_over(); });
      EXPECT_EQ(handed_over, 0) << model << (lengths ? ", lengths" : ", full length");
    }
  }
}

// The logistic and tanh element by element, from -200 to 200 and near zero: both are lowered through exp
// (lower.cpp), which overflows for the logistic of x < -88 and cancels in tanh near zero; neither may
// lose precision or give NaN. (It catches a reciprocal estimate that turns 1 / inf into NaN.)
TEST(CodegenActivations, MatchTheReferenceFromHugeToTiny) {
  dsl::Model model("activations");
  dsl::Expr x = model.input("x", ir::DType::F32, {ir::batch_dim(), ir::Dim::fixed(40)});
  model.output("sigmoid", sigmoid(x));
  model.output("tanh", tanh(x));
  ir::Module m = optimized(model.finish(), /*training=*/false);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  runtime::ReferenceExecutor<double> reference(m);
  Tensor<float> xs({5, 40});
  const double scales[] = {200, 30, 1, 0.07, 1e-3};  // a row per scale: x from -scale to +scale
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 40; ++c) xs[r * 40 + c] = static_cast<float>(scales[r] * (c - 19.5) / 19.5);
  }
  std::vector<runtime::Value<float>> got = compiled.run("forward", {xs});
  testing::Values want =
      reference.run("forward", {Tensor<double>(xs.shape, std::vector<double>(xs.data.begin(), xs.data.end()))});
  for (int o = 0; o < 2; ++o) {
    const Tensor<float>& g = std::get<Tensor<float>>(got[static_cast<size_t>(o)]);
    const Tensor<double>& w = std::get<Tensor<double>>(want[static_cast<size_t>(o)]);
    for (int64_t i = 0; i < g.size(); ++i) {
      // Values under float's normal range (the logistic far below zero) are compared absolutely.
      EXPECT_NEAR(g[i], w[i], 1e-5 * std::max(std::abs(w[i]), 1e-25))
          << (o == 0 ? "sigmoid(" : "tanh(") << xs[i] << ")";
    }
  }
}

// A layer norm's statistics come from one pass over the row, the sums of x - k and of its square with k
// the row's first element (lower.cpp, row_stats): rows far from zero against their spread, tiny ones,
// and a constant one must normalise as the reference's two-pass mean and variance do. (With k = 0 the
// rows around 1e4 lose every digit of their variance to cancellation.) At 48 columns (one pass) and at
// 7 (two passes: lower.cpp, one_pass_row_sums).
TEST(CodegenLayerNorm, OnePassStatisticsHoldFarFromZero) {
  for (int64_t width : {48, 7}) {
    dsl::Model model("norm");
    dsl::Expr x = model.input("x", ir::DType::F32, {ir::batch_dim(), ir::Dim::fixed(width)});
    model.output("y", layer_norm(x));
    ir::Module m = optimized(model.finish(), /*training=*/false);
    runtime::CompiledModule compiled(m);
    compiled.load(codegen::jit_compile(compiled.plan()));
    runtime::ReferenceExecutor<double> reference(m);
    const double offsets[] = {1e4, -3e3, 1e2, 0, 0, 5};
    const double spreads[] = {1, 0.5, 1e-2, 1, 1e-3, 0};  // the last row constant
    const int rows = 6;
    Tensor<float> xs({rows, width});
    for (int r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < width; ++c) {
        xs[r * width + c] = static_cast<float>(offsets[r] + spreads[r] * std::sin(1.7 * static_cast<double>(c) + r));
      }
    }
    const Tensor<float> got = std::get<Tensor<float>>(compiled.run("forward", {xs})[0]);
    const Tensor<double> want = std::get<Tensor<double>>(
        reference.run("forward", {Tensor<double>(xs.shape, std::vector<double>(xs.data.begin(), xs.data.end()))})[0]);
    for (int64_t i = 0; i < got.size(); ++i) {
      // Centring a row rounds its mean to a float near the offset, as any float layer norm does: up to an
      // ulp of the offset over sigma (sigma of the sine is spread / sqrt 2). A one-pass variance that
      // cancelled would be off by orders of magnitude more.
      const int row = static_cast<int>(i / width);
      const double centring = spreads[row] > 0 ? 2 * 1.2e-7 * std::abs(offsets[row]) / (spreads[row] / std::sqrt(2.0)) : 0;
      EXPECT_NEAR(got[i], want[i], 1e-4 * std::max(std::abs(want[i]), 1.0) + centring)
          << "width " << width << ", element " << i << ", row " << row << " (offset " << offsets[row] << ", spread "
          << spreads[row] << ")";
    }
  }
}

// Kernels of parameters only (an LSTM's gate weights concatenated, then transposed) run once while the
// parameters hold the same bytes (runtime/param_derived_cache.h), and again after any change, however
// made: an optimizer's in-place update (mutable_param), set_param, init_params. Each run's results match
// the reference on the parameters of that moment.
TEST(CodegenParameterKernels, CachedWhileTheParametersHoldRecomputedWhenTheyChange) {
  const Shape s{5, 7, 3, 4, 2, false};
  ir::Module m = optimized(build("lstm", s), /*training=*/true);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  compiled.init_params(5);
  const ir::Function& fwd = *compiled.module().find_function("forward");
  // Each kernel of parameters only, with the parameters it reads, and how often it should have run.
  struct ParameterKernel {
    std::string name;
    std::set<std::string> reads;
    int64_t runs = 0;
  };
  std::vector<ParameterKernel> kernels;
  for (const runtime::KernelSpec& spec : compiled.plan().kernels()) {
    bool only_params = spec.function == &fwd && !spec.step && !spec.inputs.empty();
    ParameterKernel k{spec.name, {}};
    for (const ir::Value& v : spec.inputs) {
      only_params &= fwd.op(v.node) == ir::OpKind::Param;
      if (only_params) k.reads.insert(fwd.node(v.node).attrs.get_word("name"));
    }
    if (only_params) kernels.push_back(k);
  }
  ASSERT_GE(kernels.size(), 4u) << "the input and the recurrent weights of each layer, concatenated";
  std::mt19937 gen(9);
  testing::Values inputs = testing::random_inputs(fwd, {{"time", s.time}, {"batch", s.batch}}, gen, 11, 2);
  // Runs @forward after `changed` parameters changed (empty: none; "*": all).
  auto check = [&](const std::string& when, const std::set<std::string>& changed) {
    for (ParameterKernel& k : kernels) {
      bool reads_changed = k.runs == 0 || changed.count("*");
      for (const std::string& p : changed) reads_changed |= k.reads.count(p) > 0;
      k.runs += reads_changed ? 1 : 0;
    }
    compiled.set_profiling(true);
    std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
    runtime::ReferenceExecutor<double> reference(m);
    copy_params(compiled, reference);
    testing::Values want = reference.run("forward", inputs);
    for (size_t i = 0; i < want.size(); ++i) {
      if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
        expect_close(std::get<Tensor<float>>(got[i]), *w, when + ": " + fwd.result_names()[i]);
      }
    }
    for (const ParameterKernel& k : kernels) EXPECT_EQ(compiled.profile().at(k.name).calls, k.runs) << when << ": " << k.name;
  };
  check("first run", {});
  check("same parameters", {});
  compiled.mutable_param("rnn.l0.W_ii").data[3] += 0.25f;  // as an optimizer updates in place
  check("one weight changed in place", {"rnn.l0.W_ii"});
  check("unchanged since", {});
  runtime::Tensor<float> w = compiled.param("rnn.l1.W_ho");
  w.data.back() -= 0.5f;
  compiled.set_param("rnn.l1.W_ho", w);
  check("set_param", {"rnn.l1.W_ho"});
  compiled.init_params(6);
  check("init_params", {"*"});
  // A caller that writes into what a run returned (here the concatenated weights @forward saves) changes
  // its own copy, not what later runs reuse.
  std::vector<runtime::CompiledModule::Buffer> out = compiled.run_buffers("forward", argument_buffers(fwd, inputs));
  int overwritten = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& name = fwd.result_names()[i];
    if (name.rfind("saved.rnn.", 0) != 0 || out[i].type() != halide_type_t(halide_type_float, 32)) continue;
    std::fill_n(static_cast<float*>(out[i].data()), out[i].number_of_elements(), 1e6f);
    ++overwritten;
  }
  EXPECT_GE(overwritten, 2) << "each layer's concatenated weights are saved";
  check("a caller wrote into a result", {});
}

// The generation rule behind the reuse of a kernel that reads another cached kernel's result: a run that
// recomputed the first after a parameter changed and then failed before the second leaves the second's
// entry built from the old result; it must not be served with the new one.
TEST(ParamDerivedCache, AReaderIsReusedOnlyWithTheResultItWasComputedFrom) {
  using Cache = runtime::ParamDerivedCache;
  Cache cache;
  std::vector<float> weights{1, 2, 3};
  auto param = [&] { return Cache::Input{weights.data(), weights.size() * sizeof(float), 0}; };
  const Cache::Buffer a(halide_type_t(halide_type_float, 32), std::vector<int>{3});
  const Cache::Buffer b(halide_type_t(halide_type_float, 32), std::vector<int>{3});
  const Cache::Buffer c(halide_type_t(halide_type_float, 32), std::vector<int>{3});
  const uint64_t first = cache.store("concat", {param()}, {a});
  cache.store("transpose", {{nullptr, 0, first}}, {b});
  ASSERT_TRUE(cache.find("transpose", {{nullptr, 0, first}}));
  EXPECT_EQ(cache.find("transpose", {{nullptr, 0, first}})->outputs[0].data(), b.data());
  std::vector<float> same = weights;  // equal bytes elsewhere: still the same parameter value
  EXPECT_TRUE(cache.find("concat", {{same.data(), same.size() * sizeof(float), 0}}));
  weights[1] = 5;
  EXPECT_FALSE(cache.find("concat", {param()}));
  const uint64_t second = cache.store("concat", {param()}, {c});  // and the run stops here
  EXPECT_NE(second, first);
  ASSERT_TRUE(cache.find("concat", {param()}));
  EXPECT_EQ(cache.find("concat", {param()})->generation, second);
  EXPECT_FALSE(cache.find("transpose", {{nullptr, 0, second}})) << "built from the first concat, not this one";
  cache.clear();
  EXPECT_FALSE(cache.find("concat", {param()}));
}

// A gradient cut out of the gates' joint one ([dW_i; dW_f; dW_g; dW_o] sliced along its outermost dim) is
// a view of it on the CPU: those slice kernels never run. (CodegenTest.TrainingKernelsMatchTheReference
// checks every gradient's values, these views among them.)
TEST(CodegenOuterSlices, AreViewsNotCopies) {
  ir::Module m = optimized(build("lstm", {5, 7, 3, 4, 2, false}), /*training=*/true);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  compiled.init_params(5);
  const ir::Function& fwd = *compiled.module().find_function("forward");
  const ir::Function& bwd = *compiled.module().find_function("backward");
  std::set<std::string> slices;
  for (const runtime::KernelSpec& spec : compiled.plan().kernels()) {
    if (spec.function == &bwd && spec.nodes.size() == 1 && bwd.op(spec.nodes[0]) == ir::OpKind::Slice &&
        bwd.node(spec.nodes[0]).attrs.get_int("axis") == 0) {
      slices.insert(spec.name);
    }
  }
  ASSERT_GE(slices.size(), 16u) << "four gates' input and recurrent weight gradients, two layers";
  std::mt19937 gen(9);
  testing::Values inputs = testing::random_inputs(fwd, {{"time", 4}, {"batch", 3}}, gen, 11, 2);
  std::vector<runtime::Value<float>> out = compiled.run("forward", testing::to_f32(inputs));
  std::vector<runtime::Value<float>> args;
  for (size_t i = 0; i < out.size(); ++i) {
    if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) != 0) args.push_back(out[i]);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) args.push_back(out[i]);
  }
  compiled.set_profiling(true);
  compiled.run("backward", args);
  EXPECT_FALSE(compiled.profile().empty());
  for (const auto& [kernel, time] : compiled.profile()) EXPECT_FALSE(slices.count(kernel)) << kernel << " ran";
}

// A training step as TrainableModel runs it: @forward's saved activations go to @backward as the
// executor stored them. Those that only row-split steps read (an LSTM's gate activations, read by the
// backward steps alone) are stored batch-major (ExecutionPlan::batch_major); the others, and every
// value the caller alone reads (y), row-major. Batch 19: two row threads (10 and 9 rows), with lengths
// and without (the benchmarks' case: carries kept in time-stacked buffers, see below).
TEST(CodegenSavedActivations, GoToBackwardAsStored) {
  for (bool lengths : {true, false})
  for (const char* model : {"lstm", "gru", "layernorm-lstm"}) {
    SCOPED_TRACE(std::string(model) + (lengths ? " with lengths" : " without lengths"));
    ir::Module m = optimized(
        zoo::build_cell_model(model, {.input_size = 5, .hidden_size = 7, .num_layers = 2, .lengths = lengths}),
        /*training=*/true);
    runtime::CompiledModule compiled(m);
    compiled.load(codegen::jit_compile(compiled.plan()));
    compiled.init_params(5);
    const ir::Function& fwd = *compiled.module().find_function("forward");
    const ir::Function& bwd = *compiled.module().find_function("backward");
    runtime::ReferenceExecutor<double> reference(m);
    copy_params(compiled, reference);
    std::mt19937 gen(9);
    testing::Values inputs = testing::random_inputs(fwd, {{"time", 6}, {"batch", 19}}, gen, 11, 2);
    testing::Values want = reference.run("forward", inputs);
    std::vector<runtime::CompiledModule::Buffer> out = compiled.run_buffers("forward", argument_buffers(fwd, inputs));
    testing::Values cotangents, ref_args;
    std::vector<runtime::CompiledModule::Buffer> bwd_in;
    std::normal_distribution<double> normal;
    for (size_t i = 0; i < want.size(); ++i) {
      if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) continue;
      Tensor<double> c(std::get<Tensor<double>>(want[i]).shape);
      for (double& v : c.data) v = normal(gen);
      ref_args.push_back(c);
      bwd_in.push_back(runtime::CompiledModule::to_buffer(testing::to_f32({c})[0], ir::DType::F32));
    }
    int batch_major = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const std::string& name = fwd.result_names()[i];
      const runtime::CompiledModule::Buffer& b = out[i];
      // Batch-major: the time dim (outermost) steps by less than the batch dim.
      const bool stored_batch_major = b.dimensions() >= 3 && b.dim(b.dimensions() - 1).stride() < b.dim(b.dimensions() - 2).stride();
      EXPECT_EQ(stored_batch_major, compiled.plan().batch_major(fwd, fwd.results()[i])) << model << " " << name;
      batch_major += stored_batch_major ? 1 : 0;
      if (name == "y") {
        EXPECT_FALSE(stored_batch_major) << model << ": y is the caller's";
      }
      if (const auto* w = std::get_if<Tensor<double>>(&want[i])) {
        expect_close(std::get<Tensor<float>>(runtime::CompiledModule::to_value(b)), *w, std::string(model) + " forward " + name);
      }
      if (name.rfind(passes::kSavedPrefix, 0) != 0) continue;
      ref_args.push_back(want[i]);
      bwd_in.push_back(b);
    }
    EXPECT_GE(batch_major, 4) << model << ": gate activations of both layers";
    // Without lengths, a carry saved before each step (h_prev, c_{t-1}) and the stacked output that is
    // its value after each step (y, c_t) are one time-stacked buffer: h_prev at t + 1 is y at t, the
    // same memory. (With lengths a finished row's y is zero while its carry stays: separate buffers.)
    int shifted = 0;
    for (const auto& before : out) {
      for (const auto& after : out) {
        const int time = before.dimensions() - 1;
        if (before.dimensions() < 3 || after.dimensions() != before.dimensions() || before.dim(time).extent() < 2) continue;
        const char* next_step = static_cast<const char*>(before.data()) + before.dim(time).stride() * before.type().bytes();
        shifted += next_step == static_cast<const char*>(after.data()) && before.dim(time).stride() == after.dim(time).stride();
      }
    }
    if (std::string(model) == "lstm") {
      EXPECT_EQ(shifted, lengths ? 0 : 4) << model << ": y and h_prev, c_t and c_{t-1} of each layer";
    }
    testing::Values grads_want = reference.run("backward", ref_args);
    std::vector<runtime::CompiledModule::Buffer> grads = compiled.run_buffers("backward", bwd_in);
    for (size_t i = 0; i < grads.size(); ++i) {
      expect_close(std::get<Tensor<float>>(runtime::CompiledModule::to_value(grads[i])),
                   std::get<Tensor<double>>(grads_want[i]), std::string(model) + " " + bwd.result_names()[i]);
    }
  }
}

TEST_P(CodegenTest, InferenceKernelsMatchTheReference) {
  const auto& [model, shape_index] = GetParam();
  if (shape_index != 1) GTEST_SKIP() << "inference runs at the middle shape only (its kernels are a subset)";
  const Shape& s = kShapes[shape_index];
  ir::Module original = build(model, s);
  ir::Module m = optimized(original, /*training=*/false);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  compiled.init_params(6);
  runtime::ReferenceExecutor<double> reference(m);
  copy_params(compiled, reference);
  std::mt19937 gen(10);
  testing::Values all = testing::random_inputs(original.functions()[0], {{"time", s.time}, {"batch", s.batch}}, gen, 11, 2);
  const ir::Function& f = *m.find_function("forward");
  testing::Values inputs = args_for(f, original.functions()[0], all);
  testing::Values want = reference.run("forward", inputs);
  std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
  for (size_t i = 0; i < want.size(); ++i) {
    expect_close(std::get<Tensor<float>>(got[i]), std::get<Tensor<double>>(want[i]), model + " " + f.result_names()[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryModel, CodegenTest,
                         ::testing::Combine(::testing::ValuesIn(tested_models()), ::testing::Values(0, 1, 2)),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_shape" + std::to_string(std::get<1>(info.param));
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

}  // namespace
}  // namespace rnnc
