// Profiling driver: runs a cell's inference forward at the seed shape in a loop (for perf), in a process
// that does nothing else, as a deployed model would.   [CELL=layernorm-lstm] fwd_loop [reps] [values]
// "values": through CompiledModule::run (results copied into fresh vectors), not run_buffers.
#include <chrono>
#include <iostream>
#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
using namespace rnnc;
int main(int argc, char** argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 20;
  const bool values = argc > 2 && std::string(argv[2]) == "values";
  ir::Module m = zoo::build_cell_model(getenv("CELL") ? getenv("CELL") : "lstm", {.input_size = 100, .hidden_size = 128, .num_layers = 2, .lengths = false});
  passes::PassManager pm; passes::add_inference_pipeline(pm); pm.run(m);
  runtime::CompiledModule cm(m);
  cm.load(codegen::jit_compile(cm.plan()));
  cm.init_params(1);
  runtime::Tensor<float> x0({200, 64, 100}, 0.1f);
  // On buffers, as rnnc-bench runs it: `run` would add copying the results into fresh vectors.
  runtime::CompiledModule::Buffer x;
  if (!values) x = runtime::CompiledModule::to_buffer(x0, ir::DType::F32);
  auto forward = [&] { values ? (void)cm.run("forward", {x0}) : (void)cm.run_buffers("forward", {x}); };
  forward();
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) forward();
  std::cout << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps << " ms a forward\n";
}
