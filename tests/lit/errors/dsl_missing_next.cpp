// An LSTM-like cell that forgets to give its cell state a next value.
#include "frontend/model.h"

using namespace rnnc;

int main() {
  dsl::CellDef broken{"forgetful-lstm", [](dsl::Cell& c) {
                        dsl::Expr x = c.input(), h = c.state("h"), cs = c.state("c");
                        c.next("h", tanh(c.linear(x, "W_ih", c.hidden_size()) + h * cs));
                      }};
  dsl::Model m("missing-next");
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(3)});
  m.recurrent("rnn", broken, x, {.hidden_size = 4});
  return 0;
}
