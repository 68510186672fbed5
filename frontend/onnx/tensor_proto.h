// Reading ONNX files from outside the project: a TensorProto (.pb) into a runtime tensor, and a ModelProto
// (model.onnx) down to what a single-node conformance test needs: the graph's inputs and outputs and
// the first node's op type, inputs, outputs and attributes.
//
// The protobuf types stay inside tensor_proto.cpp; nothing here needs the ONNX headers. Every failure
// (missing file, unparsable protobuf, unsupported data type, a size that does not match the dims) is a
// rnnc::UserError whose message names the file and the problem.
//
//   runtime::Tensor<float> w = onnx_io::read_float_tensor(dir + "/input_1.pb");
//   onnx_io::ModelInfo m = onnx_io::read_model(dir + "/model.onnx");
//   int64_t hidden = m.node.get_int("hidden_size");
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "runtime/tensor.h"

namespace rnnc::onnx_io {

// TensorProto.DataType values this reader understands (the numbers are ONNX's).
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  Int32 = 6,
  Int64 = 7,
  Double = 11,
};
// "FLOAT", "INT32", ... or "data type 42" for one without a name here.
std::string data_type_name(int32_t data_type);

// One tensor file. Float tensors (FLOAT, and DOUBLE narrowed to float) land in `value` as a
// Tensor<float>; integer tensors (INT32, INT64) as an IntTensor.
struct TensorFile {
  std::string path;
  std::string name;        // TensorProto.name; may be empty
  int32_t data_type = 0;   // as stored
  std::variant<runtime::Tensor<float>, runtime::IntTensor> value;

  bool is_float() const { return std::holds_alternative<runtime::Tensor<float>>(value); }
  const runtime::Dims& dims() const;
};

// Any supported tensor.
TensorFile read_tensor(const std::string& path);
// A FLOAT tensor (from raw_data or float_data); any other data type is a UserError.
runtime::Tensor<float> read_float_tensor(const std::string& path);
// An INT32 or INT64 tensor (from raw_data or int32_data / int64_data); any other data type is a UserError.
runtime::IntTensor read_int_tensor(const std::string& path);

// A node attribute. Kinds this reader does not decode (graphs, sparse tensors, ...) are kept with kind
// Other so that a caller can still see the attribute is there.
struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor, Other };
  std::string name;
  Kind kind = Kind::Other;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const TensorFile> tensor;  // kind Tensor (a Constant's value)
};
const char* attribute_kind_name(Attribute::Kind kind);

struct NodeInfo {
  std::string source;  // "<file>: node 0 (LSTM)": what error messages name
  std::string name;
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;   // as written; an omitted optional input is ""
  std::vector<std::string> outputs;  // likewise
  std::map<std::string, Attribute> attributes;

  bool has(const std::string& attr) const { return attributes.count(attr) != 0; }
  // Typed accessors: a missing attribute without a default, or one of another kind, is a UserError
  // naming the node, the attribute and the kind found.
  int64_t get_int(const std::string& attr) const;
  int64_t get_int(const std::string& attr, int64_t fallback) const;
  float get_float(const std::string& attr) const;
  float get_float(const std::string& attr, float fallback) const;
  std::string get_string(const std::string& attr) const;
  std::string get_string(const std::string& attr, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attr) const;
  std::vector<float> get_floats(const std::string& attr) const;
  std::vector<std::string> get_strings(const std::string& attr) const;
  // The input at `position`, or "" when the node has fewer inputs or leaves it out.
  std::string input(size_t position) const { return position < inputs.size() ? inputs[position] : ""; }
  std::string output(size_t position) const { return position < outputs.size() ? outputs[position] : ""; }

 private:
  const Attribute& get(const std::string& attr, Attribute::Kind kind) const;
};

struct ModelInfo {
  std::string path;
  std::string graph_name;
  int64_t ir_version = 0;
  int64_t opset = 0;  // the default domain's opset version, 0 if none is imported
  std::vector<std::string> graph_inputs;   // names, in order (initializers included, as ONNX lists them)
  std::vector<std::string> graph_outputs;  // names, in order
  size_t num_nodes = 0;
  NodeInfo node;  // the graph's first node; a graph without nodes is a UserError
};

ModelInfo read_model(const std::string& path);

}  // namespace rnnc::onnx_io
