// rnnc-bench: rnnc's generated kernels against oneDNN and PyTorch, in one run, on the same machine.
//
//   build/bin/rnnc-bench                     # the grid (hidden, time, batch, cells), then S's ratios
//   build/bin/rnnc-bench --shape S           # the seed workload: LSTM, 2 layers, B 64, T 200, I 100, H 128
//   build/bin/rnnc-bench --cell gru --layers 1 --batch 32 --seq 50 --input 64 --hidden 256
//
// Times are medians of --repeats runs after a warm-up, rnnc and oneDNN run in alternation (PyTorch, a child
// process, after them). "forward" is inference; "train" one training step's compute (forward keeping
// activations + backward to every weight and x). The last line names the
// shape asked for (S for the grid) with the ratios rnnc/anchor (below 1: rnnc is faster).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include "bench/alternating_timer.h"
#include "bench/anchors.h"
#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
#include "tools/cli.h"

namespace rnnc::bench {
namespace {

using Buffer = runtime::CompiledModule::Buffer;

const char* kUsage = R"(usage: rnnc-bench [options]

Times rnnc, oneDNN and PyTorch on recurrent workloads, in one run, and prints the ratios. rnnc and oneDNN
run in alternation (a layer-norm LSTM: against rnnc's LSTM of its shape), PyTorch after them.

options:
  --shape S          the seed workload (LSTM, 2 layers, batch 64, seq 200, input 100, hidden 128)
  --cell C           lstm | gru | rnn-tanh | rnn-relu | layernorm-lstm   (any of the next flags selects
  --layers N         one shape; unset ones take S's values)
  --batch N  --seq N  --input N  --hidden N
  --repeats N        timed runs per measurement (default 5)
  --no-onednn        skip oneDNN;  --no-torch  skip PyTorch
  --target T         Halide target for rnnc's kernels (default host)
  --profile          print where rnnc's time goes, per kernel (adds timing overhead)
  --passes a,b       more passes on rnnc's model after its pipeline (e.g. unroll=2), then
                     partition-kernels again, as `rnnc compile --passes`
)";

std::optional<std::string> g_more_passes;  // --passes: run on rnnc's model after its pipeline

ir::Module optimized(const Workload& w, bool training) {
  ir::Module m = zoo::build_cell_model(
      w.cell, {.input_size = w.input, .hidden_size = w.hidden, .num_layers = w.layers, .lengths = false});
  passes::PassManager pm;
  training ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  // An empty or unknown name is an error, as in rnnc compile.
  if (g_more_passes) passes::add_passes_after_pipeline(pm, *g_more_passes);
  pm.run(m);
  return m;
}

Buffer random_input(const Workload& w) {
  runtime::Tensor<float> x({w.seq, w.batch, w.input});
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  for (float& v : x.data) v = normal(gen);
  return runtime::CompiledModule::to_buffer(x, ir::DType::F32);
}

bool g_profile = false;

void print_profile(const char* what, const runtime::CompiledModule& model, int runs) {
  std::vector<std::pair<double, std::string>> rows;
  double total = 0;
  for (const auto& [name, t] : model.profile()) {
    rows.push_back({t.seconds * 1e3 / runs, name + " (" + std::to_string(t.calls / runs) + " calls)"});
    total += t.seconds * 1e3 / runs;
  }
  std::sort(rows.rbegin(), rows.rend());
  std::printf("rnnc %s: %.2f ms in kernels per run\n", what, total);
  for (const auto& [ms, name] : rows) std::printf("  %8.3f ms  %s\n", ms, name.c_str());
}

// rnnc's side of a workload: the model compiled (JIT) for inference or for training, and one run of it:
// a forward, or a training step (the forward keeping activations, then the backward to every weight and x).
class RnncRunner {
 public:
  RnncRunner(const Workload& w, bool training, const std::string& target)
      : training_(training), x_(random_input(w)), model_(optimized(w, training)) {
    model_.load(codegen::jit_compile(model_.plan(), target));
    model_.init_params(1);
    if (!training_) return;
    // Upstream gradients: ones for the outputs y, zeros for the final states. Made once, as the anchors
    // make theirs: a training step is the forward and the backward, not the loss's gradient buffers.
    const ir::Function& fwd = *model_.module().find_function("forward");
    std::vector<Buffer> out = model_.run_buffers("forward", {x_});
    for (size_t i = 0; i < out.size(); ++i) {
      const std::string& name = fwd.result_names()[i];
      if (name.rfind(passes::kSavedPrefix, 0) == 0) {
        saved_.push_back(i);
        continue;
      }
      Buffer d = out[i].copy();
      std::fill_n(static_cast<float*>(d.data()), d.number_of_elements(), name == "y" ? 1.0f : 0.0f);
      upstream_.push_back(d);
    }
  }

  void run() {
    std::vector<Buffer> out = model_.run_buffers("forward", {x_});
    if (!training_) return;
    std::vector<Buffer> args = upstream_;
    for (size_t i : saved_) args.push_back(out[i]);
    model_.run_buffers("backward", args);
  }

  // Where the time goes, per kernel, over `repeats` more runs.
  void profile(int repeats) {
    model_.set_profiling(true);
    const int64_t handed_over = model_.rows_handed_over();
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) run();
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const char* what = training_ ? "train" : "forward";
    print_profile(what, model_, repeats);
    std::printf("rnnc %s: %.2f ms wall per run while profiling; rows handed over between threads %.1f times a run\n", what,
                wall / repeats, static_cast<double>(model_.rows_handed_over() - handed_over) / repeats);
    model_.set_profiling(false);
  }

 private:
  bool training_;
  Buffer x_;
  runtime::CompiledModule model_;
  std::vector<Buffer> upstream_;
  std::vector<size_t> saved_;  // the forward's results that the backward takes
};

std::string describe(const Workload& w) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s L%d B%ld T%ld I%ld H%ld", w.cell.c_str(), w.layers, static_cast<long>(w.batch),
                static_cast<long>(w.seq), static_cast<long>(w.input), static_cast<long>(w.hidden));
  return buf;
}

