// Runs the AOT-compiled MGU tagger (see mgu_model.cpp): no Halide, no LLVM, no JIT at run time — just
// the library rnnc_add_model built and rnnc's runtime.
//
//   build/bin/tag-sequences
#include <iostream>
#include <random>
#include <string>

#include "mgu_tagger.h"

int main(int argc, char** argv) {
  if (argc > 1) {  // it takes nothing: an argument is a mistake, said, not ignored
    const std::string usage = "usage: tag-sequences (runs the AOT-compiled MGU tagger)\n";
    if (std::string(argv[1]) == "--help") {
      std::cout << usage;
      return 0;
    }
    std::cerr << "tag-sequences: unexpected argument '" << argv[1] << "'\n" << usage;
    return 2;
  }
  try {
    auto model = rnnc_models::mgu_tagger::load();
    model->init_params(/*seed=*/1);
    std::mt19937 gen(2);
    std::normal_distribution<float> normal;
    rnnc::runtime::Tensor<float> x({20, 4, 16});
    for (float& v : x.data) v = normal(gen);
    rnnc::runtime::IntTensor lengths({4}, {20, 11, 5, 1});
    auto out = model->run("forward", {x, lengths});
    const auto& tags = std::get<rnnc::runtime::Tensor<float>>(out[0]);
    std::cout << "tags " << rnnc::runtime::dims_str(tags.shape) << "; sequence 0, step 0:";
    for (int k = 0; k < 5; ++k) std::cout << " " << tags[k];
    std::cout << "\n";
    return 0;
  } catch (const rnnc::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
