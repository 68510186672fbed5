// A cell whose gate adds a [batch, H] value to a [batch, I] value: the DSL stops at the add and names
// the op, the cell, the layer and both shapes.
#include "frontend/model.h"

using namespace rnnc;

int main() {
  dsl::CellDef broken{"broken-rnn", [](dsl::Cell& c) {
                        dsl::Expr x = c.input(), h = c.state("h");
                        c.next("h", tanh(c.linear(h, "W_hh", c.hidden_size()) + x));
                      }};
  dsl::Model m("shape-mismatch");
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(7)});
  m.recurrent("rnn", broken, x, {.hidden_size = 5});
  return 0;
}
