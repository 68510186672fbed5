// A cell that reads a state it never declared.
#include "frontend/model.h"

using namespace rnnc;

int main() {
  dsl::CellDef broken{"typo-lstm", [](dsl::Cell& c) {
                        dsl::Expr h = c.state("h");
                        dsl::Expr cell = c.get_state("cell");  // declared as nothing
                        c.next("h", h + cell);
                      }};
  dsl::Model m("undefined-state");
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(3)});
  m.recurrent("rnn", broken, x, {.hidden_size = 4});
  return 0;
}