std::string ratio(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || b <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", a / b);
  return buf;
}

struct Row {
  Workload w;
  Timing rnnc;
  Timing onednn, torch;
  // The layer-norm LSTM's yardstick (neither anchor runs it): rnnc's own LSTM of the same shape, timed
  // in alternation with it. NaN for other cells.
  Timing rnnc_lstm;
};

Workload seed_workload() { return Workload{"lstm", 2, 64, 200, 100, 128}; }

std::vector<Workload> grid() {
  std::vector<Workload> g{seed_workload()};
  for (int64_t h : {64, 256, 512, 1024}) g.push_back({"lstm", 1, 64, 100, h, h});
  for (int64_t t : {16, 512}) g.push_back({"lstm", 1, 64, t, 128, 128});
  for (int64_t b : {1, 256}) g.push_back({"lstm", 1, b, 100, 128, 128});
  g.push_back({"gru", 2, 64, 200, 100, 128});
  g.push_back({"rnn-tanh", 2, 64, 200, 100, 128});
  g.push_back({"layernorm-lstm", 2, 64, 200, 100, 128});
  return g;
}

int bench_main(int argc, char** argv) {
  cli::Args args(argc, argv, {"shape", "cell", "layers", "batch", "seq", "input", "hidden", "repeats", "target", "passes"},
                 {"no-onednn", "no-torch", "profile"});
  g_profile = args.has("profile");
  if (args.has("passes")) g_more_passes = args.get("passes");
  int repeats = static_cast<int>(args.get_int("repeats", 5));
  if (repeats < 1) throw cli::UsageError("--repeats must be >= 1");
  std::string target = args.get("target", "host");
  std::vector<Workload> workloads;
  std::string label;
  bool single = false;
  for (const char* f : {"cell", "layers", "batch", "seq", "input", "hidden"}) single |= args.has(f);
  if (args.has("shape")) {
    if (args.get("shape") != "S") throw cli::UsageError("--shape knows only S");
    workloads.push_back(seed_workload());
    label = "S";
  } else if (single) {
    Workload w = seed_workload();
    w.cell = args.get("cell", w.cell);
    w.layers = static_cast<int>(args.get_int("layers", w.layers));
    w.batch = args.get_int("batch", w.batch);
    w.seq = args.get_int("seq", w.seq);
    w.input = args.get_int("input", w.input);
    w.hidden = args.get_int("hidden", w.hidden);
    if (w.layers < 1 || w.batch < 1 || w.seq < 1 || w.input < 1 || w.hidden < 1) {
      throw cli::UsageError("layers, batch, seq, input and hidden must be >= 1");
    }
    zoo::cell_by_name(w.cell);  // an unknown cell is an error now, not after the anchors ran
    workloads.push_back(w);
    label = describe(w);
  } else {
    workloads = grid();
    label = "S";
  }

  std::vector<Row> rows;
  for (const Workload& w : workloads) {
    Row r{w, {}, {}, {}};
    // rnnc and oneDNN in alternation (alternating_timer.h), inference first, then training.
    for (bool training : {false, true}) {
      RnncRunner rnnc(w, training, target);
      std::unique_ptr<OnednnAnchor> onednn;
      if (!args.has("no-onednn")) {
        try {
          onednn = std::make_unique<OnednnAnchor>(w, training);
        } catch (const AnchorUnavailable& e) {
          r.onednn.note = e.what();
        }
      }
      std::unique_ptr<RnncRunner> lstm;
      if (w.cell == "layernorm-lstm") {
        Workload same = w;
        same.cell = "lstm";
        lstm = std::make_unique<RnncRunner>(same, training, target);
      }
      std::vector<std::function<void()>> runs{[&] { rnnc.run(); }};
      if (onednn) runs.push_back([&] { onednn->run(); });
      if (lstm) runs.push_back([&] { lstm->run(); });
      const std::vector<double> ms = median_ms_alternating(runs, repeats);
      (training ? r.rnnc.train_ms : r.rnnc.forward_ms) = ms[0];
      if (onednn) (training ? r.onednn.train_ms : r.onednn.forward_ms) = ms[1];
      if (lstm) (training ? r.rnnc_lstm.train_ms : r.rnnc_lstm.forward_ms) = ms.back();
      if (g_profile) rnnc.profile(repeats);
    }
    if (!args.has("no-torch")) r.torch = time_torch(w, repeats);
    std::fprintf(stderr, "measured %s\n", describe(w).c_str());
    rows.push_back(r);
  }
  std::printf("%-36s %9s %9s %9s %9s %9s %9s | %6s %6s %6s %6s\n", "workload (ms, median)", "rnnc-fwd", "dnnl-fwd",
              "torch-fwd", "rnnc-trn", "dnnl-trn", "torch-trn", "f/dnnl", "t/dnnl", "f/trch", "t/trch");
  for (const Row& r : rows) {
    std::printf("%-36s %9s %9s %9s %9s %9s %9s | %6s %6s %6s %6s\n", describe(r.w).c_str(), format_ms(r.rnnc.forward_ms).c_str(),
                format_ms(r.onednn.forward_ms).c_str(), format_ms(r.torch.forward_ms).c_str(),
                format_ms(r.rnnc.train_ms).c_str(), format_ms(r.onednn.train_ms).c_str(),
                format_ms(r.torch.train_ms).c_str(), ratio(r.rnnc.forward_ms, r.onednn.forward_ms).c_str(),
                ratio(r.rnnc.train_ms, r.onednn.train_ms).c_str(), ratio(r.rnnc.forward_ms, r.torch.forward_ms).c_str(),
                ratio(r.rnnc.train_ms, r.torch.train_ms).c_str());
    for (const Timing* t : {&r.onednn, &r.torch}) {
      if (!t->note.empty()) std::printf("  note: %s\n", t->note.c_str());
    }
    if (!std::isnan(r.rnnc_lstm.train_ms)) {
      std::printf("  rnnc's lstm, same shape, in alternation: fwd %s, train %s ms; layernorm-lstm/lstm: fwd %s, train %s\n",
                  format_ms(r.rnnc_lstm.forward_ms).c_str(), format_ms(r.rnnc_lstm.train_ms).c_str(),
                  ratio(r.rnnc.forward_ms, r.rnnc_lstm.forward_ms).c_str(), ratio(r.rnnc.train_ms, r.rnnc_lstm.train_ms).c_str());
    }
  }
  const Row& first = rows.front();
  std::printf("%s: fwd_vs_onednn=%s train_vs_onednn=%s fwd_vs_torch=%s train_vs_torch=%s\n", label.c_str(),
              ratio(first.rnnc.forward_ms, first.onednn.forward_ms).c_str(),
              ratio(first.rnnc.train_ms, first.onednn.train_ms).c_str(),
              ratio(first.rnnc.forward_ms, first.torch.forward_ms).c_str(),
              ratio(first.rnnc.train_ms, first.torch.train_ms).c_str());
  return 0;
}

}  // namespace
}  // namespace rnnc::bench

int main(int argc, char** argv) {
  return rnnc::cli::run_tool("rnnc-bench", rnnc::bench::kUsage, rnnc::bench::bench_main, argc, argv);
}
