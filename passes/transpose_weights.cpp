// transpose-weights: lays weights out for codegen. `matmul %a, %W {transpose_b}` reads W [N, K] along
// K for each output, which a vectorised kernel cannot use: it wants the N outputs contiguous. When W is
// a parameter (or a scan invariant bound to a value computed before the loop), the pass transposes it
// once, outside any loop, and the product becomes a plain `matmul %a, %Wt` on Wt [K, N].
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

namespace rnnc::passes {
namespace {

using ir::Attrs;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

bool is_weight(const Function& f, Value v) {
  OpKind op = f.op(v.node);
  return op == OpKind::Param || op == OpKind::Concat || op == OpKind::Transpose || op == OpKind::Slice;
}

// One transpose per weight, however many products read it.
Value transposed(Function& f, Value w) {
  for (const ir::Use& u : f.users(w)) {
    if (f.op(u.user) == OpKind::Transpose) return Value{u.user, 0};
  }
  Value t = f.add(OpKind::Transpose, {w});
  if (!f.value_name(w).empty()) f.set_value_name(t, f.value_name(w) + ".t");
  return t;
}

bool rewrite(Function& f, NodeId n, Value new_b) {
  Attrs attrs = f.node(n).attrs;
  attrs.erase("transpose_b");
  Value product = f.add(OpKind::MatMul, {f.operands(n)[0], new_b}, attrs);
  f.set_value_name(product, f.value_name(Value{n, 0}));
  f.replace_all_uses(Value{n, 0}, product);
  return true;
}

bool run_function(Function& f) {
  bool changed = false;
  size_t count = f.num_nodes();
  for (NodeId n = 0; n < count; ++n) {
    if (f.op(n) == OpKind::MatMul && f.node(n).attrs.has_flag("transpose_b")) {
      Value w = f.operands(n)[1];
      if (is_weight(f, w)) changed |= rewrite(f, n, transposed(f, w));
    }
    if (f.op(n) != OpKind::Scan) continue;
    Function& body = *f.body(n);
    ScanLayout l = ScanLayout::of(f, n);
    size_t body_count = body.num_nodes();
    for (NodeId m = 0; m < body_count; ++m) {
      if (body.op(m) != OpKind::MatMul || !body.node(m).attrs.has_flag("transpose_b")) continue;
      Value w = body.operands(m)[1];
      if (body.op(w.node) != OpKind::Arg) continue;
      size_t index = body.node(w.node).attrs.get_int("index");
      if (index < l.invariant_arg(0)) continue;
      Value outer = f.operands(n)[l.invariant_operand(static_cast<int64_t>(index - l.invariant_arg(0)))];
      Value arg = add_scan_invariant(f, n, transposed(f, outer), body.value_name(w) + ".t");
      changed |= rewrite(body, m, arg);
      l = ScanLayout::of(f, n);
    }
  }
  if (changed) eliminate_dead_code(f);
  return changed;
}

class TransposeWeights : public Pass {
 public:
  std::string name() const override { return "transpose-weights"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) run_function(f);
  }
};

}  // namespace

PassPtr create_transpose_weights() { return std::make_unique<TransposeWeights>(); }

}  // namespace rnnc::passes
