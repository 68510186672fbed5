// Times one compiled kernel in isolation (min over batches of calls): for schedule work.
//   [CELL=gru] [T=steps] [HIDDEN=n] [TARGET=host-profile] kernel_bench [infer|train] [kernel] [batch] [stream]
// `kernel` picks the kernels whose names end in "_<kernel>" (backward_k1: lstm_backward_k1, not k19), or,
// where none does, those whose names contain it (scan: every step kernel).
#include <HalideBuffer.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
#include "runtime/kernel_scratch.h"
#include "runtime/weight_panels.h"
using namespace rnnc;
using Buffer = Halide::Runtime::Buffer<void>;

int main(int argc, char** argv) {
  bool train = argc > 1 && std::string(argv[1]) == "train";
  std::string pick = argc > 2 ? argv[2] : "scan";
  int64_t B = argc > 3 ? atoi(argv[3]) : 64, T = getenv("T") ? atoi(getenv("T")) : 200;
  const bool stream = argc > 4 && std::string(argv[4]) == "stream";
  const char* cell = getenv("CELL") ? getenv("CELL") : "lstm";
  const int64_t hidden = getenv("HIDDEN") ? atoi(getenv("HIDDEN")) : 128;
  ir::Module m = zoo::build_cell_model(cell, {.input_size = 100, .hidden_size = hidden, .num_layers = 2, .lengths = false});
  passes::PassManager pm;
  train ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  pm.run(m);
  runtime::CompiledModule cm(m);
  const std::string target = getenv("TARGET") ? getenv("TARGET") : "host";
  runtime::KernelTable table = codegen::jit_compile(cm.plan(), target);
  // As the executor runs them (SCRATCH=glibc: Halide's default allocator, for comparison).
  if (!getenv("SCRATCH") || std::string(getenv("SCRATCH")) != "glibc") runtime::use_kernel_scratch(table);
  std::map<std::string, int64_t> dims{{"batch", B}, {"time", T}};
  const std::string mode = getenv("STREAM") ? getenv("STREAM") : "";  // which buffers are fresh per call
  // GPU kernels read their weights as they are, CPU kernels some as panels (runtime/weight_panels.h).
  const bool gpu_target = target.find("cuda") != std::string::npos;
  auto named = [&](const std::string& name) {
    return name == pick || (name.size() > pick.size() && name.compare(name.size() - pick.size(), pick.size(), pick) == 0 &&
                            name[name.size() - pick.size() - 1] == '_');
  };
  bool any_named = false;
  for (const runtime::KernelSpec& spec : cm.plan().kernels()) any_named |= named(spec.name);
  for (const runtime::KernelSpec& spec : cm.plan().kernels()) {
    if (any_named ? !named(spec.name) : spec.name.find(pick) == std::string::npos) continue;
    auto make = [&](const ir::TensorType& t) {
      std::vector<int> sizes;
      for (int d = t.rank() - 1; d >= 0; --d) sizes.push_back(t.shape[d].is_symbolic() ? dims.at(t.shape[d].symbol) : t.shape[d].size);
      halide_type_t ht = t.dtype == ir::DType::F32 ? halide_type_t(halide_type_float, 32) : halide_type_t(halide_type_int, 32);
      Buffer b(ht, sizes);
      if (t.dtype == ir::DType::F32) std::fill_n(static_cast<float*>(b.data()), b.number_of_elements(), 0.01f);
      else std::fill_n(static_cast<int32_t*>(b.data()), b.number_of_elements(), 1);
      return b;
    };
    // "stream": every call gets its own batch-sized buffers (200 sets, as a scan's steps read and write
    // fresh slices of time-stacked buffers), instead of the same cache-hot ones; weights are shared.
    const int sets = stream ? 200 : 1;
    std::vector<std::vector<Buffer>> all(sets);
    std::vector<std::vector<void*>> all_args(sets);
    int32_t t = 0;
    const bool hot_carries = (mode == "seq" || mode == "seqin") && spec.step;
    for (int s = 0; s < sets; ++s) {
      std::vector<Buffer>& bufs = all[s];
      for (size_t i = 0; i < spec.inputs.size(); ++i) {
        const ir::TensorType& type = spec.function->type(spec.inputs[i]);
        // Weights and biases (no batch dim) are the same for every step.
        bool per_step = false;
        for (const ir::Dim& d : type.shape) per_step |= d.is_symbolic();
        // STREAM=out: the step inputs stay cache-hot too, only the outputs are fresh (to tell the two apart);
        // STREAM=in<i>: input i and the outputs are fresh, the other inputs hot (which input costs what).
        // STREAM=seq: a step's carries stay hot (as the executor's two carry buffers do), its sequences
        // are fresh: the closest to a real scan. STREAM=seqin: the same with the step's sequence outputs
        // hot too, so that seq - seqin is what its stores into fresh memory cost.
        bool shared = !per_step || mode == "out" || (hot_carries && static_cast<int64_t>(i) < spec.carries) ||
                      (mode.rfind("in", 0) == 0 && mode != "in" + std::to_string(i));
        if (s > 0 && shared) {
          bufs.push_back(all[0][i]);
        } else if (spec.panel_input(i) && !gpu_target) {
          bufs.push_back(runtime::panels_of(make(type)));  // as the executor passes it on the CPU
        } else {
          bufs.push_back(make(type));
        }
      }
      if (spec.masked) bufs.push_back(make(ir::TensorType{ir::DType::I32, {ir::batch_dim()}}));
      for (size_t o = 0; o < spec.outputs.size(); ++o) {
        const bool hot = s > 0 && hot_carries && (static_cast<int64_t>(o) < spec.carries || mode == "seqin");
        bufs.push_back(hot ? all[0][spec.inputs.size() + (spec.masked ? 1 : 0) + o] : make(spec.function->type(spec.outputs[o])));
      }
      const size_t n_in = spec.inputs.size() + (spec.masked ? 1 : 0);
      for (size_t i = 0; i < bufs.size(); ++i) {
        all_args[s].push_back(bufs[i].raw_buffer());
        if (spec.masked && i + 1 == n_in) all_args[s].push_back(&t);
      }
    }
    auto fn = table.functions.at(spec.name);
    fn(all_args[0].data());
    double best = 1e9;
    int reps = spec.step ? 200 : 3;
    for (int b = 0; b < 20; ++b) {
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) fn(all_args[r % sets].data());
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps);
    }
    std::cout << spec.name << ": best " << best << " ms  (";
    for (size_t i = 0; i < spec.inputs.size(); ++i) std::cout << (i ? ", " : "") << spec.function->type(spec.inputs[i]);
    std::cout << " ->";
    for (const auto& o : spec.outputs) std::cout << " " << spec.function->type(o);
    std::cout << ")\n";
  }
}
