// A cell rnnc has never heard of, in a dozen lines of the DSL: the minimal gated unit (Zhou et al., 2016).
// The program builds a 2-layer bidirectional model from it, prints the IR and runs it on the reference
// executor with variable lengths.
//
//   build/bin/custom-cell
#include <iostream>
#include <random>
#include <string>

#include "frontend/model.h"
#include "ir/printer.h"
#include "runtime/reference_executor.h"

using namespace rnnc;
using dsl::Expr;

dsl::CellDef minimal_gated_unit() {
  return {"mgu", [](dsl::Cell& c) {
            Expr x = c.input(), h = c.state("h");
            int64_t H = c.hidden_size();
            Expr f = sigmoid(c.linear(x, "W_f", H, "b_f") + c.linear(h, "U_f", H));
            Expr candidate = tanh(c.linear(x, "W_h", H, "b_h") + c.linear(f * h, "U_h", H));
            c.next("h", (1.0 - f) * h + f * candidate);
          }};
}

int main(int argc, char** argv) {
  if (argc > 1) {  // it takes nothing: an argument is a mistake, said, not ignored
    const std::string usage = "usage: custom-cell (builds, prints and runs the MGU model)\n";
    if (std::string(argv[1]) == "--help") {
      std::cout << usage;
      return 0;
    }
    std::cerr << "custom-cell: unexpected argument '" << argv[1] << "'\n" << usage;
    return 2;
  }
  dsl::Model m("mgu-tagger");
  Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(8)});
  Expr lengths = m.input("lengths", ir::DType::I32, {ir::batch_dim()});
  auto rnn = m.recurrent("mgu", minimal_gated_unit(), x,
                         {.hidden_size = 16, .num_layers = 2, .bidirectional = true, .lengths = lengths});
  m.output("tags", softmax(m.linear("head", rnn.sequence, 5)));
  ir::Module module = m.finish();
  std::cout << ir::print_module(module);

  runtime::ReferenceExecutor<float> executor(std::move(module));
  executor.init_params(/*seed=*/1);
  std::mt19937 gen(2);
  std::normal_distribution<float> normal;
  runtime::Tensor<float> input({12, 3, 8});
  for (float& v : input.data) v = normal(gen);
  runtime::IntTensor lens({3}, {12, 7, 3});
  auto out = executor.run("forward", {input, lens});
  const auto& tags = std::get<runtime::Tensor<float>>(out[0]);
  std::cout << "// tags: " << runtime::dims_str(tags.shape) << ", row 0 at t=0:";
  for (int k = 0; k < 5; ++k) std::cout << " " << tags[k];
  std::cout << "\n";
  return 0;
}
