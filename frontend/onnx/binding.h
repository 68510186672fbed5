// How an imported ONNX model meets its data at run time. The IR has no general transpose or reshape and
// keeps recurrent sequences time-major, so the importer does not turn ONNX's layout plumbing into ops:
// it records, per IR argument and parameter, which part of which ONNX tensor it holds (a view: axes
// fixed at one index, narrowed, permuted), and per ONNX output, which IR results hold it and how their
// axes map onto ONNX's. The functions below apply those records on the host: ONNX inputs -> IR
// arguments and parameter values, IR results -> ONNX outputs.
//
//   std::vector<Value<float>> args = bind_args<float>(imported.bindings, forward, inputs);
//   for (auto& [name, t] : bind_params<float>(imported.bindings, inputs)) exec.set_param(name, t);
//   std::vector<HostTensor> outputs = unbind_outputs<float>(imported.bindings, forward, exec.run("forward", args));
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "frontend/onnx/model_proto.h"
#include "ir/function.h"
#include "runtime/tensor.h"

namespace rnnc::onnx_import {

// A tensor on the ONNX side: float (held in double, so that f32 and f64 runs share it) or integer.
using HostTensor = std::variant<runtime::Tensor<double>, runtime::IntTensor>;
inline const runtime::Dims& host_dims(const HostTensor& t) {
  return std::holds_alternative<runtime::IntTensor>(t) ? std::get<runtime::IntTensor>(t).shape
                                                       : std::get<runtime::Tensor<double>>(t).shape;
}

// One axis of a view on a source tensor.
struct SourceAxis {
  int src = -1;       // the source axis; -1: an inserted axis of size 1
  int64_t start = 0;  // first index taken along src
  int64_t size = -1;  // indices taken; -1: all from start on (the source's size may be symbolic at import)
};

// Where an IR argument or parameter gets its value: a graph input (given at run time) or a tensor known
// at import (an initializer, a Constant or a folded value), seen through a view, times `scale`.
struct TensorSource {
  std::string input;                       // graph input name; empty: `data` holds the tensor
  std::shared_ptr<const HostTensor> data;
  std::string origin;                      // for messages: "graph input 'W'", "initializer 'fc.weight'"
  ir::Shape src_shape;                     // the source's shape as declared (dims may be symbolic)
  std::vector<SourceAxis> axes;            // the view's axes
  std::vector<std::pair<int, int64_t>> fixed;  // (source axis, index): axes taken at one index
  double scale = 1;

  // The whole tensor.
  static TensorSource whole(std::string input, std::shared_ptr<const HostTensor> data, std::string origin,
                            ir::Shape shape);
  int rank() const { return static_cast<int>(axes.size()); }
  ir::Shape shape() const;  // the view's shape
  // View operations; the axis is a view axis. Out-of-range indices are UserErrors naming the origin.
  TensorSource select(int axis, int64_t index) const;  // drops the axis
  TensorSource narrow(int axis, int64_t start, int64_t size) const;
  TensorSource permute(const std::vector<int>& perm) const;  // view axis i = old axis perm[i]
  TensorSource unsqueeze(int axis) const;
  TensorSource scaled(double factor) const;
};

// The flat source index of every element of the view, row-major, for a source of dims `src_dims`;
// *dims gets the view's dims.
std::vector<int64_t> view_indices(const TensorSource& s, const runtime::Dims& src_dims, runtime::Dims* dims);

struct ArgBinding {
  std::string arg;  // IR argument name
  ir::DType dtype;
  TensorSource source;
};

struct ParamBinding {
  std::string param;  // IR parameter name
  TensorSource source;
};

// axes[k]: the IR axis that holds ONNX axis k, or -1 for an ONNX axis of size 1 the IR value lacks.
struct OutputPiece {
  std::string result;  // IR result name of @forward
  std::vector<int> axes;
};

struct OutputBinding {
  std::string name;  // ONNX output name
  bool is_float = true;
  std::vector<OutputPiece> pieces;  // concatenated along concat_axis
  int concat_axis = 0;
  std::shared_ptr<const HostTensor> constant;  // an output known at import: no pieces
};

struct Bindings {
  std::vector<onnx_io::ValueInfo> inputs;  // the graph inputs a caller feeds, in order
  std::vector<ArgBinding> args;
  std::vector<ParamBinding> params;
  std::vector<OutputBinding> outputs;  // in the graph's output order
};

// ONNX tensors by graph input name (as read from input_*.pb files).
using InputTensors = std::map<std::string, onnx_io::TensorFile>;

// Every declared graph input is given, with its declared rank, static sizes and element kind.
void check_inputs(const Bindings& b, const InputTensors& inputs);

// @forward's arguments, in `f`'s order (matched by name: a pipeline may drop some).
template <typename T>
std::vector<runtime::Value<T>> bind_args(const Bindings& b, const ir::Function& f, const InputTensors& inputs);
// Every parameter's value.
template <typename T>
std::map<std::string, runtime::Tensor<T>> bind_params(const Bindings& b, const InputTensors& inputs);
// The ONNX outputs in the graph's order, assembled from `f`'s results (matched by result name).
template <typename T>
std::vector<HostTensor> unbind_outputs(const Bindings& b, const ir::Function& f,
                                       const std::vector<runtime::Value<T>>& results);

extern template std::vector<runtime::Value<float>> bind_args<float>(const Bindings&, const ir::Function&, const InputTensors&);
extern template std::vector<runtime::Value<double>> bind_args<double>(const Bindings&, const ir::Function&, const InputTensors&);
extern template std::map<std::string, runtime::Tensor<float>> bind_params<float>(const Bindings&, const InputTensors&);
extern template std::map<std::string, runtime::Tensor<double>> bind_params<double>(const Bindings&, const InputTensors&);
extern template std::vector<HostTensor> unbind_outputs<float>(const Bindings&, const ir::Function&,
                                                              const std::vector<runtime::Value<float>>&);
extern template std::vector<HostTensor> unbind_outputs<double>(const Bindings&, const ir::Function&,
                                                               const std::vector<runtime::Value<double>>&);

}  // namespace rnnc::onnx_import
