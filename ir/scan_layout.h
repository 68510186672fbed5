// Where things sit on a scan node:
//
// Operands:   [lengths] carry-inits… sequences… invariants…
// Body args:  carries… (sub-step 0 sequences…) … (sub-step k-1 sequences…) invariants…
// Body yield: next carries… (sub-step 0 outputs…) … (sub-step k-1 outputs…)
// Results:    final carries… stacked outputs…
#pragma once

#include "ir/function.h"

namespace rnnc::ir {

struct ScanLayout {
  bool lengths = false;
  int64_t carries = 0, sequences = 0, invariants = 0, unroll = 1, outputs = 0;

  static ScanLayout of(const Function& f, NodeId scan);

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

}  // namespace rnnc::ir
