// Checks every invariant of a module and reports each violation by name, e.g.
//   @forward: [type-mismatch] node 7 (matmul, %gates): stored f32[batch, 20] but its type rule gives …
// The named invariants:
//   cycle            the graph of a function must be acyclic (recurrence only through a scan's carries)
//   operand-slots    a node's operand slots are 0..n-1, each filled exactly once
//   dangling-result  an operand reads a result its producer does not have
//   op-rule          the op's arity, attributes and type rule accept it
//   type-mismatch    the stored result types equal what the type rule gives
//   args             arg nodes are exactly the function's arguments, numbered in order
//   return           one return node, used by nothing, and result names match the results
//   param            a param op names a declared parameter and has its type
//   scan-body        the invariants hold inside every scan and fused body too
//   duplicate-function, duplicate-param
#pragma once

#include <string>
#include <vector>

#include "ir/function.h"

namespace rnnc::ir {

struct Violation {
  std::string invariant;  // one of the names above
  std::string where;      // "@forward" or "@forward, scan %h_n body"
  std::string message;
  std::string str() const { return where + ": [" + invariant + "] " + message; }
};

std::vector<Violation> verify(const Module& module);

// Throws a UserError listing every violation, headed by `context` (e.g. "after pass gate-fusion").
void verify_or_throw(const Module& module, const std::string& context = "");

}  // namespace rnnc::ir
