// Where things sit on a scan node, and the surgery passes do on scans: adding and removing carries,
// sequences, invariants and step outputs while keeping the operands, the body's arguments and results,
// the node's results and the count attributes in step.
//
// Operands:   [lengths] carry-inits… sequences… invariants…
// Body args:  carries… (sub-step 0 sequences…) … (sub-step k-1 sequences…) invariants…
// Body yield: next carries… (sub-step 0 outputs…) … (sub-step k-1 outputs…)
// Results:    final carries… stacked outputs…
#pragma once

#include "ir/function.h"

namespace rnnc::passes {

struct ScanLayout {
  bool lengths = false;
  int64_t carries = 0, sequences = 0, invariants = 0, unroll = 1, outputs = 0;

  static ScanLayout of(const ir::Function& f, ir::NodeId scan);

  int first() const { return lengths ? 1 : 0; }
  int carry_operand(int64_t i) const { return static_cast<int>(first() + i); }
  int sequence_operand(int64_t j) const { return static_cast<int>(first() + carries + j); }
  int invariant_operand(int64_t k) const { return static_cast<int>(first() + carries + sequences + k); }
  size_t carry_arg(int64_t i) const { return static_cast<size_t>(i); }
  size_t sequence_arg(int64_t j, int64_t step = 0) const { return static_cast<size_t>(carries + step * sequences + j); }
  size_t invariant_arg(int64_t k) const { return static_cast<size_t>(carries + unroll * sequences + k); }
  int carry_result(int64_t i) const { return static_cast<int>(i); }
  int output_result(int64_t o) const { return static_cast<int>(carries + o); }
  size_t body_output(int64_t o, int64_t step = 0) const { return static_cast<size_t>(carries + step * outputs + o); }
};

// Adds an invariant bound to `outer`; returns the body's new argument.
ir::Value add_scan_invariant(ir::Function& f, ir::NodeId scan, ir::Value outer, const std::string& name = "");
// Adds a sequence bound to `outer` (time-leading); returns the body's new argument. Not for unrolled scans.
ir::Value add_scan_sequence(ir::Function& f, ir::NodeId scan, ir::Value outer, const std::string& name = "");
// Adds a step output yielding `body_value`; returns the scan's new (stacked) result. Not for unrolled scans.
ir::Value add_scan_output(ir::Function& f, ir::NodeId scan, ir::Value body_value, const std::string& name = "");

// Removals: the removed body argument and the removed result must be unused. Body node ids may shift.
void remove_scan_invariant(ir::Function& f, ir::NodeId scan, int64_t k);
void remove_scan_sequence(ir::Function& f, ir::NodeId scan, int64_t j);
void remove_scan_output(ir::Function& f, ir::NodeId scan, int64_t o);
void remove_scan_carry(ir::Function& f, ir::NodeId scan, int64_t i);

// The ids of the nodes of `f` that the results depend on (arguments always count as live).
std::vector<bool> live_nodes(const ir::Function& f);

}  // namespace rnnc::passes
