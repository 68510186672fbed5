#include "frontend/onnx/onnx_cells.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "frontend/cells.h"
#include "ir/error.h"

namespace rnnc::onnx_import {

using dsl::Cell;
using dsl::CellDef;
using dsl::Expr;

namespace {

struct ActivationSpec {
  const char* name;
  int params;  // 0: none, 1: alpha, 2: alpha and beta
  double alpha, beta;  // the defaults of the ONNX operator of that name
};

const ActivationSpec kActivations[] = {
    {"Relu", 0, 0, 0},          {"Tanh", 0, 0, 0},        {"Sigmoid", 0, 0, 0},
    {"Affine", 2, 1.0, 0.0},    {"LeakyRelu", 1, 0.01, 0}, {"ThresholdedRelu", 1, 1.0, 0},
    {"ScaledTanh", 2, 1.0, 1.0}, {"HardSigmoid", 2, 0.2, 0.5}, {"Elu", 1, 1.0, 0},
    {"Softsign", 0, 0, 0},      {"Softplus", 0, 0, 0},
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const ActivationSpec* find_activation(const std::string& name) {
  for (const ActivationSpec& a : kActivations) {
    if (lower(a.name) == lower(name)) return &a;
  }
  return nullptr;
}

Expr relu_mask(const Expr& x) { return x.scope()->add(ir::OpKind::ReluMask, {x}); }

}  // namespace

std::vector<std::vector<Activation>> recurrent_activations(const onnx_io::NodeInfo& node, int directions) {
  const std::string& op = node.op_type;
  std::vector<std::string> defaults;
  if (op == "LSTM") defaults = {"Sigmoid", "Tanh", "Tanh"};
  else if (op == "GRU") defaults = {"Sigmoid", "Tanh"};
  else defaults = {"Tanh"};
  const size_t per = defaults.size();
  std::vector<std::string> names;
  for (int d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  if (node.has("activations")) {
    std::vector<std::string> given = node.get_strings("activations");
    if (given.size() == per && directions == 2) given.insert(given.end(), given.begin(), given.end());
    RNNC_USER_CHECK(given.size() == per * static_cast<size_t>(directions))
        << node.source << ": attribute 'activations' lists " << counted(static_cast<int64_t>(given.size()), "function")
        << "; " << op << " with " << counted(directions, "direction") << " takes " << per * static_cast<size_t>(directions);
    names = given;
  }
  std::vector<float> alphas, betas;
  if (node.has("activation_alpha")) alphas = node.get_floats("activation_alpha");
  if (node.has("activation_beta")) betas = node.get_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<std::vector<Activation>> out(static_cast<size_t>(directions));
  for (size_t k = 0; k < names.size(); ++k) {
    const ActivationSpec* spec = find_activation(names[k]);
    if (!spec) {
      std::string known;
      for (const ActivationSpec& a : kActivations) known += std::string(known.empty() ? "" : ", ") + a.name;
      throw_user_error(node.source + ": attribute 'activations': unknown activation function '" + names[k] +
                       "' (ONNX defines " + known + ")");
    }
    Activation a{spec->name, spec->alpha, spec->beta};
    if (spec->params >= 1 && next_alpha < alphas.size()) a.alpha = alphas[next_alpha++];
    if (spec->params >= 2 && next_beta < betas.size()) a.beta = betas[next_beta++];
    out[k / per].push_back(a);
  }
  RNNC_USER_CHECK(next_alpha == alphas.size() && next_beta == betas.size())
      << node.source << ": activation_alpha / activation_beta give " << alphas.size() << " / " << betas.size()
      << " values but the activations take " << next_alpha << " / " << next_beta;
  return out;
}

Expr clip(const Expr& x, double lo, double hi) {
  // x * inside + hi * above + lo * below: no rounding inside the range; an infinite bound has no term.
  Expr inside = x.scope()->constant(1.0, {}, x.type().dtype);
  Expr bounds;
  if (std::isfinite(hi)) {
    Expr above = relu_mask(x - hi);  // 1 where x > hi
    inside = inside - above;
    bounds = hi * above;
  }
  if (std::isfinite(lo)) {
    Expr below = relu_mask(lo - x);  // 1 where x < lo
    inside = inside - below;
    bounds = bounds.defined() ? bounds + lo * below : lo * below;
  }
  if (!bounds.defined()) return x;
  return x * inside + bounds;
}

Expr apply_activation(const Activation& a, const Expr& x) {
  const std::string& n = a.name;
  if (n == "Relu") return relu(x);
  if (n == "Tanh") return tanh(x);
  if (n == "Sigmoid") return sigmoid(x);
  if (n == "Affine") return a.alpha * x + a.beta;
  if (n == "ThresholdedRelu") return x * relu_mask(x - a.alpha);
  if (n == "ScaledTanh") return a.alpha * tanh(a.beta * x);
  if (n == "HardSigmoid") return clip(a.alpha * x + a.beta, 0.0, 1.0);
  // Both halves are named statements: in `relu(x) + relu(-x)` the compiler picks which operand's nodes
  // are made first, and the IR's numbering (and the kernel cache's key) would follow.
  Expr positive = relu(x);
  Expr negative = relu(-x);
  if (n == "LeakyRelu") return positive - a.alpha * negative;
  if (n == "Elu") return positive + a.alpha * (exp(-negative) - 1.0);
  Expr abs = positive + negative;
  if (n == "Softsign") return x / (1.0 + abs);
  if (n == "Softplus") return positive + log(1.0 + exp(-abs));  // log(1 + e^x) without overflow
  throw_user_error("unknown activation function '" + n + "'");
}

Expr absolute(const Expr& x) {
  Expr positive = relu(x);  // sequenced, as in apply_activation
  return positive + relu(-x);
}

CellDef onnx_cell(const CellOptions& o) {
  auto names = [&] {
    std::vector<std::string> v;
    for (const Activation& a : o.activations) v.push_back(a.name);
    return v;
  }();
  const bool plain = !o.clip && !o.input_forget;
  if (o.op == "LSTM" && plain && names == std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}) {
    return o.peepholes ? cells::peephole_lstm() : cells::lstm();
  }
  if (o.op == "GRU" && plain && names == std::vector<std::string>{"Sigmoid", "Tanh"}) return cells::gru(o.linear_before_reset);
  if (o.op == "RNN" && plain && names == std::vector<std::string>{"Tanh"}) return cells::rnn_tanh();
  if (o.op == "RNN" && plain && names == std::vector<std::string>{"Relu"}) return cells::rnn_relu();

  std::string name = "onnx-" + lower(o.op);
  return {name, [o](Cell& c) {
            const int64_t H = c.hidden_size();
            auto act = [&](size_t k, const Expr& pre) {
              return apply_activation(o.activations.at(k), o.clip ? clip(pre, -*o.clip, *o.clip) : pre);
            };
            Expr x = c.input(), h = c.state("h");
            auto gate = [&](const std::string& g) {
              Expr input_part = c.linear(x, "W_i" + g, H, "b_i" + g);
              Expr hidden_part = c.linear(h, "W_h" + g, H, "b_h" + g);
              return input_part + hidden_part;
            };
            if (o.op == "RNN") {
              c.next("h", act(0, gate("h")));
            } else if (o.op == "GRU") {
              Expr z = act(0, gate("z"));
              Expr r = act(0, gate("r"));
              Expr input_part = c.linear(x, "W_in", H, "b_in");
              Expr recurrent = o.linear_before_reset ? r * c.linear(h, "W_hn", H, "b_hn") : c.linear(r * h, "W_hn", H, "b_hn");
              Expr n = act(1, input_part + recurrent);
              Expr keep_new = (1.0 - z) * n;
              Expr keep_old = z * h;
              c.next("h", keep_new + keep_old);
            } else {
              Expr cs = c.state("c");
              auto peephole = [&](const std::string& g, const Expr& pre, const Expr& cell) {
                return o.peepholes ? pre + c.param("p_" + g, {ir::Dim::fixed(H)}) * cell : pre;
              };
              Expr i = act(0, peephole("i", gate("i"), cs));
              Expr f = o.input_forget ? 1.0 - i : act(0, peephole("f", gate("f"), cs));
              Expr g = act(1, gate("g"));
              Expr forget = f * cs;
              Expr write = i * g;
              Expr c_next = forget + write;
              Expr out = act(0, peephole("o", gate("o"), c_next));
              c.next("h", out * act(2, c_next));
              c.next("c", c_next);
            }
          }};
}

}  // namespace rnnc::onnx_import
