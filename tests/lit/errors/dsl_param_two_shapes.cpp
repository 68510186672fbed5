// One parameter name used for a [H, I] and a [H, H] weight.
#include "frontend/model.h"

using namespace rnnc;

int main() {
  dsl::CellDef broken{"shared-weight", [](dsl::Cell& c) {
                        dsl::Expr x = c.input(), h = c.state("h");
                        dsl::Expr a = c.linear(x, "W", c.hidden_size());
                        dsl::Expr b = c.linear(h, "W", c.hidden_size());
                        c.next("h", tanh(a + b));
                      }};
  dsl::Model m("param-two-shapes");
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(3)});
  m.recurrent("rnn", broken, x, {.hidden_size = 4});
  return 0;
}
