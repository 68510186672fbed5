// The surgery passes do on scans: adding and removing carries, sequences, invariants and step outputs
// while keeping the operands, the body's arguments and results, the node's results and the count
// attributes in step (ir/scan_layout.h says where each sits).
#pragma once

#include <functional>

#include "ir/function.h"
#include "ir/scan_layout.h"

namespace rnnc::passes {

using ir::ScanLayout;

// Adds an invariant bound to `outer`; returns the body's new argument.
ir::Value add_scan_invariant(ir::Function& f, ir::NodeId scan, ir::Value outer, const std::string& name = "");
// Adds a sequence bound to `outer` (time-leading); returns the body's new argument. Not for unrolled scans.
ir::Value add_scan_sequence(ir::Function& f, ir::NodeId scan, ir::Value outer, const std::string& name = "");
// Adds a step output yielding `body_value`; returns the scan's new (stacked) result. Not for unrolled scans.
ir::Value add_scan_output(ir::Function& f, ir::NodeId scan, ir::Value body_value, const std::string& name = "");

// Adds a carry starting at `init`; `next` builds its next value in the body from the new argument.
// Returns the scan's new final-carry result. Not for unrolled scans.
ir::Value add_scan_carry(ir::Function& f, ir::NodeId scan, ir::Value init,
                         const std::function<ir::Value(ir::Function& body, ir::Value carry)>& next,
                         const std::string& name = "");

// Removals: the removed body argument and the removed result must be unused. Body node ids may shift.
void remove_scan_invariant(ir::Function& f, ir::NodeId scan, int64_t k);
void remove_scan_sequence(ir::Function& f, ir::NodeId scan, int64_t j);
void remove_scan_output(ir::Function& f, ir::NodeId scan, int64_t o);
void remove_scan_carry(ir::Function& f, ir::NodeId scan, int64_t i);

// The ids of the nodes of `f` that the results depend on (arguments always count as live).
std::vector<bool> live_nodes(const ir::Function& f);

}  // namespace rnnc::passes
