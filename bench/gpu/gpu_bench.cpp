// gpu_bench: rnnc's training step (@forward keeping activations + @backward giving every gradient) at
// the GPU benchmark shapes, from models compiled ahead of time (bench/gpu/CMakeLists.txt), so it runs on
// a machine without Halide or LLVM. scripts/gpu-check.sh runs it next to PyTorch (bench/gpu/gpu_compare.py).
//
//   gpu_bench --list                     the workloads, one JSON object a line
//   gpu_bench --device D --check         every model's forward and backward against the reference
//                                        executor (f64) at a small shape: relative error < 1e-4
//   gpu_bench --device D --time [--only NAME] [--repeats N] [--warmup N] [--seq T] [--batch B] [--profile]
//                                        median milliseconds of a training step, one JSON object a line
//   --check --only MODEL                 one benchmark model (bench_lstm_h128, …)
//   --graphs (cuda)                      runs as CUDA graphs (CompiledModule::set_cuda_graphs); --check
//                                        then records on other inputs first and checks the replay
//   gpu_bench --device D --persistent-probe [--seq T] [--batch B] [--repeats N] [--warmup N]
//                                        the persistent-scan probe (persistent_lstm_generator.cpp): one
//                                        LSTM layer's recurrence as one kernel, checked, then timed at T
//                                        200, B 64 unless given; one JSON object a line
//
// D is cuda, cpu or opencl. What is timed: forward + backward of all layers for x [T, B, I] (every
// sequence full length, zero initial states) with an upstream gradient of ones for the last layer's
// outputs, as bench/torch_rnn.py times PyTorch; parameters stay on the device, nothing is copied to the
// host; the device is synchronised after each step. Without a usable device: one line saying why, exit 1.
#include <execinfo.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gpu_bench_models.h"
#include "persistent_probe.h"
#include "ir/error.h"
#include "passes/autodiff.h"
#include "runtime/device.h"
#include "runtime/reference_executor.h"

