// fuse-gates: matmuls that share their left operand become one matmul with the weights concatenated,
// followed by a slice per original product: the LSTM's four gate products on h (and on x), the GRU's
// three. The built-in cells stay written per gate, as their equations read; this pass is what turns
// them into one [batch, 4H] product per step.
//
// Inside a scan body the weights must be invariants: their concatenation is built once, before the
// scan, and comes in as a new invariant. In a function, any weights of a common inner size qualify.
#include <map>
#include <set>

#include "ir/error.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

namespace rnnc::passes {
namespace {

using ir::Attrs;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

// In a scan body: the outer value an invariant argument is bound to; none for anything else.
std::optional<Value> invariant_binding(const Function& outer, NodeId scan, const Function& body, Value v) {
  if (body.op(v.node) != OpKind::Arg) return std::nullopt;
  ScanLayout l = ScanLayout::of(outer, scan);
  size_t index = body.node(v.node).attrs.get_int("index");
  if (index < l.invariant_arg(0)) return std::nullopt;
  return outer.operands(scan)[l.invariant_operand(static_cast<int64_t>(index - l.invariant_arg(0)))];
}

// The longest common prefix of the names: W_hi, W_hf, W_hg, W_ho -> W_h.
std::string common_prefix(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string p = names[0];
  for (const std::string& n : names) {
    size_t k = 0;
    while (k < p.size() && k < n.size() && p[k] == n[k]) ++k;
    p.resize(k);
  }
  while (!p.empty() && (p.back() == '.' || p.back() == '_' || p.back() == '-')) p.pop_back();
  return p;
}

// Fuses the matmul groups of `f`. `outer`/`scan` are set when f is that scan's body.
bool fuse_function(Function& f, Function* outer, NodeId scan) {
  struct Key {
    Value a;
    bool transpose_b;
    bool operator<(const Key& o) const { return a != o.a ? a < o.a : transpose_b < o.transpose_b; }
  };
  // Groups in the order their first product appears, so the result does not depend on node numbering.
  std::map<Key, size_t> group_of;
  std::vector<std::pair<Key, std::vector<NodeId>>> groups;
  for (NodeId n : f.topological_order()) {
    if (f.op(n) != OpKind::MatMul || f.node(n).attrs.has_flag("transpose_a")) continue;
    std::vector<Value> in = f.operands(n);
    if (outer && !invariant_binding(*outer, scan, f, in[1])) continue;
    bool tb = f.node(n).attrs.has_flag("transpose_b");
    if (f.type(in[1]).shape[tb ? 0 : 1].is_symbolic()) continue;
    Key key{in[0], tb};
    auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) groups.push_back({key, {}});
    groups[it->second].second.push_back(n);
  }
  // A product whose weight is computed from another product of its group cannot join it: the fused
  // weight would depend on the fused product.
  for (auto& [key, members] : groups) {
    std::set<NodeId> member_set(members.begin(), members.end());
    std::vector<NodeId> kept;
    for (NodeId n : members) {
      std::vector<NodeId> work{f.operands(n)[1].node};
      std::set<NodeId> seen;
      bool depends = false;
      while (!work.empty() && !depends) {
        NodeId m = work.back();
        work.pop_back();
        if (!seen.insert(m).second) continue;
        depends = member_set.count(m) > 0;
        for (const Value& v : f.operands(m)) work.push_back(v.node);
      }
      if (!depends) kept.push_back(n);
    }
    members = kept;
  }
  bool changed = false;
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    const int64_t axis = key.transpose_b ? 0 : 1;  // the weights' output dimension
    std::vector<Value> weights;
    for (NodeId n : members) weights.push_back(f.operands(n)[1]);
    std::vector<std::string> weight_names, product_names;
    for (size_t i = 0; i < members.size(); ++i) {
      weight_names.push_back(f.value_name(weights[i]));
      product_names.push_back(f.value_name(Value{members[i], 0}));
    }
    Value fused_weight;
    if (outer) {
      std::vector<Value> bound;
      std::vector<std::string> bound_names;
      for (const Value& w : weights) {
        bound.push_back(*invariant_binding(*outer, scan, f, w));
        bound_names.push_back(outer->value_name(bound.back()));
      }
      Value cat = outer->add(OpKind::Concat, bound, Attrs().set("axis", axis));
      outer->set_value_name(cat, common_prefix(bound_names));
      fused_weight = add_scan_invariant(*outer, scan, cat, common_prefix(weight_names));
    } else {
      fused_weight = f.add(OpKind::Concat, weights, Attrs().set("axis", axis));
      f.set_value_name(fused_weight, common_prefix(weight_names));
    }
    Attrs attrs;
    if (key.transpose_b) attrs.set_flag("transpose_b");
    Value product = f.add(OpKind::MatMul, {key.a, fused_weight}, attrs);
    f.set_value_name(product, common_prefix(product_names));
    int64_t last = f.type(product).rank() - 1, offset = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      int64_t size = f.type(weights[i]).shape[axis].size;
      Value part = f.add(OpKind::Slice, {product}, Attrs().set("axis", last).set("start", offset).set("size", size));
      f.set_value_name(part, f.value_name(Value{members[i], 0}));
      f.replace_all_uses(Value{members[i], 0}, part);
      offset += size;
    }
    changed = true;
  }
  return changed;
}

class FuseGates : public Pass {
 public:
  std::string name() const override { return "fuse-gates"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) {
      bool changed = fuse_function(f, nullptr, 0);
      for (NodeId n = 0; n < f.num_nodes(); ++n) {
        if (f.op(n) == OpKind::Scan) changed |= fuse_function(*f.body(n), &f, n);
      }
      if (changed) eliminate_dead_code(f);
    }
  }
};

}  // namespace

PassPtr create_fuse_gates() { return std::make_unique<FuseGates>(); }

}  // namespace rnnc::passes
