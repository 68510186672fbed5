// A function of the IR: a dataflow graph of ops held in a Boost.Graph adjacency_list.
//
// Vertices are op nodes; an edge u -> v says v reads a result of u, and carries which operand slot of v it
// fills and which result of u it reads. The edges are the only record of operands. Arguments are `arg`
// nodes; the results are the operands of the single `return` node. A scan node owns its body, itself a
// Function, isolated from the enclosing one: whatever the body needs comes in through the scan's
// operands. Functions have value semantics (copying deep-copies the bodies), so a pass can rebuild one
// freely.
#pragma once

#include <boost/graph/adjacency_list.hpp>
#include <memory>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/ops.h"
#include "ir/types.h"

namespace rnnc::ir {

class Function;

// Deep-copying owner of a scan body.
class BodyPtr {
 public:
  BodyPtr() = default;
  explicit BodyPtr(std::unique_ptr<Function> f);
  BodyPtr(const BodyPtr& o);
  BodyPtr& operator=(const BodyPtr& o);
  BodyPtr(BodyPtr&&) noexcept = default;
  BodyPtr& operator=(BodyPtr&&) noexcept = default;
  ~BodyPtr();
  Function* get() const { return f_.get(); }
  explicit operator bool() const { return f_ != nullptr; }

 private:
  std::unique_ptr<Function> f_;
};

struct NodeData {
  OpKind op = OpKind::Arg;
  Attrs attrs;
  std::vector<TensorType> types;   // one per result
  std::vector<std::string> names;  // one per result: a readable name for printing, may be empty
  BodyPtr body;                    // scan only
};

struct EdgeData {
  int operand = 0;  // slot in the consumer
  int result = 0;   // result index in the producer
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, NodeData, EdgeData>;
using NodeId = Graph::vertex_descriptor;

// One result of one node.
struct Value {
  NodeId node = 0;
  int result = 0;
  bool operator==(const Value& o) const { return node == o.node && result == o.result; }
  bool operator!=(const Value& o) const { return !(*this == o); }
  bool operator<(const Value& o) const { return node != o.node ? node < o.node : result < o.result; }
};

struct Use {
  NodeId user;
  int operand;
};

class Function {
 public:
  explicit Function(std::string name = "") : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // --- building -------------------------------------------------------------------------------------
  Value add_arg(const std::string& name, const TensorType& type);
  // Adds an op, runs its type rule (UserError naming the op and the shapes on a mismatch) and returns
  // the node. `declared` holds the result types of ops that declare them (arg, param, constant).
  NodeId add_node(OpKind op, const std::vector<Value>& operands, Attrs attrs = {},
                  std::vector<TensorType> declared = {}, std::unique_ptr<Function> body = nullptr);
  // Single-result convenience form.
  Value add(OpKind op, const std::vector<Value>& operands, Attrs attrs = {}, std::vector<TensorType> declared = {});
  // Adds a node without running its type rule: for the parser and tests that build broken IR on purpose;
  // the verifier catches what is wrong.
  NodeId add_node_unchecked(OpKind op, const std::vector<Value>& operands, Attrs attrs,
                            std::vector<TensorType> types, std::unique_ptr<Function> body = nullptr);
  void set_results(const std::vector<Value>& values, std::vector<std::string> names = {});
  void set_value_name(Value v, std::string name);
  // Reorders the arguments: `order` lists every arg node once, in the new order.
  void permute_args(const std::vector<NodeId>& order);

