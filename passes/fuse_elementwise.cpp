// fuse-elementwise: groups connected elementwise ops (and the slices, concats and constants between
// them) into `fused` nodes, each one kernel for codegen: the gate math of an LSTM step, from the
// product's slices to h' and c', becomes one group.
//
// Groups grow in topological order: an op joins the groups of its elementwise producers as long as no
// value from outside the merged group depends on the group itself (which would make the group and that
// value wait on each other). A group of a single op stays a plain op.
#include <map>
#include <set>

#include "ir/error.h"
#include "passes/pass.h"
#include "passes/passes.h"

namespace rnnc::passes {
namespace {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

class Grouper {
 public:
  explicit Grouper(Function& f) : f_(f), group_(f.num_nodes(), -1) {}

  std::vector<std::vector<NodeId>> run() {
    for (NodeId n : f_.topological_order()) {
      if (!joinable(n)) continue;
      std::set<int> candidates;
      for (const Value& v : f_.operands(n)) {
        if (group_[v.node] >= 0) candidates.insert(group_[v.node]);
      }
      std::set<int> chosen;
      for (int c : candidates) {
        std::set<int> trial = chosen;
        trial.insert(c);
        if (convex(trial, n)) chosen = trial;
      }
      int g;
      if (chosen.empty()) {
        g = static_cast<int>(groups_.size());
        groups_.push_back({});
      } else {
        g = *chosen.begin();
        for (int c : chosen) merge(g, c);
      }
      groups_[g].push_back(n);
      group_[n] = g;
    }
    std::vector<std::vector<NodeId>> out;
    for (const auto& members : groups_) {
      if (members.size() >= 2) out.push_back(members);
    }
    return out;
  }

 private:
  // Constants are not members: each group gets its own copy of the ones it reads.
  bool joinable(NodeId n) const {
    OpKind op = f_.op(n);
    return ir::is_fusible(op) && op != OpKind::Constant && !f_.users(Value{n, 0}).empty();
  }

  void merge(int into, int from) {
    if (into == from) return;
    for (NodeId n : groups_[from]) {
      group_[n] = into;
      groups_[into].push_back(n);
    }
    groups_[from].clear();
  }

  // The union of `groups` plus n is convex when no value from outside it depends on it: otherwise
  // that value and the group would each wait for the other.
  bool convex(const std::set<int>& groups, NodeId n) const {
    std::set<NodeId> members{n};
    for (int g : groups) members.insert(groups_[g].begin(), groups_[g].end());
    std::vector<NodeId> work;
    for (NodeId m : members) {
      for (const Value& v : f_.operands(m)) {
        if (!members.count(v.node)) work.push_back(v.node);
      }
    }
    std::set<NodeId> seen;
    while (!work.empty()) {
      NodeId m = work.back();
      work.pop_back();
      if (!seen.insert(m).second) continue;
      if (members.count(m)) return false;
      for (const Value& v : f_.operands(m)) work.push_back(v.node);
    }
    return true;
  }

  Function& f_;
  std::vector<int> group_;
  std::vector<std::vector<NodeId>> groups_;
};

// Replaces the group's nodes by one fused node.
void outline(Function& f, const std::vector<NodeId>& members) {
  std::set<NodeId> inside(members.begin(), members.end());
  auto body = std::make_unique<Function>("body");
  std::map<Value, Value> inner;  // outer value -> body value
  std::vector<Value> operands;
  std::vector<NodeId> order;
  for (NodeId n : f.topological_order()) {
    if (inside.count(n)) order.push_back(n);
  }
  for (NodeId n : order) {
    std::vector<Value> in;
    for (const Value& v : f.operands(n)) {
      if (!inner.count(v)) {
        RNNC_INTERNAL_CHECK(!inside.count(v.node)) << "fuse-elementwise: group out of order";
        const ir::NodeData& p = f.node(v.node);
        if (p.op == OpKind::Constant) {
          inner[v] = body->add(OpKind::Constant, {}, p.attrs, p.types);
        } else {
          std::string name = f.value_name(v).empty() ? "in" + std::to_string(operands.size()) : f.value_name(v);
          inner[v] = body->add_arg(name, f.type(v));
          operands.push_back(v);
        }
      }
      in.push_back(inner[v]);
    }
    const ir::NodeData& d = f.node(n);
    Value copy = body->add(d.op, in, d.attrs);
    body->set_value_name(copy, d.names[0]);
    inner[Value{n, 0}] = copy;
  }
  // Results: the group's values that something outside reads.
  std::vector<Value> escaping;
  for (NodeId n : order) {
    for (const ir::Use& u : f.users(Value{n, 0})) {
      if (!inside.count(u.user)) {
        escaping.push_back(Value{n, 0});
        break;
      }
    }
  }
  std::vector<Value> results;
  for (const Value& v : escaping) results.push_back(inner.at(v));
  body->set_results(results);
  NodeId fused = f.add_node(OpKind::Fused, operands, {}, {}, std::move(body));
  for (size_t r = 0; r < escaping.size(); ++r) {
    f.set_value_name(Value{fused, static_cast<int>(r)}, f.value_name(escaping[r]));
    f.replace_all_uses(escaping[r], Value{fused, static_cast<int>(r)});
  }
}

bool fuse_function(Function& f) {
  bool changed = false;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) == OpKind::Scan) changed |= fuse_function(*f.body(n));
  }
  for (const std::vector<NodeId>& group : Grouper(f).run()) {
    outline(f, group);
    changed = true;
  }
  if (changed) eliminate_dead_code(f);
  return changed;
}

class FuseElementwise : public Pass {
 public:
  std::string name() const override { return "fuse-elementwise"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) fuse_function(f);
  }
};

}  // namespace

PassPtr create_fuse_elementwise() { return std::make_unique<FuseElementwise>(); }

}  // namespace rnnc::passes