namespace rnnc::bench {
namespace {

using runtime::CompiledModule;
using runtime::Device;
using Buffer = CompiledModule::Buffer;

struct Model {
  const char* name;
  const char* cell;
  int64_t input, hidden, layers;
  const char* (*ir)();
  std::unique_ptr<CompiledModule> (*load)(Device);
};

#define BENCH_MODEL(ns, cell, input, hidden, layers) \
  Model{#ns, cell, input, hidden, layers, &rnnc_models::ns::ir_text, &rnnc_models::ns::load},

const std::vector<Model>& models() {
  static const std::vector<Model> list = {RNNC_GPU_BENCH_MODELS(BENCH_MODEL)};
  return list;
}

const Model& model_named(const std::string& name) {
  for (const Model& m : models()) {
    if (name == m.name) return m;
  }
  throw UserError("gpu_bench: no model " + name);
}

// Workload S (the issue's: LSTM, 2 layers, B 64, T 200, I 100, H 128), the other cells at S, larger
// shapes (hidden 512/1024, batch 256; the layer-norm LSTM at hidden 512, its forward step's shared
// memory past 48 KiB, and at 1024, its forward step tiled with its row statistics materialised; S at
// hidden 32 and 64, to tell a step's fixed cost from its product's), S with
// its steps tiled otherwise (S-c<COLUMNS>s<SLICES>r<ROWS>), S and the layer-norm LSTM with K steps a
// launch (S-unroll<K>, S-layernorm-unroll<K>), and the large shapes with their GEMMs' loops not
// unrolled (h<H>-b256-u1).
struct Workload {
  const char* name;
  const char* model;
  int64_t batch, seq;
};

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> list = {
      {"S", "bench_lstm_h128", 64, 200},           {"S-gru", "bench_gru_h128", 64, 200},
      {"S-layernorm", "bench_lnlstm_h128", 64, 200}, {"S-b256", "bench_lstm_h128", 256, 200},
      {"h512-layernorm", "bench_lnlstm_h512", 64, 200},
      {"S-h32", "bench_lstm_h32", 64, 200},         {"S-h64", "bench_lstm_h64", 64, 200},
      {"h512", "bench_lstm_h512", 64, 200},         {"h512-b256", "bench_lstm_h512", 256, 200},
      {"h1024", "bench_lstm_h1024", 64, 200},       {"h1024-b256", "bench_lstm_h1024", 256, 200},
#define TILE_VARIANT(workload, ns, batch) {workload, #ns, batch, 200},
      RNNC_GPU_BENCH_TILE_VARIANTS(TILE_VARIANT)
#undef TILE_VARIANT
      // Last: the heaviest (a step of seconds in eager PyTorch too), after the questions about S.
      {"h512-layernorm-b256", "bench_lnlstm_h512", 256, 200}, {"h1024-layernorm-b256", "bench_lnlstm_h1024", 256, 200},
  };
  return list;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

runtime::Tensor<double> random_tensor(const runtime::Dims& shape, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  runtime::Tensor<double> t(shape);
  for (double& v : t.data) v = normal(gen);
  return t;
}

runtime::Tensor<float> to_f32(const runtime::Tensor<double>& t) {
  return runtime::Tensor<float>(t.shape, std::vector<float>(t.data.begin(), t.data.end()));
}

double relative_error(const runtime::Tensor<float>& a, const runtime::Tensor<double>& b) {
  double diff = 0, norm = 0;
  for (int64_t k = 0; k < b.size(); ++k) {
    double d = static_cast<double>(a[k]) - b[k];
    diff += d * d;
    norm += b[k] * b[k];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// A model on `device`, or a UserError naming why it cannot run there.
std::unique_ptr<CompiledModule> load(const Model& m, Device device) {
  std::string why = runtime::device_unavailable_reason(device);
  if (!why.empty()) throw UserError(why);
  return m.load(device);
}

// Forward and backward against the reference executor in f64 at a small shape, as a training step
// runs them: @forward's results handed to @backward in place. With CUDA graphs, a first step on other
// inputs records the graphs; the checked step replays them.
bool check(const Model& m, Device device, bool graphs) {
  auto compiled = load(m, device);
  compiled->init_params(3);
  compiled->set_keep_params_on_device(true);
  compiled->set_results_on_host(false);
  if (graphs) compiled->set_cuda_graphs(true);
  ir::Module module = compiled->module();
  runtime::ReferenceExecutor<double> reference(module);
  for (const auto& [name, p] : compiled->params()) {
    reference.set_param(name, runtime::Tensor<double>(p.shape, std::vector<double>(p.data.begin(), p.data.end())));
  }
  const int64_t time = 5, batch = 3;
  const ir::Function& fwd = *module.find_function("forward");
  const ir::Function& bwd = *module.find_function("backward");
  std::mt19937 gen(11);
  double worst_forward = 0, worst_backward = 0;
  // One step on fresh inputs; `compare` false: only run it (the recording step).
  auto step = [&](bool compare) {
    runtime::Tensor<double> x = random_tensor({time, batch, m.input}, gen);
    std::vector<runtime::Value<double>> want = reference.run("forward", {x});
    std::vector<Buffer> got =
        compiled->run_buffers("forward", {CompiledModule::to_buffer(to_f32(x), ir::DType::F32)});
    for (size_t i = 0; compare && i < want.size(); ++i) {
      if (starts_with(fwd.result_names()[i], passes::kSavedPrefix)) continue;
      worst_forward = std::max(worst_forward, relative_error(std::get<runtime::Tensor<float>>(CompiledModule::to_value(got[i])),
                                                             std::get<runtime::Tensor<double>>(want[i])));
    }
    // @backward's arguments by name: cotangents of the results, then the saved activations.
    std::vector<runtime::Value<double>> ref_args;
    std::vector<Buffer> args;
    for (size_t a = 0; a < bwd.args().size(); ++a) {
      const std::string& name = bwd.value_name(bwd.arg(a));
      for (size_t i = 0; i < want.size(); ++i) {
        const std::string& result = fwd.result_names()[i];
        if (name == passes::kCotangentPrefix + result) {
          runtime::Tensor<double> c = random_tensor(std::get<runtime::Tensor<double>>(want[i]).shape, gen);
          ref_args.push_back(c);
          args.push_back(CompiledModule::to_buffer(to_f32(c), ir::DType::F32));
        } else if (name == result) {
          ref_args.push_back(want[i]);
          args.push_back(got[i]);
        }
      }
    }
    RNNC_INTERNAL_CHECK(args.size() == bwd.args().size()) << m.name << ": cannot match @backward's arguments";
    std::vector<runtime::Value<double>> grads_want = reference.run("backward", ref_args);
    std::vector<Buffer> grads = compiled->run_buffers("backward", args);
    for (size_t i = 0; compare && i < grads.size(); ++i) {
      worst_backward = std::max(worst_backward, relative_error(std::get<runtime::Tensor<float>>(CompiledModule::to_value(grads[i])),
                                                               std::get<runtime::Tensor<double>>(grads_want[i])));
    }
  };
  if (graphs) step(false);
  step(true);
  const bool ok = worst_forward < 1e-4 && worst_backward < 1e-4;
  std::printf("check %-18s %s%s: T %" PRId64 " B %" PRId64 ": forward rel. err %.2e, backward %.2e: %s\n", m.name,
              runtime::device_name(device), graphs ? " (graphs)" : "", time, batch, worst_forward, worst_backward,
              ok ? "ok" : "FAILED");
  std::fflush(stdout);
  return ok;
}

struct TimeOptions {
  int repeats = 10, warmup = 3;
  int64_t seq = 0, batch = 0;  // > 0: overrides the workload's
  bool profile = false;
  bool graphs = false;
};

void time_workload(const Workload& w, Device device, const TimeOptions& o) {
  const Model& m = model_named(w.model);
  const int64_t seq = o.seq > 0 ? o.seq : w.seq, batch = o.batch > 0 ? o.batch : w.batch;
  auto compiled = load(m, device);
  compiled->init_params(1);
  compiled->set_keep_params_on_device(true);
  compiled->set_results_on_host(false);
  if (o.graphs) compiled->set_cuda_graphs(true);
  const ir::Function& fwd = *compiled->module().find_function("forward");
  const ir::Function& bwd = *compiled->module().find_function("backward");
  std::mt19937 gen(5);
  // Inputs and cotangents are built once: after the first step they live on the device.
  std::vector<Buffer> fwd_args{CompiledModule::to_buffer(to_f32(random_tensor({seq, batch, m.input}, gen)), ir::DType::F32)};
  compiled->upload(fwd_args[0]);
  std::map<std::string, Buffer> cotangents;
  for (size_t i = 0; i < fwd.result_names().size(); ++i) {
    const std::string& result = fwd.result_names()[i];
    if (starts_with(result, passes::kSavedPrefix)) continue;
    const ir::TensorType& t = fwd.type(fwd.results()[i]);
    runtime::Dims dims;
    for (const ir::Dim& d : t.shape) dims.push_back(d.is_symbolic() ? (d.symbol == "time" ? seq : batch) : d.size);
    Buffer c = CompiledModule::new_buffer(ir::DType::F32, dims, /*zeroed=*/true);
    if (result == "y") std::fill_n(static_cast<float*>(c.data()), c.number_of_elements(), 1.0f);
    compiled->upload(c);
    cotangents[passes::kCotangentPrefix + result] = c;
  }
  auto issue = [&] {
    std::vector<Buffer> results = compiled->run_buffers("forward", fwd_args);
    std::vector<Buffer> args;
    for (size_t a = 0; a < bwd.args().size(); ++a) {
      const std::string& name = bwd.value_name(bwd.arg(a));
      if (auto c = cotangents.find(name); c != cotangents.end()) {
        args.push_back(c->second);
        continue;
      }
      const auto& names = fwd.result_names();
      auto r = std::find(names.begin(), names.end(), name);
      RNNC_INTERNAL_CHECK(r != names.end()) << "@backward argument " << name << " is no @forward result";
      args.push_back(results[r - names.begin()]);
    }
    compiled->run_buffers("backward", args);
  };
  auto step = [&] {
    issue();
    compiled->synchronize();
  };
  for (int i = 0; i < o.warmup; ++i) step();
  // issue_ms: until the host has queued every kernel of the step (kernels run asynchronously). Close
  // to train_ms, the step is bound by the host's cost per launch, not by the GPU.
  std::vector<double> ms, issue_ms;
  for (int i = 0; i < std::max(1, o.repeats); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    issue();
    auto t1 = std::chrono::steady_clock::now();
    compiled->synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    issue_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::sort(issue_ms.begin(), issue_ms.end());
  std::printf("{\"workload\": \"%s\", \"cell\": \"%s\", \"layers\": %" PRId64 ", \"batch\": %" PRId64
              ", \"seq\": %" PRId64 ", \"input\": %" PRId64 ", \"hidden\": %" PRId64
              ", \"device\": \"%s\", \"graphs\": %s, \"train_ms\": %.4f, \"min_ms\": %.4f, \"issue_ms\": %.4f, "
              "\"repeats\": %zu}\n",
              w.name, m.cell, m.layers, batch, seq, m.input, m.hidden, runtime::device_name(device),
              o.graphs ? "true" : "false", ms[ms.size() / 2], ms.front(), issue_ms[issue_ms.size() / 2], ms.size());
  std::fflush(stdout);
  if (o.profile) {
    // Kernel by kernel: one more step, each kernel waited for (the host's cost per launch included).
    // CUDA graphs: each kernel's GPU time alone (graph_kernel_times).
    std::map<std::string, CompiledModule::KernelTime> times;
    if (o.graphs) {
      times = compiled->graph_kernel_times();
    } else {
      compiled->set_profiling(true);
      step();
      times = compiled->profile();
    }
    std::vector<std::pair<double, std::string>> rows;
    double total = 0;
    for (const auto& [name, t] : times) {
      rows.push_back({t.seconds * 1e3, name + " (" + std::to_string(t.calls) + " calls)"});
      total += t.seconds * 1e3;
    }
    std::sort(rows.rbegin(), rows.rend());
    std::printf("# profile %s%s: %.3f ms in kernels\n", w.name, o.graphs ? " (graphs: GPU time of each kernel alone)" : "",
                total);
    // Graphs: every kernel (the smallest show the floor per kernel); else the ten largest.
    for (size_t i = 0; i < std::min<size_t>(rows.size(), o.graphs ? rows.size() : 10); ++i) {
      std::printf("#   %8.3f ms %5.1f%%  %s\n", rows[i].first, 100 * rows[i].first / total, rows[i].second.c_str());
    }
  }
}

int usage(const char* why) {
  std::fprintf(stderr,
               "gpu_bench: %s\nusage: gpu_bench --list | --device cuda|cpu|opencl (--check | --time [--only NAME] "
               "[--repeats N] [--warmup N] [--seq T] [--batch B] [--profile] [--graphs] | --persistent-probe [--seq T] "
               "[--batch B] [--repeats N] [--warmup N])\n",
               why);
  return 2;
}

int main_body(int argc, char** argv) {
  std::string device_name = "cuda", only;
  bool list = false, do_check = false, do_time = false, do_probe = false;
  TimeOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UserError(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> int64_t {
      std::string v = value();
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0) throw UserError(a + " needs a non-negative integer, got '" + v + "'");
      return n;
    };
    if (a == "--list") list = true;
    else if (a == "--check") do_check = true;
    else if (a == "--time") do_time = true;
    else if (a == "--persistent-probe") do_probe = true;
    else if (a == "--profile") o.profile = true;
    else if (a == "--graphs") o.graphs = true;
    else if (a == "--device") device_name = value();
    else if (a == "--only") only = value();
    else if (a == "--repeats") o.repeats = static_cast<int>(number());
    else if (a == "--warmup") o.warmup = static_cast<int>(number());
    else if (a == "--seq") o.seq = number();
    else if (a == "--batch") o.batch = number();
    else return usage(("unknown argument '" + a + "'").c_str());
  }
  if (list) {
    for (const Workload& w : workloads()) {
      const Model& m = model_named(w.model);
      std::printf("{\"workload\": \"%s\", \"cell\": \"%s\", \"layers\": %" PRId64 ", \"batch\": %" PRId64
                  ", \"seq\": %" PRId64 ", \"input\": %" PRId64 ", \"hidden\": %" PRId64 "}\n",
                  w.name, m.cell, m.layers, w.batch, w.seq, m.input, m.hidden);
    }
    return 0;
  }
  if (!do_check && !do_time && !do_probe) return usage("give --list, --check, --time or --persistent-probe");
  const Device device = runtime::parse_device(device_name);
  if (device != Device::Cpu) {
    std::string why = runtime::device_unavailable_reason(device);
    if (!why.empty()) {
      std::fprintf(stderr, "gpu_bench: %s\n", why.c_str());
      return 1;
    }
    std::printf("# device: %s\n", runtime::device_description(device).c_str());
  }
  bool ok = true, found = true;
  if (do_probe) ok &= persistent_probe(device, o.seq > 0 ? o.seq : 200, o.batch > 0 ? o.batch : 64, o.repeats, o.warmup);
  if (do_check) {
    found = only.empty();
    for (const Model& m : models()) {
      if (!only.empty() && only != m.name) continue;  // --check --only MODEL
      found = true;
      ok &= check(m, device, o.graphs);
    }
    if (!found) throw UserError("--only: no model named '" + only + "'");
  }
  if (do_time) {
    found = only.empty();
    for (const Workload& w : workloads()) {
      if (!only.empty() && only != w.name) continue;
      found = true;
      time_workload(w, device, o);
    }
    if (!found) throw UserError("--only: no workload named '" + only + "' (see --list)");
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace rnnc::bench

// A crash on the GPU machine (no debugger there) prints the stack, offsets resolvable here with
// `addr2line -f -C -e gpu_bench 0xOFFSET` against the same binary.
void print_stack_and_die(int sig) {
  static const char message[] = "gpu_bench: crashed; stack:\n";
  if (write(2, message, sizeof message - 1) < 0) {
  }
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), 2);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int main(int argc, char** argv) {
  void* warm_up[1];
  backtrace(warm_up, 1);  // its first call may load a library: not inside a signal handler
  std::signal(SIGSEGV, print_stack_and_die);
  std::signal(SIGABRT, print_stack_and_die);
  try {
    return rnnc::bench::main_body(argc, argv);
  } catch (const rnnc::Error& e) {
    std::fprintf(stderr, "gpu_bench: error: %s\n", e.what());
    return 1;
  }
}
