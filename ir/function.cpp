#include "ir/function.h"

#include <algorithm>
#include <queue>

#include "ir/error.h"

namespace rnnc::ir {

BodyPtr::BodyPtr(std::unique_ptr<Function> f) : f_(std::move(f)) {}
BodyPtr::BodyPtr(const BodyPtr& o) : f_(o.f_ ? std::make_unique<Function>(*o.f_) : nullptr) {}
BodyPtr& BodyPtr::operator=(const BodyPtr& o) {
  if (this != &o) f_ = o.f_ ? std::make_unique<Function>(*o.f_) : nullptr;
  return *this;
}
BodyPtr::~BodyPtr() = default;

Value Function::add_arg(const std::string& name, const TensorType& type) {
  Attrs attrs;
  attrs.set("index", static_cast<int64_t>(args_.size()));
  NodeId n = add_node_unchecked(OpKind::Arg, {}, std::move(attrs), {type});
  graph_[n].names[0] = name;
  args_.push_back(n);
  return Value{n, 0};
}

NodeId Function::add_node(OpKind op, const std::vector<Value>& operands, Attrs attrs,
                          std::vector<TensorType> declared, std::unique_ptr<Function> body) {
  std::string problem = check_attrs(op, attrs);
  RNNC_USER_CHECK(problem.empty()) << op_name(op) << ": " << problem;
  std::vector<TensorType> operand_types;
  for (const Value& v : operands) operand_types.push_back(type(v));
  OpSignature sig{op, attrs, operand_types, declared, body.get()};
  std::vector<TensorType> types = infer_types(sig);
  return add_node_unchecked(op, operands, std::move(attrs), std::move(types), std::move(body));
}

Value Function::add(OpKind op, const std::vector<Value>& operands, Attrs attrs, std::vector<TensorType> declared) {
  NodeId n = add_node(op, operands, std::move(attrs), std::move(declared));
  RNNC_INTERNAL_CHECK(graph_[n].types.size() == 1) << op_name(op) << " does not have exactly one result";
  return Value{n, 0};
}

NodeId Function::add_node_unchecked(OpKind op, const std::vector<Value>& operands, Attrs attrs,
                                    std::vector<TensorType> types, std::unique_ptr<Function> body) {
  for (const Value& v : operands) {
    RNNC_INTERNAL_CHECK(v.node < num_nodes()) << "operand refers to node " << v.node << " of " << num_nodes();
  }
  NodeData data;
  data.op = op;
  data.attrs = std::move(attrs);
  data.names.assign(types.size(), "");
  data.types = std::move(types);
  data.body = BodyPtr(std::move(body));
  NodeId n = boost::add_vertex(std::move(data), graph_);
  for (size_t i = 0; i < operands.size(); ++i) {
    boost::add_edge(operands[i].node, n, EdgeData{static_cast<int>(i), operands[i].result}, graph_);
  }
  return n;
}

void Function::set_results(const std::vector<Value>& values, std::vector<std::string> names) {
  RNNC_INTERNAL_CHECK(!return_node_) << "function @" << name_ << " already has its results";
  RNNC_INTERNAL_CHECK(names.empty() || names.size() == values.size()) << "result names do not match results";
  return_node_ = add_node_unchecked(OpKind::Return, values, {}, {});
  result_names_ = std::move(names);
  if (result_names_.empty()) result_names_.assign(values.size(), "");
}

void Function::set_value_name(Value v, std::string name) {
  RNNC_INTERNAL_CHECK(v.node < num_nodes() && v.result < static_cast<int>(graph_[v.node].names.size()))
      << "no such value";
  graph_[v.node].names[v.result] = std::move(name);
}

void Function::permute_args(const std::vector<NodeId>& order) {
  std::vector<NodeId> sorted_new = order, sorted_old = args_;
  std::sort(sorted_new.begin(), sorted_new.end());
  std::sort(sorted_old.begin(), sorted_old.end());
  RNNC_INTERNAL_CHECK(sorted_new == sorted_old) << "permute_args: not a permutation of the arguments";
  args_ = order;
  for (size_t i = 0; i < args_.size(); ++i) graph_[args_[i]].attrs.set("index", static_cast<int64_t>(i));
}

void Function::set_operand(NodeId user, int operand, Value v) {
  std::vector<Graph::edge_descriptor> stale;
  for (auto e : boost::make_iterator_range(boost::in_edges(user, graph_))) {
    if (graph_[e].operand == operand) stale.push_back(e);
  }
  RNNC_INTERNAL_CHECK(stale.size() == 1) << "operand " << operand << " of node " << user << " is not set once";
  boost::remove_edge(stale[0], graph_);
  boost::add_edge(v.node, user, EdgeData{operand, v.result}, graph_);
}

void Function::replace_all_uses(Value from, Value to) {
  for (const Use& u : users(from)) set_operand(u.user, u.operand, to);
}

void Function::insert_operand(NodeId user, int slot, Value v) {
  std::vector<Graph::edge_descriptor> later;
  for (auto e : boost::make_iterator_range(boost::in_edges(user, graph_))) {
    if (graph_[e].operand >= slot) later.push_back(e);
  }
  for (auto e : later) ++graph_[e].operand;
  boost::add_edge(v.node, user, EdgeData{slot, v.result}, graph_);
}

void Function::remove_operand(NodeId user, int slot) {
  std::vector<Graph::edge_descriptor> doomed, later;
  for (auto e : boost::make_iterator_range(boost::in_edges(user, graph_))) {
    if (graph_[e].operand == slot) doomed.push_back(e);
    if (graph_[e].operand > slot) later.push_back(e);
  }
  RNNC_INTERNAL_CHECK(doomed.size() == 1) << "operand " << slot << " of node " << user << " is not set once";
  for (auto e : later) --graph_[e].operand;
  boost::remove_edge(doomed[0], graph_);
}

int Function::append_result(NodeId n, const TensorType& type, const std::string& name) {
  graph_[n].types.push_back(type);
  graph_[n].names.push_back(name);
  return static_cast<int>(graph_[n].types.size()) - 1;
}

void Function::insert_result(NodeId n, int result, const TensorType& type, const std::string& name) {
  RNNC_INTERNAL_CHECK(result >= 0 && static_cast<size_t>(result) <= graph_[n].types.size())
      << op_name(graph_[n].op) << " has no result position " << result;
  for (auto e : boost::make_iterator_range(boost::out_edges(n, graph_))) {
    if (graph_[e].result >= result) ++graph_[e].result;
  }
  graph_[n].types.insert(graph_[n].types.begin() + result, type);
  graph_[n].names.insert(graph_[n].names.begin() + result, name);
}

void Function::remove_result(NodeId n, int result) {
  RNNC_INTERNAL_CHECK(users(Value{n, result}).empty()) << op_name(graph_[n].op) << " result " << result << " is still used";
  for (auto e : boost::make_iterator_range(boost::out_edges(n, graph_))) {
    if (graph_[e].result > result) --graph_[e].result;
  }
  graph_[n].types.erase(graph_[n].types.begin() + result);
  graph_[n].names.erase(graph_[n].names.begin() + result);
}

void Function::append_function_result(Value v, const std::string& name) {
  insert_operand(return_node(), static_cast<int>(result_names_.size()), v);
  result_names_.push_back(name);
}

void Function::insert_function_result(size_t i, Value v, const std::string& name) {
  RNNC_INTERNAL_CHECK(i <= result_names_.size()) << "function @" << name_ << " has no result position " << i;
  insert_operand(return_node(), static_cast<int>(i), v);
  result_names_.insert(result_names_.begin() + i, name);
}

void Function::remove_function_result(size_t i) {
  RNNC_INTERNAL_CHECK(i < result_names_.size()) << "function @" << name_ << " has no result " << i;
  remove_operand(return_node(), static_cast<int>(i));
  result_names_.erase(result_names_.begin() + i);
}

Value Function::insert_arg(size_t position, const std::string& name, const TensorType& type) {
  RNNC_INTERNAL_CHECK(position <= args_.size()) << "argument position " << position << " out of range";
  Value v = add_arg(name, type);
  std::vector<NodeId> order = args_;
  order.pop_back();
  order.insert(order.begin() + position, v.node);
  permute_args(order);
  return v;
}

void Function::erase_nodes(std::vector<NodeId> nodes) {
  std::sort(nodes.begin(), nodes.end(), std::greater<NodeId>());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<bool> doomed(num_nodes(), false);
  for (NodeId n : nodes) doomed.at(n) = true;
  for (NodeId n : nodes) {
    RNNC_INTERNAL_CHECK(!return_node_ || *return_node_ != n) << "cannot erase the return node";
    for (auto e : boost::make_iterator_range(boost::out_edges(n, graph_))) {
      RNNC_INTERNAL_CHECK(doomed[boost::target(e, graph_)])
          << op_name(graph_[n].op) << " node " << n << " is still used by a node that stays";
    }
  }
  bool args_changed = false;
  for (NodeId n : nodes) {
    boost::clear_vertex(n, graph_);
    boost::remove_vertex(n, graph_);
    auto it = std::find(args_.begin(), args_.end(), n);
    if (it != args_.end()) {
      args_.erase(it);
      args_changed = true;
    }
    for (NodeId& a : args_) a -= a > n ? 1 : 0;
    if (return_node_ && *return_node_ > n) --*return_node_;
  }
  if (args_changed) {
    for (size_t i = 0; i < args_.size(); ++i) graph_[args_[i]].attrs.set("index", static_cast<int64_t>(i));
  }
}

std::vector<Value> Function::operands(NodeId n) const {
  std::vector<std::pair<int, Value>> slots;
  for (auto e : boost::make_iterator_range(boost::in_edges(n, graph_))) {
    slots.push_back({graph_[e].operand, Value{boost::source(e, graph_), graph_[e].result}});
  }
  std::sort(slots.begin(), slots.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Value> out;
  for (auto& s : slots) out.push_back(s.second);
  return out;
}

std::vector<TensorType> Function::operand_types(NodeId n) const {
  std::vector<TensorType> out;
  for (const Value& v : operands(n)) out.push_back(type(v));
  return out;
}

std::vector<Use> Function::users(Value v) const {
  std::vector<Use> out;
  for (auto e : boost::make_iterator_range(boost::out_edges(v.node, graph_))) {
    if (graph_[e].result == v.result) out.push_back(Use{boost::target(e, graph_), graph_[e].operand});
  }
  std::sort(out.begin(), out.end(),
            [](const Use& a, const Use& b) { return a.user != b.user ? a.user < b.user : a.operand < b.operand; });
  return out;
}

const TensorType& Function::type(Value v) const {
  RNNC_INTERNAL_CHECK(v.node < num_nodes()) << "value refers to node " << v.node << " of " << num_nodes();
  const auto& types = graph_[v.node].types;
  RNNC_INTERNAL_CHECK(v.result >= 0 && v.result < static_cast<int>(types.size()))
      << op_name(graph_[v.node].op) << " has no result " << v.result;
  return types[v.result];
}

const std::string& Function::value_name(Value v) const { return graph_[v.node].names.at(v.result); }

std::vector<TensorType> Function::arg_types() const {
  std::vector<TensorType> out;
  for (NodeId a : args_) out.push_back(graph_[a].types[0]);
  return out;
}

NodeId Function::return_node() const {
  RNNC_INTERNAL_CHECK(return_node_) << "function @" << name_ << " has no results yet";
  return *return_node_;
}

std::vector<Value> Function::results() const { return operands(return_node()); }

std::vector<TensorType> Function::result_types() const { return operand_types(return_node()); }

std::vector<NodeId> Function::topological_order() const {
  size_t n = num_nodes();
  std::vector<size_t> pending(n, 0);
  for (NodeId v = 0; v < n; ++v) pending[v] = boost::in_degree(v, graph_);
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<NodeId>> ready;
  for (NodeId v = 0; v < n; ++v) {
    if (pending[v] == 0) ready.push(v);
  }
  std::vector<NodeId> order;
  order.reserve(n);
  while (!ready.empty()) {
    NodeId v = ready.top();
    ready.pop();
    order.push_back(v);
    for (auto e : boost::make_iterator_range(boost::out_edges(v, graph_))) {
      NodeId w = boost::target(e, graph_);
      if (--pending[w] == 0) ready.push(w);
    }
  }
  RNNC_INTERNAL_CHECK(order.size() == n) << "function @" << name_ << " has a cycle";
  return order;
}

std::string InitSpec::str() const {
  std::string s;
  switch (kind) {
    case Kind::Zeros: s = "zeros"; break;
    case Kind::Ones: s = "ones"; break;
    case Kind::Uniform: s = "uniform(" + format_float(a) + ", " + format_float(b) + ")"; break;
    case Kind::Normal: s = "normal(" + format_float(a) + ", " + format_float(b) + ")"; break;
  }
  if (zero_row >= 0) s += " zero_row(" + std::to_string(zero_row) + ")";
  return s;
}

const ParamDecl& Module::declare_param(const std::string& name, const TensorType& type, InitSpec init) {
  if (const ParamDecl* existing = find_param(name)) {
    RNNC_USER_CHECK(existing->type == type)
        << "parameter @" << name << " used with two shapes: " << existing->type << " and " << type;
    return *existing;
  }
  params_.push_back(ParamDecl{name, type, init});
  return params_.back();
}

const ParamDecl* Module::find_param(const std::string& name) const {
  for (const ParamDecl& p : params_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Function& Module::add_function(Function f) {
  RNNC_USER_CHECK(!find_function(f.name())) << "module @" << name_ << " already has a function @" << f.name();
  functions_.push_back(std::move(f));
  return functions_.back();
}

Function* Module::find_function(const std::string& name) {
  for (Function& f : functions_) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

const Function* Module::find_function(const std::string& name) const {
  for (const Function& f : functions_) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

}  // namespace rnnc::ir
