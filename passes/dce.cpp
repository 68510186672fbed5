// dce: dead-code elimination. Removes ops nothing needs, in functions and bodies, and trims scans and
// fused groups down to what is used: step outputs and fused results nobody reads, sequences and
// invariants the body ignores, and carries that feed only themselves. Function arguments stay: they are
// the function's signature.
#include "ir/error.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

namespace rnnc::passes {
namespace {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

bool used(const Function& f, Value v) { return !f.users(v).empty(); }

// Erases every node the results do not depend on; true if any went.
bool erase_dead(Function& f) {
  std::vector<bool> live = live_nodes(f);
  std::vector<NodeId> dead;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!live[n]) dead.push_back(n);
  }
  f.erase_nodes(dead);
  return !dead.empty();
}

// The carries a scan needs: those whose final value is used, and, to a fixpoint, those whose value the
// body needs to compute something needed.
std::vector<bool> needed_carries(const Function& f, NodeId scan, const ScanLayout& l) {
  const Function& body = *f.body(scan);
  std::vector<bool> needed(l.carries, false);
  for (int64_t i = 0; i < l.carries; ++i) needed[i] = used(f, Value{scan, l.carry_result(i)});
  std::vector<Value> results = body.results();
  for (bool grew = true; grew;) {
    grew = false;
    std::vector<bool> live(body.num_nodes(), false);
    std::vector<NodeId> work;
    auto mark = [&](NodeId n) {
      if (!live[n]) {
        live[n] = true;
        work.push_back(n);
      }
    };
    for (size_t r = 0; r < results.size(); ++r) {
      if (r >= static_cast<size_t>(l.carries) || needed[r]) mark(results[r].node);
    }
    while (!work.empty()) {
      NodeId n = work.back();
      work.pop_back();
      for (const Value& v : body.operands(n)) mark(v.node);
    }
    for (int64_t i = 0; i < l.carries; ++i) {
      if (!needed[i] && live[body.args()[l.carry_arg(i)]]) needed[i] = grew = true;
    }
  }
  return needed;
}

bool trim_scan(Function& f, NodeId scan) {
  bool changed = false;
  ScanLayout l = ScanLayout::of(f, scan);
  for (int64_t o = l.outputs - 1; o >= 0; --o) {
    if (!used(f, Value{scan, l.output_result(o)})) {
      remove_scan_output(f, scan, o);
      changed = true;
    }
  }
  l = ScanLayout::of(f, scan);
  std::vector<bool> needed = needed_carries(f, scan, l);
  Function& body = *f.body(scan);
  // An unneeded carry first becomes an identity carry, so that what computed its next value dies.
  for (int64_t i = 0; i < l.carries; ++i) {
    if (!needed[i]) body.set_operand(body.return_node(), static_cast<int>(i), body.arg(l.carry_arg(i)));
  }
  changed |= erase_dead(body);
  for (int64_t i = l.carries - 1; i >= 0; --i) {
    if (!needed[i]) {
      remove_scan_carry(f, scan, i);
      changed = true;
    }
  }
  l = ScanLayout::of(f, scan);
  for (int64_t k = l.invariants - 1; k >= 0; --k) {
    if (!used(*f.body(scan), f.body(scan)->arg(l.invariant_arg(k)))) {
      remove_scan_invariant(f, scan, k);
      changed = true;
    }
  }
  for (int64_t j = l.sequences - 1; j >= 0 && ScanLayout::of(f, scan).sequences > 1; --j) {
    bool any = false;
    for (int64_t u = 0; u < l.unroll; ++u) any |= used(*f.body(scan), f.body(scan)->arg(l.sequence_arg(j, u)));
    if (!any) {
      remove_scan_sequence(f, scan, j);
      changed = true;
    }
  }
  return changed;
}

bool trim_fused(Function& f, NodeId n) {
  bool changed = false;
  Function& body = *f.body(n);
  for (int r = static_cast<int>(f.node(n).types.size()) - 1; r >= 0; --r) {
    if (!used(f, Value{n, r})) {
      body.remove_function_result(r);
      f.remove_result(n, r);
      changed = true;
    }
  }
  changed |= erase_dead(body);
  for (int a = static_cast<int>(body.args().size()) - 1; a >= 0; --a) {
    if (!used(body, body.arg(a))) {
      body.erase_nodes({body.args()[a]});
      f.remove_operand(n, a);
      changed = true;
    }
  }
  return changed;
}

bool dce_function(Function& f) {
  bool changed = erase_dead(f);
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) == OpKind::Scan) changed |= trim_scan(f, n);
    if (f.op(n) == OpKind::Fused) changed |= trim_fused(f, n);
    if (ir::has_body(f.op(n))) changed |= dce_function(*f.body(n));
  }
  return changed;
}

class Dce : public Pass {
 public:
  std::string name() const override { return "dce"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) {
      while (dce_function(f)) {
      }
    }
  }
};

}  // namespace

bool eliminate_dead_code(Function& f) {
  bool any = false;
  while (dce_function(f)) any = true;
  return any;
}

PassPtr create_dce() { return std::make_unique<Dce>(); }

}  // namespace rnnc::passes
