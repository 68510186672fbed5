#include "ir/equal.h"

#include <map>

namespace rnnc::ir {
namespace {

bool differ(std::string* out, const std::string& message) {
  if (out) *out = message;
  return false;
}

}  // namespace

bool structurally_equal(const Function& a, const Function& b, std::string* difference) {
  const std::string where = "@" + a.name() + ": ";
  if (a.name() != b.name()) return differ(difference, "function names differ: @" + a.name() + " vs @" + b.name());
  if (a.num_nodes() != b.num_nodes()) {
    return differ(difference, where + std::to_string(a.num_nodes()) + " vs " + std::to_string(b.num_nodes()) + " nodes");
  }
  if (a.args().size() != b.args().size()) return differ(difference, where + "argument counts differ");
  if (a.result_names() != b.result_names()) return differ(difference, where + "result names differ");
  // Pair the nodes: arguments by position, the rest by stable topological order.
  std::map<NodeId, NodeId> to_b;
  for (size_t i = 0; i < a.args().size(); ++i) to_b[a.args()[i]] = b.args()[i];
  std::vector<NodeId> order_a, order_b;
  for (NodeId n : a.topological_order()) {
    if (a.op(n) != OpKind::Arg) order_a.push_back(n);
  }
  for (NodeId n : b.topological_order()) {
    if (b.op(n) != OpKind::Arg) order_b.push_back(n);
  }
  if (order_a.size() != order_b.size()) return differ(difference, where + "argument and op counts differ");
  for (size_t i = 0; i < order_a.size(); ++i) to_b[order_a[i]] = order_b[i];

  for (const auto& [na, nb] : to_b) {
    const NodeData& x = a.node(na);
    const NodeData& y = b.node(nb);
    std::string node = where + "node " + std::to_string(na) + " (" + op_name(x.op) + "): ";
    if (x.op != y.op) return differ(difference, node + "op differs: " + op_name(y.op));
    if (x.attrs != y.attrs) return differ(difference, node + "attributes differ");
    if (x.types != y.types) return differ(difference, node + "types differ");
    if (x.names != y.names) return differ(difference, node + "names differ");
    std::vector<Value> oa = a.operands(na), ob = b.operands(nb);
    if (oa.size() != ob.size()) return differ(difference, node + "operand counts differ");
    for (size_t k = 0; k < oa.size(); ++k) {
      if (to_b.at(oa[k].node) != ob[k].node || oa[k].result != ob[k].result) {
        return differ(difference, node + "operand " + std::to_string(k) + " is wired differently");
      }
    }
    if (bool(x.body) != bool(y.body)) return differ(difference, node + "one has a body, the other not");
    if (x.body && !structurally_equal(*x.body.get(), *y.body.get(), difference)) {
      if (difference) *difference = node + "in the scan body: " + *difference;
      return false;
    }
  }
  return true;
}

bool structurally_equal(const Module& a, const Module& b, std::string* difference) {
  if (a.name() != b.name()) return differ(difference, "module names differ: @" + a.name() + " vs @" + b.name());
  if (a.params().size() != b.params().size()) return differ(difference, "parameter counts differ");
  for (size_t i = 0; i < a.params().size(); ++i) {
    const ParamDecl& p = a.params()[i];
    const ParamDecl& q = b.params()[i];
    if (p.name != q.name || p.type != q.type || !(p.init == q.init)) {
      return differ(difference, "parameter " + std::to_string(i) + " differs: @" + p.name + " vs @" + q.name);
    }
  }
  if (a.functions().size() != b.functions().size()) return differ(difference, "function counts differ");
  for (size_t i = 0; i < a.functions().size(); ++i) {
    if (!structurally_equal(a.functions()[i], b.functions()[i], difference)) return false;
  }
  return true;
}

}  // namespace rnnc::ir
