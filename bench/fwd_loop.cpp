// Profiling driver: runs a cell's inference forward at the seed shape in a loop (for perf), in a process
// that does nothing else, as a deployed model would.   [CELL=layernorm-lstm] fwd_loop [reps] [values]
// "values": through CompiledModule::run (results copied into fresh vectors), not run_buffers.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
using namespace rnnc;
int run(int reps, bool values);
int main(int argc, char** argv) {
  const char* usage = "usage: [CELL=lstm] fwd_loop [REPS (20)] [values]\n";
  int reps = 20;
  if (argc > 1) {
    char* end = nullptr;
    long r = std::strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || r < 1 || r > 1000000) {
      std::cerr << "fwd_loop: REPS must be a whole number from 1 to 1000000, got '" << argv[1] << "'\n" << usage;
      return 2;
    }
    reps = static_cast<int>(r);
  }
  if (argc > 3 || (argc > 2 && std::string(argv[2]) != "values")) {
    std::cerr << "fwd_loop: unexpected argument '" << argv[argc > 3 ? 3 : 2] << "'\n" << usage;
    return 2;
  }
  try {
    return run(reps, argc > 2);
  } catch (const std::exception& e) {
    std::cerr << "fwd_loop: error: " << e.what() << "\n";
    return 1;
  }
}
int run(int reps, bool values) {
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
  return 0;
}
