// A cell that reaches out to a model-level value instead of taking it as its input.
#include "frontend/model.h"

using namespace rnnc;

int main() {
  dsl::Model m("foreign-scope");
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(3)});
  dsl::Expr bias = m.input("bias", ir::DType::F32, {ir::Dim::fixed(4)});
  dsl::CellDef broken{"leaky", [&](dsl::Cell& c) {
                        dsl::Expr h = c.state("h");
                        c.next("h", h + bias);
                      }};
  m.recurrent("rnn", broken, x, {.hidden_size = 4});
  return 0;
}
