// ONNX import: a ModelProto (model.onnx) -> an rnnc module, plus the bindings (binding.h) that feed it
// ONNX tensors and give back ONNX outputs.
//
// RNN, LSTM and GRU nodes become recurrent layers (recurrent.h). The plumbing around them that
// torch.onnx.export writes (Shape, Gather, Unsqueeze, Concat, Expand, Constant on shapes) is folded at
// import; Transpose, Squeeze, Unsqueeze, Reshape, Slice and Gather on computed tensors are layout
// records rather than ops where the IR cannot express them (context.h); MatMul, Gemm, Add, ...,
// Softmax become IR ops. Anything else (an op, an attribute value, a layout the IR cannot hold) is a
// rnnc::UserError naming the node (name, op type), the attribute or input and why.
//
//   onnx_import::ImportedModel m = onnx_import::import_model("model.onnx");
//   ir::print_module(std::cout, m.module);
#pragma once

#include <map>
#include <string>

#include "frontend/onnx/binding.h"
#include "frontend/onnx/model_proto.h"
#include "frontend/onnx/recurrent.h"
#include "ir/function.h"

namespace rnnc::onnx_import {

struct ImportOptions {
  // Overrides of the spec mapping, by op type ("LSTM", "GRU", "RNN"): for the conformance tests.
  std::map<std::string, RecurrentMapping> mappings;
};

struct ImportedModel {
  std::string path;
  ir::Module module;  // @forward: the graph
  Bindings bindings;
};

ImportedModel import_model(const std::string& path, const ImportOptions& options = {});
ImportedModel import_graph(const onnx_io::GraphInfo& graph, const ImportOptions& options = {});

}  // namespace rnnc::onnx_import
