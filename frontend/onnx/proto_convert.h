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

}  // namespace rnnc::onnx_io
