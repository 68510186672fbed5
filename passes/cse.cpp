// cse: common-subexpression elimination. Two ops with the same kind, attributes, operands and types
// compute the same value (every op without a body is pure: even dropout is a pure hash of its seed), so
// the later one's uses move to the earlier. Runs inside scan and fused bodies too, each on its own.
#include <map>
#include <tuple>

#include "passes/pass.h"
#include "passes/passes.h"

namespace rnnc::passes {
namespace {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

// What makes two nodes the same computation, as an ordered key.
struct Key {
  OpKind op;
  std::string attrs;     // printed attributes: cheap, total and exact (floats print round-trip)
  std::vector<Value> operands;
  std::vector<std::string> types;
  bool operator<(const Key& o) const {
    return std::tie(op, attrs, operands, types) < std::tie(o.op, o.attrs, o.operands, o.types);
  }
};

Key key_of(const Function& f, NodeId n) {
  const ir::NodeData& d = f.node(n);
  Key k{d.op, "", f.operands(n), {}};
  for (const auto& [name, value] : d.attrs.values()) k.attrs += name + "=" + ir::format_attr_value(value) + ";";
  for (const auto& t : d.types) k.types.push_back(t.str());
  return k;
}

bool cse_function(Function& f) {
  bool changed = false;
  std::map<Key, NodeId> seen;
  for (NodeId n : f.topological_order()) {
    OpKind op = f.op(n);
    if (ir::has_body(op)) {
      changed |= cse_function(*f.body(n));
      continue;
    }
    if (op == OpKind::Arg || op == OpKind::Return) continue;
    auto [it, fresh] = seen.emplace(key_of(f, n), n);
    if (fresh) continue;
    for (int r = 0; r < static_cast<int>(f.node(n).types.size()); ++r) {
      f.replace_all_uses(Value{n, r}, Value{it->second, r});
    }
    changed = true;
  }
  if (changed) eliminate_dead_code(f);
  return changed;
}

class Cse : public Pass {
 public:
  std::string name() const override { return "cse"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) cse_function(f);
  }
};

}  // namespace

PassPtr create_cse() { return std::make_unique<Cse>(); }

}  // namespace rnnc::passes
