#include "frontend/cell.h"

#include <cmath>

#include "ir/error.h"

namespace rnnc::dsl {

Cell::Cell(ir::Module& module, const std::string& cell_name, const std::string& param_prefix, int64_t input_size,
           int64_t hidden_size, const ir::Dim& batch)
    : Scope(module, *body, "cell '" + cell_name + "' in layer '" + param_prefix + "'"),
      cell_name_(cell_name),
      param_prefix_(param_prefix),
      input_size_(input_size),
      hidden_size_(hidden_size),
      batch_(batch) {
  input_ = Expr(this, body->add_arg("x", ir::TensorType{ir::DType::F32, {batch_, ir::Dim::fixed(input_size)}}));
}

Expr Cell::state(const std::string& name, int64_t size) {
  check_name(name, "state name");
  if (find_state(name)) fail("state '" + name + "' declared twice");
  if (size < 0) size = hidden_size_;
  if (size < 1) fail("state '" + name + "' needs a positive size, got " + std::to_string(size));
  Expr v(this, function().add_arg(name, ir::TensorType{ir::DType::F32, {batch_, ir::Dim::fixed(size)}}));
  states_.push_back(State{name, v, Expr()});
  return v;
}

Expr Cell::get_state(const std::string& name) const {
  for (const State& s : states_) {
    if (s.name == name) return s.value;
  }
  fail("undefined state '" + name + "' (declare it with state(\"" + name + "\") first)");
}

Cell::State* Cell::find_state(const std::string& name) {
  for (State& s : states_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void Cell::next(const std::string& name, const Expr& value) {
  State* s = find_state(name);
  if (!s) fail("next value for undefined state '" + name + "' (declare it with state(\"" + name + "\") first)");
  if (!value.defined()) fail("next value of state '" + name + "' is an undefined expression");
  if (value.scope() != this) fail("next value of state '" + name + "' belongs to " + value.scope()->description());
  if (value.type() != s->value.type()) {
    fail("state '" + name + "' is " + s->value.type().str() + " but its next value is " + value.type().str());
  }
  if (s->next.defined()) fail("state '" + name + "' given a next value twice");
  s->next = value;
}

void Cell::next(const Expr& state, const Expr& value) {
  for (const State& s : states_) {
    if (state.scope() == this && s.value.value() == state.value()) return next(s.name, value);
  }
  fail("next(): the first argument is not a state of this cell");
}

void Cell::output(const Expr& value) {
  if (!value.defined() || value.scope() != this) fail("output(): the value must be an expression of this cell");
  const ir::TensorType& t = value.type();
  if (t.rank() < 1 || t.shape[0] != batch_) fail("output " + t.str() + " needs a leading batch dimension");
  if (output_.defined()) fail("output given twice");
  output_ = value;
}

Expr Cell::param(const std::string& name, const ir::Shape& shape, ir::InitSpec init) {
  check_name(name, "parameter name");
  std::string full = param_prefix_ + "." + name;
  ir::TensorType type{ir::DType::F32, shape};
  auto it = params_.find(name);
  if (it != params_.end()) {
    if (it->second.type() != type) {
      fail("parameter '" + name + "' used with two shapes: " + it->second.type().str() + " and " + type.str());
    }
    return it->second;
  }
  try {
    module().declare_param(full, type, init);
  } catch (const UserError& e) {
    fail(e.what());
  }
  Expr v(this, function().add_arg(name, type));
  params_[name] = v;
  param_order_.push_back(name);
  return v;
}

Expr Cell::param(const std::string& name, const ir::Shape& shape) { return param(name, shape, default_init(0)); }

ir::InitSpec Cell::default_init(int64_t) const {
  double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  return ir::InitSpec::uniform(-bound, bound);
}

BuiltCell Cell::finish() {
  if (states_.empty()) fail("has no state (declare one with state(\"h\"))");
  for (const State& s : states_) {
    if (!s.next.defined()) fail("state '" + s.name + "' has no next value (set it with next(\"" + s.name + "\", ...))");
  }
  BuiltCell built;
  std::vector<ir::Value> results;
  for (const State& s : states_) {
    built.state_names.push_back(s.name);
    built.state_types.push_back(s.value.type());
    results.push_back(s.next.value());
  }
  Expr out = output_.defined() ? output_ : states_[0].next;
  for (size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].next.value() == out.value()) {
      built.output_state = static_cast<int>(i);
      break;
    }
  }
  results.push_back(out.value());

  // The scan wants its body's arguments as carries, then the sequence step, then the invariants.
  std::vector<ir::NodeId> order;
  for (const State& s : states_) order.push_back(s.value.value().node);
  order.push_back(input_.value().node);
  for (const std::string& p : param_order_) {
    order.push_back(params_.at(p).value().node);
    built.param_names.push_back(param_prefix_ + "." + p);
  }
  function().permute_args(order);
  function().set_results(results);
  built.body = std::move(body);
  return built;
}

}  // namespace rnnc::dsl
