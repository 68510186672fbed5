// The textual form of the IR. Printing is deterministic: functions in module order, ops in a stable
// topological order, names from the values where they are unique (numbers otherwise), so that
// print(parse(print(m))) == print(m).
#pragma once

#include <iosfwd>
#include <string>

#include "ir/function.h"

namespace rnnc::ir {

std::string print_module(const Module& module);
std::string print_function(const Function& function);
void print_module(std::ostream& os, const Module& module);

}  // namespace rnnc::ir
