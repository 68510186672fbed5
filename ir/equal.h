// Structural equality of modules: the same parameters, and functions whose graphs match node for node
// in their stable topological orders (ops, attributes, types, names, operand wiring, scan bodies).
// What "parsing a printed module reproduces the graph" means, and what a pass test uses to say
// "unchanged".
#pragma once

#include <string>

#include "ir/function.h"

namespace rnnc::ir {

// Returns true when equal; otherwise false, with the first difference described in *difference.
bool structurally_equal(const Module& a, const Module& b, std::string* difference = nullptr);
bool structurally_equal(const Function& a, const Function& b, std::string* difference = nullptr);

}  // namespace rnnc::ir
