// cse: common-subexpression elimination. Two ops with the same kind, attributes, operands and types
// compute the same value (every op without a body is pure: even dropout is a pure hash of its seed), so
// the later one's uses move to the earlier. Runs inside scan and fused bodies too, each on its own.
#include <map>
#include <tuple>

#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

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

// Within a scan or fused node: body arguments bound to the same outer value are one argument, and
// results yielding the same body value are one result.
bool merge_body_duplicates(Function& f, NodeId n) {
  bool changed = false;
  Function& body = *f.body(n);
  std::vector<Value> operands = f.operands(n);
  std::vector<Value> results = body.results();
  // The operand slot each body argument is bound to (-1 for carries, which are not merged).
  std::vector<int> arg_operand;
  size_t first_output = 0;
  arg_operand.assign(body.args().size(), -1);
  if (f.op(n) == OpKind::Fused) {
    for (size_t i = 0; i < body.args().size(); ++i) arg_operand[i] = static_cast<int>(i);
  } else {
    ScanLayout l = ScanLayout::of(f, n);
    if (l.unroll != 1) return false;
    for (int64_t j = 0; j < l.sequences; ++j) arg_operand[l.sequence_arg(j)] = l.sequence_operand(j);
    for (int64_t k = 0; k < l.invariants; ++k) arg_operand[l.invariant_arg(k)] = l.invariant_operand(k);
    first_output = static_cast<size_t>(l.carries);
  }
  std::map<Value, size_t> first_arg;
  for (size_t i = 0; i < arg_operand.size(); ++i) {
    if (arg_operand[i] < 0) continue;
    auto [it, fresh] = first_arg.emplace(operands[arg_operand[i]], i);
    if (!fresh && !body.users(body.arg(i)).empty()) {
      body.replace_all_uses(body.arg(i), body.arg(it->second));
      changed = true;
    }
  }
  std::map<Value, size_t> first_result;
  for (size_t r = first_output; r < results.size(); ++r) {
    auto [it, fresh] = first_result.emplace(results[r], r);
    Value dup{n, static_cast<int>(r)}, keep{n, static_cast<int>(it->second)};
    if (!fresh && !f.users(dup).empty()) {
      f.replace_all_uses(dup, keep);
      changed = true;
    }
  }
  return changed;
}

bool cse_function(Function& f) {
  bool changed = false;
  std::map<Key, NodeId> seen;
  for (NodeId n : f.topological_order()) {
    OpKind op = f.op(n);
    if (ir::has_body(op)) {
      // The body first: its duplicates merged, results that became one value merge next.
      while (cse_function(*f.body(n)) | merge_body_duplicates(f, n)) changed = true;
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
