// hoist-projections: moves work that does not depend on the carried state out of the time loop.
//
//   - loop-invariant code: an op in a scan body computed from invariants (and constants) alone runs
//     once before the scan and comes in as a new invariant (a concatenation of gate weights, say);
//   - input projections: a matmul of a sequence step by an invariant weight, `matmul %x_t, %W`, becomes
//     one matmul over all time steps, `matmul %x, %W` on [time, batch, …] (T·B rows), before the scan,
//     and its result comes in as a new sequence;
//   - output projections: a step output that is `matmul %g_t, %W` with W invariant, used by nothing
//     else, leaves the loop the other way: the scan yields g_t and one matmul after the scan projects
//     all steps at once. In a backward function this is the input gradient dx = dg · W.
// The same pass gives the backward function its large post-scan matmuls; autodiff already emits the
// weight gradients as one matmul {transpose_a} after the scan.
#include <optional>

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

enum class Origin { Carry, Sequence, Invariant, Constant, Other };

class ScanHoister {
 public:
  ScanHoister(Function& f, NodeId scan) : f_(f), scan_(scan) {}

  bool run() {
    bool changed = false;
    for (bool again = true; again;) {
      again = false;
      Function& body = *f_.body(scan_);
      for (NodeId n : body.topological_order()) {
        if (try_hoist(n)) {
          again = changed = true;
          break;  // the body changed under us: start over with fresh node ids
        }
      }
    }
    while (try_sink()) changed = true;
    return changed;
  }

 private:
  Origin origin(Value v) {
    Function& body = *f_.body(scan_);
    ScanLayout l = ScanLayout::of(f_, scan_);
    OpKind op = body.op(v.node);
    if (op == OpKind::Constant) return Origin::Constant;
    if (op != OpKind::Arg) return Origin::Other;
    size_t index = body.node(v.node).attrs.get_int("index");
    if (index < static_cast<size_t>(l.carries)) return Origin::Carry;
    if (index < l.invariant_arg(0)) return Origin::Sequence;
    return Origin::Invariant;
  }

  // The outer value bound to a body argument (a sequence: the stacked one).
  Value bound(Value arg) {
    Function& body = *f_.body(scan_);
    ScanLayout l = ScanLayout::of(f_, scan_);
    size_t index = body.node(arg.node).attrs.get_int("index");
    std::vector<Value> operands = f_.operands(scan_);
    if (index < l.invariant_arg(0)) return operands[l.sequence_operand(static_cast<int64_t>(index) - l.carries)];
    return operands[l.invariant_operand(static_cast<int64_t>(index - l.invariant_arg(0)))];
  }

  Value outer_constant(Value c) {
    const ir::NodeData& d = f_.body(scan_)->node(c.node);
    return f_.add(OpKind::Constant, {}, d.attrs, {d.types[0]});
  }

  // Hoists node n when it is loop-invariant or a projection of the sequence; true if it moved.
  bool try_hoist(NodeId n) {
    Function& body = *f_.body(scan_);
    const ir::NodeData& d = body.node(n);
    if (d.op == OpKind::Arg || d.op == OpKind::Return || d.op == OpKind::Constant || ir::has_body(d.op)) return false;
    if (d.types.size() != 1 || body.users(Value{n, 0}).empty()) return false;
    std::vector<Value> in = body.operands(n);
    bool any_carry = false, any_other = false, any_sequence = false, any_invariant = false;
    for (const Value& v : in) {
      switch (origin(v)) {
        case Origin::Carry: any_carry = true; break;
        case Origin::Other: any_other = true; break;
        case Origin::Sequence: any_sequence = true; break;
        case Origin::Invariant: any_invariant = true; break;
        case Origin::Constant: break;
      }
    }
    if (any_carry || any_other || !(any_sequence || any_invariant)) return false;
    if (any_sequence && !is_projection(body, n, in)) return false;
    // A dropout inside the loop draws its mask per step; before the loop it would draw another one.
    if (d.op == OpKind::Dropout || d.op == OpKind::StepMask) return false;

    std::vector<Value> outer;
    for (const Value& v : in) outer.push_back(origin(v) == Origin::Constant ? outer_constant(v) : bound(v));
    Value result;
    try {
      result = f_.add(d.op, outer, d.attrs);
    } catch (const UserError&) {
      return false;  // the op does not lift to the stacked shapes (an axis-bound op, say)
    }
    TensorType want = d.types[0];
    if (any_sequence) want.shape.insert(want.shape.begin(), f_.type(bound(first_sequence(in))).shape[0]);
    if (f_.type(result) != want) return false;
    f_.set_value_name(result, d.names[0]);
    Value arg = any_sequence ? add_scan_sequence(f_, scan_, result, d.names[0])
                             : add_scan_invariant(f_, scan_, result, d.names[0]);
    Function& b = *f_.body(scan_);
    // Node ids of the body are stable across adding an argument (it is appended), so n is still n.
    b.replace_all_uses(Value{n, 0}, arg);
    eliminate_dead_code(b);
    return true;
  }

  Value first_sequence(const std::vector<Value>& in) {
    for (const Value& v : in) {
      if (origin(v) == Origin::Sequence) return v;
    }
    return in[0];
  }

  // A matmul of a sequence step by an invariant weight lifts to one matmul over all steps. Elementwise
  // math on sequences stays in the loop, where it fuses with the step's other elementwise ops instead
  // of making another pass over a [time, batch, …] tensor.
  bool is_projection(const Function& body, NodeId n, const std::vector<Value>& in) {
    return body.op(n) == OpKind::MatMul && !body.node(n).attrs.has_flag("transpose_a") &&
           origin(in[0]) == Origin::Sequence && origin(in[1]) == Origin::Invariant;
  }

  // A step output computed as matmul(g_t, W) with W invariant, used only as that output.
  bool try_sink() {
    Function& body = *f_.body(scan_);
    ScanLayout l = ScanLayout::of(f_, scan_);
    if (l.unroll != 1) return false;
    std::vector<Value> results = body.results();
    for (int64_t o = 0; o < l.outputs; ++o) {
      Value v = results[l.body_output(o)];
      if (body.op(v.node) != OpKind::MatMul) continue;
      const Attrs& attrs = body.node(v.node).attrs;
      std::vector<Value> in = body.operands(v.node);
      if (attrs.has_flag("transpose_a") || origin(in[1]) != Origin::Invariant) continue;
      bool only_output = true;
      for (const ir::Use& u : body.users(v)) {
        only_output = only_output && u.user == body.return_node() && u.operand >= l.carries;
      }
      if (!only_output) continue;
      Value stacked_g = add_scan_output(f_, scan_, in[0], body.value_name(in[0]));
      Value projected = f_.add(OpKind::MatMul, {stacked_g, bound(in[1])}, attrs);
      Value old{scan_, l.output_result(o)};
      f_.set_value_name(projected, f_.value_name(old));
      f_.replace_all_uses(old, projected);
      remove_scan_output(f_, scan_, o);
      eliminate_dead_code(*f_.body(scan_));
      return true;
    }
    return false;
  }

  Function& f_;
  NodeId scan_;
};

bool hoist_function(Function& f) {
  bool changed = false;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) == OpKind::Scan && ScanLayout::of(f, n).unroll == 1) changed |= ScanHoister(f, n).run();
  }
  return changed;
}

class HoistProjections : public Pass {
 public:
  std::string name() const override { return "hoist-projections"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) {
      if (hoist_function(f)) eliminate_dead_code(f);
    }
  }
};

}  // namespace

PassPtr create_hoist_projections() { return std::make_unique<HoistProjections>(); }

}  // namespace rnnc::passes
