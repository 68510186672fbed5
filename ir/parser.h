// Parses the textual IR (see printer.h for the form). Errors are UserErrors of the form
// `FILE:LINE:COL: expected X, got Y` (or the type rule's message at the op that broke it).
#pragma once

#include <string>

#include "ir/function.h"

namespace rnnc::ir {

Module parse_module(const std::string& text, const std::string& filename = "<input>");

}  // namespace rnnc::ir
