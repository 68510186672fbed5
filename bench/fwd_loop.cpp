// Temporary profiling driver: runs the LSTM forward at the seed shape in a loop (for perf).
#include <iostream>
#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
using namespace rnnc;
int main(int argc, char** argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 20;
  ir::Module m = zoo::build_cell_model("lstm", {.input_size = 100, .hidden_size = 128, .num_layers = 2, .lengths = false});
  passes::PassManager pm; passes::add_inference_pipeline(pm); pm.run(m);
  runtime::CompiledModule cm(m);
  cm.load(codegen::jit_compile(cm.plan()));
  cm.init_params(1);
  runtime::Tensor<float> x({200, 64, 100}, 0.1f);
  for (int r = 0; r < reps; ++r) cm.run("forward", {x});
}
