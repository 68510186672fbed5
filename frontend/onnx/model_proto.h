// Reading a whole ONNX model (model.onnx): the graph's inputs and outputs with their declared types, its
// initializers and every node with its attributes, in file order. The importer (importer.h) turns this
// into rnnc IR; nothing here needs the ONNX headers.
//
// Every failure (missing file, unparsable or truncated protobuf, a graph without nodes, an initializer
// whose data does not match its dims) is a rnnc::UserError naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontend/onnx/tensor_proto.h"

namespace rnnc::onnx_io {

// One dimension of a declared tensor type: a size, a name (dim_param) or neither (unknown).
struct DimInfo {
  int64_t value = -1;  // >= 0: a static size
  std::string param;   // a symbolic size, e.g. "batch"
};

struct ValueInfo {
  std::string name;
  int32_t elem_type = 0;  // TensorProto.DataType; 0 when the file does not say
  bool has_shape = false;
  std::vector<DimInfo> dims;
};

struct GraphInfo {
  std::string path;
  std::string graph_name;
  int64_t ir_version = 0;
  int64_t opset = 0;                // the default domain's opset version, 0 if none is imported
  std::vector<ValueInfo> inputs;    // the graph inputs a caller feeds: initializers are left out
  std::vector<ValueInfo> outputs;
  std::map<std::string, TensorFile> initializers;
  std::vector<NodeInfo> nodes;      // NodeInfo::source: "ONNX model file 'm.onnx': node 3 '/rnn/LSTM' (LSTM)"
};

GraphInfo read_graph(const std::string& path);

}  // namespace rnnc::onnx_io
