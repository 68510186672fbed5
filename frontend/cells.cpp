#include "frontend/cells.h"

namespace rnnc::cells {

using dsl::Cell;
using dsl::CellDef;
using dsl::Expr;

namespace {

// W_i<g> x + b_i<g> + W_h<g> h + b_h<g>: one gate's pre-activation with PyTorch's naming.
Expr gate(Cell& c, const Expr& x, const Expr& h, const std::string& g) {
  int64_t H = c.hidden_size();
  Expr input_part = c.linear(x, "W_i" + g, H, "b_i" + g);  // named statements fix the parameter order
  Expr hidden_part = c.linear(h, "W_h" + g, H, "b_h" + g);
  return input_part + hidden_part;
}

CellDef simple_rnn(const char* name, Expr (*activation)(const Expr&)) {
  return {name, [activation](Cell& c) {
            Expr x = c.input(), h = c.state("h");
            c.next("h", activation(gate(c, x, h, "h")));
          }};
}

}  // namespace

CellDef rnn_tanh() { return simple_rnn("rnn-tanh", dsl::tanh); }

CellDef rnn_relu() { return simple_rnn("rnn-relu", dsl::relu); }

CellDef lstm() {
  return {"lstm", [](Cell& c) {
            Expr x = c.input(), h = c.state("h"), cs = c.state("c");
            Expr i = sigmoid(gate(c, x, h, "i"));
            Expr f = sigmoid(gate(c, x, h, "f"));
            Expr g = tanh(gate(c, x, h, "g"));
            Expr o = sigmoid(gate(c, x, h, "o"));
            Expr forget = f * cs;
            Expr write = i * g;
            Expr c_next = forget + write;
            c.next("h", o * tanh(c_next));
            c.next("c", c_next);
          }};
}

CellDef gru(bool linear_before_reset) {
  return {linear_before_reset ? "gru" : "gru-reset-before", [linear_before_reset](Cell& c) {
            Expr x = c.input(), h = c.state("h");
            int64_t H = c.hidden_size();
            Expr r = sigmoid(gate(c, x, h, "r"));
            Expr z = sigmoid(gate(c, x, h, "z"));
            Expr input_part = c.linear(x, "W_in", H, "b_in");
            Expr recurrent = linear_before_reset ? r * c.linear(h, "W_hn", H, "b_hn") : c.linear(r * h, "W_hn", H, "b_hn");
            Expr n = tanh(input_part + recurrent);
            Expr keep_new = (1.0 - z) * n;
            Expr keep_old = z * h;
            c.next("h", keep_new + keep_old);
          }};
}

CellDef peephole_lstm() {
  return {"peephole-lstm", [](Cell& c) {
            Expr x = c.input(), h = c.state("h"), cs = c.state("c");
            int64_t H = c.hidden_size();
            // Each gate plus its peephole term, as named steps so the op order is the same under every compiler.
            auto peephole_gate = [&](const std::string& g, const Expr& cell) {
              Expr pre = gate(c, x, h, g);
              Expr peep = c.param("p_" + g, {ir::Dim::fixed(H)}) * cell;
              return sigmoid(pre + peep);
            };
            Expr i = peephole_gate("i", cs);
            Expr f = peephole_gate("f", cs);
            Expr g = tanh(gate(c, x, h, "g"));
            Expr forget = f * cs;
            Expr write = i * g;
            Expr c_next = forget + write;
            Expr o = peephole_gate("o", c_next);
            c.next("h", o * tanh(c_next));
            c.next("c", c_next);
          }};
}

CellDef layernorm_lstm() {
  return {"layernorm-lstm", [](Cell& c) {
            Expr x = c.input(), h = c.state("h"), cs = c.state("c");
            int64_t H = c.hidden_size();
            ir::Shape gates{ir::Dim::fixed(4 * H)}, hidden{ir::Dim::fixed(H)};
            auto ln = [&](const Expr& v, const std::string& name, const ir::Shape& shape) {
              Expr gamma = c.param(name + ".gamma", shape, ir::InitSpec::ones());
              Expr beta = c.param(name + ".beta", shape, ir::InitSpec::zeros());
              return layer_norm(v, gamma, beta);
            };
            Expr input_part = ln(c.linear(x, "W_ih", 4 * H), "ln_ih", gates);
            Expr hidden_part = ln(c.linear(h, "W_hh", 4 * H), "ln_hh", gates);
            std::vector<Expr> g = split(input_part + hidden_part, 4);
            Expr i = sigmoid(g[0]), f = sigmoid(g[1]), cand = tanh(g[2]), o = sigmoid(g[3]);
            Expr forget = f * cs;
            Expr write = i * cand;
            Expr c_next = ln(forget + write, "ln_c", hidden);
            c.next("h", o * tanh(c_next));
            c.next("c", c_next);
          }};
}

}  // namespace rnnc::cells
