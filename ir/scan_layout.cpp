#include "ir/scan_layout.h"

#include "ir/error.h"

namespace rnnc::ir {

ScanLayout ScanLayout::of(const Function& f, NodeId scan) {
  RNNC_INTERNAL_CHECK(f.op(scan) == OpKind::Scan) << "node " << scan << " is not a scan";
  const ir::Attrs& a = f.node(scan).attrs;
  ScanLayout l;
  l.lengths = a.has_flag("lengths");
  l.carries = a.get_int("carries");
  l.sequences = a.get_int("sequences");
  l.invariants = a.get_int("invariants");
  l.unroll = a.get_int_or("unroll", 1);
  l.outputs = static_cast<int64_t>(f.node(scan).types.size()) - l.carries;
  return l;
}

}  // namespace rnnc::ir
