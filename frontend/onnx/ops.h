// Private to the importer: one function per supported ONNX op type, lowering ctx.node (its inputs
// are in ctx.values, its outputs go there).
#pragma once

#include <string>
#include <vector>

#include "frontend/onnx/context.h"

namespace rnnc::onnx_import::detail {

// Lowers ctx.node; an op type without a lowering is a UserError listing the supported ones.
void lower_node(Context& ctx);
std::vector<std::string> supported_ops();

}  // namespace rnnc::onnx_import::detail
