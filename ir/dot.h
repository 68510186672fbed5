// Graphviz output of a module (`rnnc ir MODEL --dot`): one digraph per function and per scan body,
// written with Boost.Graph's write_graphviz.
#pragma once

#include <iosfwd>

#include "ir/function.h"

namespace rnnc::ir {

void write_dot(std::ostream& os, const Module& module);

}  // namespace rnnc::ir
