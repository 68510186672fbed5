// A model of one's own, compiled ahead of time: rnnc_add_model(mgu_tagger GENERATOR mgu_model.cpp) builds
// this file into a generator that compiles the model into libmgu_tagger.a and mgu_tagger.h at build time.
#include "frontend/model.h"

using namespace rnnc;
using dsl::Expr;

// The minimal gated unit (Zhou et al., 2016).
static dsl::CellDef minimal_gated_unit() {
  return {"mgu", [](dsl::Cell& c) {
            Expr x = c.input(), h = c.state("h");
            int64_t H = c.hidden_size();
            // One parameter per statement: in `c.linear(..) + c.linear(..)` the compiler picks which
            // operand is made first, and with it the parameters' order in the IR.
            Expr input_f = c.linear(x, "W_f", H, "b_f");
            Expr f = sigmoid(input_f + c.linear(h, "U_f", H));
            Expr input_h = c.linear(x, "W_h", H, "b_h");
            Expr candidate = tanh(input_h + c.linear(f * h, "U_h", H));
            c.next("h", (1.0 - f) * h + f * candidate);
          }};
}

ir::Module rnnc_model() {
  dsl::Model m("mgu-tagger");
  Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(16)});
  Expr lengths = m.input("lengths", ir::DType::I32, {ir::batch_dim()});
  auto rnn = m.recurrent("mgu", minimal_gated_unit(), x,
                         {.hidden_size = 32, .num_layers = 2, .bidirectional = true, .lengths = lengths});
  m.output("tags", softmax(m.linear("head", rnn.sequence, 5)));
  return m.finish();
}
