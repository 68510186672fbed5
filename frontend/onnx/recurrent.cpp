#include "frontend/onnx/recurrent.h"

#include <set>

#include "frontend/onnx/context.h"
#include "frontend/onnx/layout.h"
#include "frontend/onnx/onnx_cells.h"
#include "ir/error.h"

namespace rnnc::onnx_import {

RecurrentMapping spec_mapping(const std::string& op_type) {
  RecurrentMapping m;
  if (op_type == "LSTM") m.gates = {"i", "o", "f", "g"};
  else if (op_type == "GRU") m.gates = {"z", "r", "n"};
  else if (op_type == "RNN") m.gates = {"h"};
  else throw_user_error("no ONNX mapping for op type '" + op_type + "' (LSTM, GRU and RNN have one)");
  m.bias_gates = m.gates;
  m.peepholes = {"p_i", "p_o", "p_f"};
  return m;
}

namespace detail {

namespace {

const TValue* input_value(Context& ctx, size_t position) {
  const std::string name = ctx.node->input(position);
  if (name.empty()) return nullptr;
  auto it = ctx.values.find(name);
  RNNC_USER_CHECK(it != ctx.values.end()) << "input " << position << " ('" << name
                                          << "') is not a graph input, an initializer or an earlier node's output";
  return &it->second;
}

// The static dims of a weight tensor, checked against what the node's other inputs imply.
void check_shape(const TensorSource& s, const std::string& role, const runtime::Dims& want) {
  ir::Shape got = s.shape();
  ir::Shape w;
  for (int64_t d : want) w.push_back(ir::Dim::fixed(d));
  RNNC_USER_CHECK(got == w) << role << " (" << s.origin << ") has shape " << ir::shape_str(got) << ", expected "
                            << ir::shape_str(w);
}

bool is_zero(const TValue& v) {
  double s = 0;
  return splat_value(v, &s) && s == 0;
}

}  // namespace

void lower_recurrent(Context& ctx) {
  const onnx_io::NodeInfo& node = *ctx.node;
  const std::string& op = node.op_type;
  auto custom = ctx.options.mappings.find(op);
  const RecurrentMapping mapping = custom != ctx.options.mappings.end() ? custom->second : spec_mapping(op);
  const int64_t G = static_cast<int64_t>(spec_mapping(op).gates.size());
  RNNC_USER_CHECK(static_cast<int64_t>(mapping.gates.size()) == G && static_cast<int64_t>(mapping.bias_gates.size()) == G)
      << "the mapping for " << op << " must name " << G << " gates";

  // --- attributes (every one ONNX defines up to opset 14) ------------------------------------------------
  std::set<std::string> known{"hidden_size", "layout", "direction", "activations", "activation_alpha",
                              "activation_beta", "clip"};
  if (op == "LSTM") known.insert("input_forget");
  if (op == "GRU") known.insert("linear_before_reset");
  for (const auto& [name, attr] : node.attributes) {
    RNNC_USER_CHECK(known.count(name)) << "attribute '" << name << "' is not an attribute of ONNX's " << op;
  }
  const int64_t layout = node.get_int("layout", 0);
  RNNC_USER_CHECK(layout == 0 || layout == 1) << "attribute 'layout' is " << layout << " (0 or 1)";
  const std::string direction = node.get_string("direction", "forward");
  RNNC_USER_CHECK(direction == "forward" || direction == "reverse" || direction == "bidirectional")
      << "attribute 'direction' is '" << direction << "' (forward, reverse or bidirectional)";
  const int64_t D = direction == "bidirectional" ? 2 : 1;
  std::optional<double> clip;
  if (node.has("clip")) {
    clip = node.get_float("clip");
    RNNC_USER_CHECK(*clip > 0) << "attribute 'clip' is " << *clip << "; the threshold must be positive";
  }
  const bool input_forget = node.get_int("input_forget", 0) != 0;
  bool lbr = node.get_int("linear_before_reset", 0) != 0;
  if (mapping.linear_before_reset) lbr = *mapping.linear_before_reset;
  std::vector<std::vector<Activation>> activations = recurrent_activations(node, static_cast<int>(D));

  // --- inputs -----------------------------------------------------------------------------------------
  const size_t max_inputs = op == "LSTM" ? 8 : 6;
  RNNC_USER_CHECK(node.inputs.size() <= max_inputs) << op << " takes at most " << max_inputs << " inputs, got "
                                                    << node.inputs.size();
  const TValue* X = input_value(ctx, 0);
  const TValue* Wv = input_value(ctx, 1);
  const TValue* Rv = input_value(ctx, 2);
  RNNC_USER_CHECK(X && Wv && Rv) << "inputs X, W and R are required";
  const TValue* Bv = mapping.drop_bias ? nullptr : input_value(ctx, 3);
  const TValue* lens = mapping.drop_sequence_lens ? nullptr : input_value(ctx, 4);
  const TValue* h0 = mapping.drop_initial_states ? nullptr : input_value(ctx, 5);
  const TValue* c0 = op == "LSTM" && !mapping.drop_initial_states ? input_value(ctx, 6) : nullptr;
  const TValue* Pv = op == "LSTM" ? input_value(ctx, 7) : nullptr;

  RNNC_USER_CHECK(X->rank() == 3) << "X ('" << X->name << "') must have rank 3, it is " << X->describe();
  RNNC_USER_CHECK(X->is_float) << "X ('" << X->name << "') must be a float tensor";
  const ir::Shape xs = X->shape();
  const ir::Dim batch = xs[layout == 0 ? 1 : 0];
  const ir::Dim input_size = xs[2];
  RNNC_USER_CHECK(!input_size.is_symbolic()) << "X's input size must be static, X is " << X->describe();
  const int64_t I = input_size.size;
  TensorSource W = ctx.source_of(*Wv, "W");
  TensorSource R = ctx.source_of(*Rv, "R");
  RNNC_USER_CHECK(R.rank() == 3 && !R.shape()[2].is_symbolic()) << "R must be a static [num_directions, "
                                                                << G << " * hidden_size, hidden_size] tensor";
  const int64_t H = R.shape()[2].size;
  RNNC_USER_CHECK(H > 0) << "hidden size 0";
  if (node.has("hidden_size")) {
    RNNC_USER_CHECK(node.get_int("hidden_size") == H)
        << "attribute 'hidden_size' is " << node.get_int("hidden_size") << " but R's shape says " << H;
  }
  check_shape(W, "W", {D, G * H, I});
  check_shape(R, "R", {D, G * H, H});
  std::optional<TensorSource> B, P;
  if (Bv) {
    B = ctx.source_of(*Bv, "B");
    check_shape(*B, "B", {D, 2 * G * H});
  }
  if (Pv) {
    P = ctx.source_of(*Pv, "P");
    check_shape(*P, "P", {D, 3 * H});
  }

  // --- the layers -------------------------------------------------------------------------------------
  dsl::Expr x = ctx.require(*X, layout == 0 ? std::vector<int>{0, 1, 2} : std::vector<int>{1, 0, 2}, "X");
  dsl::Expr lengths;
  if (lens) {
    RNNC_USER_CHECK(!lens->is_float && lens->rank() == 1 && lens->shape()[0] == batch)
        << "sequence_lens ('" << lens->name << "') must be an integer [" << batch.str() << "] tensor, it is "
        << lens->describe();
    lengths = ctx.require(*lens, {0}, "sequence_lens");
  }
  const ir::Shape state_shape = layout == 0 ? ir::Shape{ir::Dim::fixed(D), batch, ir::Dim::fixed(H)}
                                            : ir::Shape{batch, ir::Dim::fixed(D), ir::Dim::fixed(H)};
  auto initial_state = [&](const TValue* v, int64_t d, const char* role) -> dsl::Expr {
    if (!v || is_zero(*v)) return {};
    RNNC_USER_CHECK(v->is_float && v->shape() == state_shape)
        << role << " ('" << v->name << "') must be f32" << ir::shape_str(state_shape) << ", it is " << v->describe();
    TValue one = take(ctx, *v, layout == 0 ? 0 : 1, d);
    return ctx.require(one, {0, 1}, role);
  };

  const std::string base = node.name.empty() ? op + std::to_string(&node - ctx.graph.nodes.data()) : node.name;
  std::vector<dsl::LayerResult> results;
  for (int64_t d = 0; d < D; ++d) {
    CellOptions co;
    co.op = op;
    co.activations = activations[static_cast<size_t>(d)];
    co.clip = clip;
    co.input_forget = input_forget;
    co.peepholes = P.has_value();
    co.linear_before_reset = lbr;
    const bool reverse = direction == "reverse" || d == 1;
    const std::string layer = ctx.fresh(base + (reverse ? ".reverse" : ".forward"));
    std::map<std::string, dsl::Expr> initial;
    if (dsl::Expr h = initial_state(h0, d, "initial_h"); h.defined()) initial["h"] = h;
    if (dsl::Expr c = initial_state(c0, d, "initial_c"); c.defined()) initial["c"] = c;
    results.push_back(ctx.model.recurrent_layer(layer, onnx_cell(co), x, H, reverse, lengths, initial));

    // Parameters by name: the blocks of W, R, B and P this direction reads.
    std::map<std::string, TensorSource> blocks;
    const TensorSource Wd = W.select(0, d), Rd = R.select(0, d);
    for (int64_t k = 0; k < G; ++k) {
      const std::string& g = mapping.gates[static_cast<size_t>(k)];
      blocks[layer + ".W_i" + g] = Wd.narrow(0, k * H, H);
      blocks[layer + ".W_h" + g] = Rd.narrow(0, k * H, H);
      const std::string& bg = mapping.bias_gates[static_cast<size_t>(k)];
      if (B) {
        TensorSource Bd = B->select(0, d);
        int64_t wb = k * H, rb = G * H + k * H;
        if (mapping.swap_bias_halves) std::swap(wb, rb);
        blocks[layer + ".b_i" + bg] = Bd.narrow(0, wb, H);
        blocks[layer + ".b_h" + bg] = Bd.narrow(0, rb, H);
      } else {  // ONNX: B defaults to zeros
        TensorSource zeros = ctx.const_source(const_float({H}, std::vector<double>(static_cast<size_t>(H), 0.0)));
        blocks[layer + ".b_i" + bg] = zeros;
        blocks[layer + ".b_h" + bg] = zeros;
      }
    }
    if (P) {
      TensorSource Pd = P->select(0, d);
      for (int64_t k = 0; k < 3; ++k) blocks[layer + "." + mapping.peepholes[static_cast<size_t>(k)]] = Pd.narrow(0, k * H, H);
    }
    for (const ir::ParamDecl& decl : ctx.model.module().params()) {
      if (decl.name.rfind(layer + ".", 0) != 0) continue;
      auto it = blocks.find(decl.name);
      RNNC_USER_CHECK(it != blocks.end()) << "parameter @" << decl.name << " gets no block of W, R, B or P";
      bool bound = false;
      for (const ParamBinding& b : ctx.bindings.params) bound = bound || b.param == decl.name;
      RNNC_USER_CHECK(!bound) << "parameter @" << decl.name << " bound twice (the mapping maps two blocks to it)";
      ctx.bindings.params.push_back(ParamBinding{decl.name, it->second});
    }
  }

  // --- outputs: one piece per direction ---------------------------------------------------------------
  auto output = [&](size_t position, const std::vector<int>& axes, int concat_axis,
                    const std::function<dsl::Expr(const dsl::LayerResult&)>& pick) {
    const std::string name = node.output(position);
    if (name.empty()) return;
    TValue v;
    v.kind = TValue::Kind::Dynamic;
    v.name = name;
    v.concat_axis = concat_axis;
    for (const dsl::LayerResult& r : results) v.pieces.push_back(Piece{pick(r), axes});
    ctx.values[name] = v;
  };
  RNNC_USER_CHECK(node.outputs.size() <= (op == "LSTM" ? 3u : 2u)) << op << " has at most " << (op == "LSTM" ? 3 : 2)
                                                                    << " outputs, got " << node.outputs.size();
  // Y: [seq, dirs, batch, hidden] or, with layout 1, [batch, seq, dirs, hidden]; the scans give [seq, batch, hidden].
  output(0, layout == 0 ? std::vector<int>{0, -1, 1, 2} : std::vector<int>{1, 0, -1, 2}, layout == 0 ? 1 : 2,
         [](const dsl::LayerResult& r) { return r.sequence; });
  // Y_h, Y_c: [dirs, batch, hidden] or [batch, dirs, hidden]; the scans give [batch, hidden].
  const std::vector<int> state_axes = layout == 0 ? std::vector<int>{-1, 0, 1} : std::vector<int>{0, -1, 1};
  output(1, state_axes, layout == 0 ? 0 : 1, [](const dsl::LayerResult& r) { return r.final.at("h"); });
  if (op == "LSTM") output(2, state_axes, layout == 0 ? 0 : 1, [](const dsl::LayerResult& r) { return r.final.at("c"); });
}

}  // namespace detail
}  // namespace rnnc::onnx_import
