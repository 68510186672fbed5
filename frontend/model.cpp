#include "frontend/model.h"

#include <algorithm>
#include <cmath>

#include "frontend/error_exit.h"
#include "ir/error.h"
#include "ir/verifier.h"

namespace rnnc::dsl {

using ir::Attrs;
using ir::DType;
using ir::OpKind;

detail::ModelStorage::ModelStorage(const std::string& name) : owned_module(std::make_unique<ir::Module>(name)) {
  forward_function = &owned_module->add_function(ir::Function("forward"));
}

Model::Model(const std::string& name) : ModelStorage(name), Scope(*owned_module, *forward_function, "model '" + name + "'") {
  install_error_exit();
  check_name(name, "model name");
}

Expr Model::input(const std::string& name, DType dtype, const ir::Shape& shape) {
  check_name(name, "input name");
  for (ir::NodeId a : function().args()) {
    if (function().node(a).names[0] == name) fail("input '" + name + "' declared twice");
  }
  return Expr(this, function().add_arg(name, ir::TensorType{dtype, shape}));
}

Expr Model::param(const std::string& name, const ir::Shape& shape, ir::InitSpec init) {
  check_name(name, "parameter name");
  try {
    module().declare_param(name, ir::TensorType{DType::F32, shape}, init);
  } catch (const UserError& e) {
    fail(e.what());
  }
  return param_ref(name);
}

Expr Model::param_ref(const std::string& full_name) {
  const ir::ParamDecl* decl = module().find_param(full_name);
  if (!decl) fail("no parameter @" + full_name + " has been declared");
  ir::NodeId n = add_node(OpKind::Param, {}, Attrs().set("name", full_name), {decl->type}, nullptr);
  Expr e(this, ir::Value{n, 0});
  e.named(full_name);
  return e;
}

ir::InitSpec Model::default_init(int64_t fan_in) const {
  double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  return ir::InitSpec::uniform(-bound, bound);
}

Expr Model::embedding(const std::string& name, const Expr& ids, int64_t vocab, int64_t dim, int64_t padding_idx) {
  if (vocab < 1 || dim < 1) fail("embedding '" + name + "' needs a positive vocabulary and dimension");
  if (padding_idx >= vocab) {
    fail("embedding '" + name + "': padding_idx " + std::to_string(padding_idx) + " is outside the vocabulary of " +
         std::to_string(vocab));
  }
  ir::InitSpec init = ir::InitSpec::normal(0, 1);  // nn.Embedding: N(0, 1), the padding row zero
  init.zero_row = padding_idx;
  Expr table = param(name + ".weight", {ir::Dim::fixed(vocab), ir::Dim::fixed(dim)}, init);
  Attrs attrs;
  if (padding_idx >= 0) attrs.set("padding_idx", padding_idx);
  return add(OpKind::Embedding, {table, ids}, std::move(attrs));
}

Expr Model::linear(const std::string& name, const Expr& x, int64_t out, bool bias) {
  return Scope::linear(x, name + ".weight", out, bias ? name + ".bias" : "");
}

Expr Model::dropout(const Expr& x, double p) {
  if (p < 0 || p >= 1) fail("dropout: p must be in [0, 1), got " + std::to_string(p));
  if (p == 0) return x;
  if (!seed_.defined()) seed_ = Expr(this, function().add_arg("seed", ir::TensorType{DType::I64, {}}));
  return add(OpKind::Dropout, {x, seed_}, Attrs().set("p", p).set("salt", dropout_sites_++));
}

LayerResult Model::recurrent_layer(const std::string& name, const CellDef& cell, const Expr& x, int64_t hidden_size,
                                   bool reverse, const Expr& lengths, const std::map<std::string, Expr>& initial) {
  check_name(name, "layer name");
  if (!x.defined() || x.scope() != this) fail("layer '" + name + "': its input must be an expression of this model");
  const ir::TensorType& xt = x.type();
  if (xt.rank() != 3 || xt.shape[2].is_symbolic()) {
    fail("layer '" + name + "': input must be [time, batch, features] with static features, got " + xt.str());
  }
  if (hidden_size < 1) fail("layer '" + name + "': hidden size must be positive, got " + std::to_string(hidden_size));
  const ir::Dim batch = xt.shape[1];

  Cell c(module(), cell.name, name, xt.shape[2].size, hidden_size, batch);
  cell.define(c);
  BuiltCell built = c.finish();

  std::vector<Expr> operands;
  Attrs attrs;
  attrs.set("direction", std::string(reverse ? "reverse" : "forward"));
  if (lengths.defined()) {
    operands.push_back(lengths);
    attrs.set_flag("lengths");
  }
  for (auto& [state, value] : initial) {
    if (std::find(built.state_names.begin(), built.state_names.end(), state) == built.state_names.end()) {
      fail("layer '" + name + "': initial value for '" + state + "', which cell '" + cell.name + "' does not have");
    }
  }
  for (size_t i = 0; i < built.state_names.size(); ++i) {
    auto it = initial.find(built.state_names[i]);
    if (it == initial.end()) {
      operands.push_back(constant(0.0, built.state_types[i].shape).named(name + "." + built.state_names[i] + "0"));
    } else {
      if (!it->second.defined() || it->second.type() != built.state_types[i]) {
        fail("layer '" + name + "': initial state '" + built.state_names[i] + "' must be " +
             built.state_types[i].str() + ", got " + (it->second.defined() ? it->second.type().str() : "undefined"));
      }
      operands.push_back(it->second);
    }
  }
  operands.push_back(x);
  for (const std::string& p : built.param_names) operands.push_back(param_ref(p));
  attrs.set("carries", static_cast<int64_t>(built.state_names.size()));
  attrs.set("sequences", int64_t{1});
  attrs.set("invariants", static_cast<int64_t>(built.param_names.size()));

  ir::NodeId scan = add_node(OpKind::Scan, operands, std::move(attrs), {}, std::move(built.body));
  LayerResult result;
  result.state_names = built.state_names;
  size_t states = built.state_names.size();
  for (size_t i = 0; i < states; ++i) {
    Expr final_state(this, ir::Value{scan, static_cast<int>(i)});
    final_state.named(name + "." + built.state_names[i] + "_n");
    result.final[built.state_names[i]] = final_state;
  }
  result.sequence = Expr(this, ir::Value{scan, static_cast<int>(states)});
  result.sequence.named(name + ".y");
  if (built.output_state >= 0) result.last_output = result.final[built.state_names[built.output_state]];
  return result;
}

RecurrentResult Model::recurrent(const std::string& name, const CellDef& cell, const Expr& x,
                                 const RecurrentOptions& options) {
  if (options.num_layers < 1) fail("recurrent '" + name + "': num_layers must be >= 1");
  int directions = options.bidirectional ? 2 : 1;
  if (!options.initial_states.empty() &&
      options.initial_states.size() != static_cast<size_t>(options.num_layers * directions)) {
    fail("recurrent '" + name + "': initial_states has " + std::to_string(options.initial_states.size()) +
         " entries, expected layers * directions = " + std::to_string(options.num_layers * directions));
  }
  RecurrentResult result;
  Expr layer_input = x;
  for (int layer = 0; layer < options.num_layers; ++layer) {
    if (layer > 0) layer_input = dropout(layer_input, options.dropout);
    std::vector<Expr> outputs, lasts;
    for (int d = 0; d < directions; ++d) {
      std::string layer_name = name + ".l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      size_t index = static_cast<size_t>(layer * directions + d);
      std::map<std::string, Expr> initial;
      if (!options.initial_states.empty()) initial = options.initial_states[index];
      LayerResult r = recurrent_layer(layer_name, cell, layer_input, options.hidden_size, d == 1, options.lengths, initial);
      outputs.push_back(r.sequence);
      lasts.push_back(r.last_output);
      result.final_states.push_back(r.final);
      result.state_names = r.state_names;
    }
    layer_input = directions == 1 ? outputs[0] : concat(outputs, 2);
    if (layer == options.num_layers - 1) {
      bool have_last = lasts[0].defined() && lasts.back().defined();
      if (have_last) result.last_hidden = directions == 1 ? lasts[0] : concat(lasts, 1);
    }
  }
  result.sequence = layer_input;
  return result;
}

void Model::output(const std::string& name, const Expr& value) {
  check_name(name, "output name");
  if (!value.defined() || value.scope() != this) fail("output '" + name + "' must be an expression of this model");
  for (const auto& o : outputs_) {
    if (o.first == name) fail("output '" + name + "' given twice");
  }
  outputs_.push_back({name, value});
}

ir::Module Model::finish() {
  if (finished_) fail("finish() called twice");
  if (outputs_.empty()) fail("has no outputs (call output(name, value))");
  std::vector<ir::Value> values;
  std::vector<std::string> names;
  for (const auto& [name, e] : outputs_) {
    values.push_back(e.value());
    names.push_back(name);
  }
  function().set_results(values, names);
  finished_ = true;
  ir::verify_or_throw(*owned_module, "for model '" + owned_module->name() + "'");
  return std::move(*owned_module);
}

}  // namespace rnnc::dsl
