#include <chrono>
#include <iostream>
#include <algorithm>
#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
using namespace rnnc;
double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size()/2]; }
int main(int argc, char** argv) {
  std::string cell = argc > 1 ? argv[1] : "lstm";
  int64_t B = 64, T = 200, I = 100, H = 128; int L = 2;
  for (int train = 0; train < 2; ++train) {
    ir::Module m = zoo::build_cell_model(cell, {.input_size = I, .hidden_size = H, .num_layers = L, .lengths = false});
    passes::PassManager pm; train ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm); pm.run(m);
    runtime::CompiledModule cm(m);
    auto t0 = std::chrono::steady_clock::now();
    cm.load(codegen::jit_compile(cm.plan()));
    std::cerr << "compile " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    cm.init_params(1);
    runtime::Tensor<float> x({T, B, I}, 0.1f);
    std::vector<runtime::Value<float>> args{x};
    std::vector<double> times;
    const ir::Function& fwd = *m.find_function("forward");
    auto step = [&] {
      auto out = cm.run("forward", args);
      if (train) {
        std::vector<runtime::Value<float>> bargs;
        for (size_t i = 0; i < out.size(); ++i) if (fwd.result_names()[i].rfind("saved.", 0) != 0) bargs.push_back(runtime::Tensor<float>(std::get<runtime::Tensor<float>>(out[i]).shape, 1.0f));
        for (size_t i = 0; i < out.size(); ++i) if (fwd.result_names()[i].rfind("saved.", 0) == 0) bargs.push_back(out[i]);
        cm.run("backward", bargs);
      }
    };
    for (int r = 0; r < 7; ++r) {
      auto a = std::chrono::steady_clock::now();
      step();
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::cout << cell << (train ? " train " : " forward ") << median(times) << " ms\n";
    cm.set_profiling(true);
    step();  // the profile of a whole step: forward, and backward when training
    for (auto& [n, t] : cm.profile()) std::cout << "  " << n << " " << t.seconds * 1e3 << " ms " << t.calls << " calls\n";
  }
}
