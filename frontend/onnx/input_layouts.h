// Private to the importer: the axis order each graph input should have as an IR argument. A recurrent
// node needs X time-major; when X comes from a graph input through ops that keep or permute axes
// (Transpose, Identity, Cast, elementwise ops, an embedding lookup, a projection), that input is best
// passed in the order that makes X time-major, since the IR cannot transpose it later. This walks back
// from every RNN / LSTM / GRU node's X and returns, per graph input reached, its axes in IR order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontend/onnx/model_proto.h"

namespace rnnc::onnx_import::detail {

std::map<std::string, std::vector<int>> preferred_input_layouts(const onnx_io::GraphInfo& graph);

}  // namespace rnnc::onnx_import::detail
