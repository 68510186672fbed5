// Private to rnnc_onnx_io: the conversions from ONNX's protobuf classes that tensor_proto.cpp and
// model_proto.cpp share. Only those two files include the ONNX headers.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "frontend/onnx/tensor_proto.h"

namespace rnnc::onnx_io {

// `where` starts every error message ("ONNX model file 'm.onnx': initializer 'W'"); `path` is the file.
TensorFile tensor_from_proto(const onnx::TensorProto& tp, const std::string& where, const std::string& path);
Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& where, const std::string& path);

// The newest opset of the default domain whose operators rnnc reads: ONNX 1.12's. A later opset may
// change an operator's meaning (opset 18 moved ReduceMean's axes into an input), so it is refused, not
// read by the old meaning.
constexpr int64_t kNewestOpset = 17;

// The default domain's opset version (0 when the model imports none); a UserError starting with `where`
// for a version outside 1..kNewestOpset or a domain imported twice.
int64_t default_opset(const onnx::ModelProto& mp, const std::string& where);

}  // namespace rnnc::onnx_io