  // Rewiring, for passes.
  void set_operand(NodeId user, int operand, Value v);
  void replace_all_uses(Value from, Value to);
  // Operand and result surgery: slots and results after the edited one shift by one.
  void insert_operand(NodeId user, int slot, Value v);
  void remove_operand(NodeId user, int slot);
  int append_result(NodeId n, const TensorType& type, const std::string& name = "");
  void insert_result(NodeId n, int result, const TensorType& type, const std::string& name = "");
  void remove_result(NodeId n, int result);  // the result must have no users
  // Adds or removes one of the function's results.
  void append_function_result(Value v, const std::string& name = "");
  void insert_function_result(size_t i, Value v, const std::string& name = "");
  void remove_function_result(size_t i);
  // Adds an argument at `position` (later arguments move up one).
  Value insert_arg(size_t position, const std::string& name, const TensorType& type);
  // Removes nodes whose users are all among them (an arg node also leaves the argument list). Node ids above
  // a removed one shift down, as Boost.Graph renumbers a vecS graph: ids held across this call are stale.
  void erase_nodes(std::vector<NodeId> nodes);

  // --- reading --------------------------------------------------------------------------------------
  const Graph& graph() const { return graph_; }
  size_t num_nodes() const { return boost::num_vertices(graph_); }
  const NodeData& node(NodeId n) const { return graph_[n]; }
  NodeData& mutable_node(NodeId n) { return graph_[n]; }
  OpKind op(NodeId n) const { return graph_[n].op; }
  std::vector<Value> operands(NodeId n) const;
  std::vector<TensorType> operand_types(NodeId n) const;
  std::vector<Use> users(Value v) const;
  const TensorType& type(Value v) const;
  const std::string& value_name(Value v) const;
  Function* body(NodeId n) const { return graph_[n].body.get(); }

  const std::vector<NodeId>& args() const { return args_; }
  Value arg(size_t i) const { return Value{args_.at(i), 0}; }
  std::vector<TensorType> arg_types() const;
  bool has_return() const { return return_node_.has_value(); }
  NodeId return_node() const;
  std::vector<Value> results() const;
  std::vector<TensorType> result_types() const;
  const std::vector<std::string>& result_names() const { return result_names_; }

  // The nodes in a topological order that is stable: among ready nodes the lowest id goes first, so a
  // function whose ids are already in order keeps that order (what makes print -> parse -> print exact).
  // Throws InternalError on a cycle; the verifier reports cycles itself, with BGL.
  std::vector<NodeId> topological_order() const;

 private:
  std::string name_;
  Graph graph_;
  std::vector<NodeId> args_;
  std::optional<NodeId> return_node_;
  std::vector<std::string> result_names_;
};

// How a parameter starts before training, as PyTorch initialises the layer it belongs to.
struct InitSpec {
  enum class Kind { Zeros, Ones, Uniform, Normal };
  Kind kind = Kind::Zeros;
  double a = 0;             // uniform: low; normal: mean
  double b = 0;             // uniform: high; normal: standard deviation
  int64_t zero_row = -1;    // a row set to zero after drawing (an embedding's padding row)
  bool operator==(const InitSpec& o) const {
    return kind == o.kind && a == o.a && b == o.b && zero_row == o.zero_row;
  }
  static InitSpec zeros() { return {Kind::Zeros}; }
  static InitSpec ones() { return {Kind::Ones}; }
  static InitSpec uniform(double lo, double hi) { return {Kind::Uniform, lo, hi}; }
  static InitSpec normal(double mean, double stddev) { return {Kind::Normal, mean, stddev}; }
  std::string str() const;
};

struct ParamDecl {
  std::string name;
  TensorType type;
  InitSpec init;
};

// A module: parameters shared by its functions (forward now; backward once autodiff has run).
class Module {
 public:
  explicit Module(std::string name = "") : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

  // Declares a parameter; declaring the same name again with another type is a UserError naming both.
  const ParamDecl& declare_param(const std::string& name, const TensorType& type, InitSpec init);
  const ParamDecl* find_param(const std::string& name) const;
  const std::deque<ParamDecl>& params() const { return params_; }

  Function& add_function(Function f);
  Function* find_function(const std::string& name);
  const Function* find_function(const std::string& name) const;
  const std::deque<Function>& functions() const { return functions_; }
  std::deque<Function>& functions() { return functions_; }

 private:
  std::string name_;
  std::deque<ParamDecl> params_;
  std::deque<Function> functions_;  // deque: references stay valid as functions are added
};

}  // namespace rnnc::ir
