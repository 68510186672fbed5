// sum-in-scan: a step output that is summed over time becomes a running sum the scan carries.
//
//   %a, %g = scan … { … yield next(…) out(%v) }      %a, %sum = scan … carry(…, %sum = zeros[batch, N]) {
//   %dgamma = reduce_sum %g {axes = [0, 1]}    ->      … %sum.next = add %sum, %v; yield next(…, %sum.next) }
//                                                    %dgamma = reduce_sum %sum {axes = [0]}
//
// A layer norm's scale and shift gradients are such sums: the backward step of a layer-norm LSTM
// yielded five [time, batch, 4H]-sized outputs (224 KiB per step and thread at the seed's shape) only to
// have them summed after the loop; as carries they stay in cache, one [batch, N] each. An output that
// is also read otherwise (the gate gradients, summed into the bias gradients and multiplied into the
// weight gradients) stays an output and gains the carry as well: the step adds values it has just
// written, where the sum after the loop read all of [time, batch, N] again from memory (S: two such
// sums, ~1 ms of a training step). The carry keeps the batch dim so that rows stay independent (the
// executor runs row ranges of a scan on threads of its own); the sum over the batch runs once, after
// the scan. Exact under variable lengths: a row past its length yields zeros as a step output, and
// keeps its carry unchanged, which adds the same nothing.
#include <algorithm>

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

// Whether u sums over time (axis 0), with only non-negative axes.
bool sums_over_time(const Function& f, const ir::Use& u) {
  if (f.op(u.user) != OpKind::ReduceSum) return false;
  const std::vector<int64_t>& axes = f.node(u.user).attrs.get_int_list("axes");
  if (std::find(axes.begin(), axes.end(), 0) == axes.end()) return false;
  return std::none_of(axes.begin(), axes.end(), [](int64_t a) { return a < 0; });
}

// Turns the first step output of `scan` that some reduce_sum sums over time into a carried sum (the
// output itself stays where others read it); true if one did.
bool sum_one_output(Function& f, NodeId scan) {
  const ScanLayout l = ScanLayout::of(f, scan);
  if (l.unroll != 1) return false;
  for (int64_t o = 0; o < l.outputs; ++o) {
    const Value out{scan, l.output_result(o)};
    std::vector<ir::Use> uses;
    bool read_otherwise = false;
    for (const ir::Use& u : f.users(out)) {
      if (sums_over_time(f, u)) {
        uses.push_back(u);
      } else {
        read_otherwise = true;
      }
    }
    if (uses.empty()) continue;
    ir::TensorType step = f.type(out);
    step.shape.erase(step.shape.begin());
    const std::string name = f.value_name(out).empty() ? "" : f.value_name(out) + ".sum";
    Value zeros = f.add(OpKind::Constant, {}, Attrs().set("value", 0.0), {step});
    const Value yielded = f.body(scan)->results()[l.body_output(o)];
    Value total = add_scan_carry(
        f, scan, zeros, [&](Function& body, Value sum) { return body.add(OpKind::Add, {sum, yielded}); }, name);
    for (const ir::Use& u : uses) {
      std::vector<int64_t> rest;
      for (int64_t a : f.node(u.user).attrs.get_int_list("axes")) {
        if (a != 0) rest.push_back(a - 1);
      }
      const Value old{u.user, 0};
      Value replacement = total;
      if (!rest.empty()) {
        replacement = f.add(OpKind::ReduceSum, {total}, Attrs().set("axes", rest));
        f.set_value_name(replacement, f.value_name(old));
      }
      f.replace_all_uses(old, replacement);
      f.remove_operand(u.user, 0);  // now dead: let go of the stacked output so that it can go
    }
    if (read_otherwise) return true;
    remove_scan_output(f, scan, o);  // still output o: the new carry went before the outputs
    eliminate_dead_code(*f.body(scan));
    return true;
  }
  return false;
}

class SumInScan : public Pass {
 public:
  std::string name() const override { return "sum-in-scan"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) {
      bool changed = false;
      for (NodeId n = 0; n < f.num_nodes(); ++n) {
        if (f.op(n) != OpKind::Scan) continue;
        while (sum_one_output(f, n)) changed = true;
      }
      if (changed) eliminate_dead_code(f);
    }
  }
};

}  // namespace

PassPtr create_sum_in_scan() { return std::make_unique<SumInScan>(); }

}  // namespace rnnc::passes
