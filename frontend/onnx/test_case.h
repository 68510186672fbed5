// ONNX backend test cases (the layout of onnx/backend/test/data/node/*): a directory with model.onnx
// and test_data_set_N/ holding input_K.pb and output_K.pb. A tensor file without a name is the K-th
// graph input (or output). And the comparison: |got - expected| <= atol + rtol * |expected| per
// element (numpy.isclose), reporting the worst element.
#pragma once

#include <string>
#include <vector>

#include "frontend/onnx/binding.h"
#include "frontend/onnx/model_proto.h"

namespace rnnc::onnx_import {

struct DataSet {
  std::string dir;
  InputTensors inputs;
  std::vector<onnx_io::TensorFile> outputs;  // in the graph's output order
};

struct TestCase {
  std::string dir;
  onnx_io::GraphInfo graph;
  std::vector<DataSet> data_sets;
};

// Reads model.onnx and every test_data_set_*; a missing or unreadable file, a tensor named after no
// graph input/output, or a missing expected output is a UserError naming the file.
TestCase load_test_case(const std::string& dir);

struct OutputCheck {
  std::string name;
  runtime::Dims shape;
  int64_t count = 0;
  int64_t violations = 0;  // elements outside the tolerance, or not finite where expected is
  double max_abs_error = 0;
  double worst_ratio = 0;  // max over elements of |error| / (atol + rtol |expected|); <= 1 passes
  std::string worst;       // "Y_h[0, 1, 2]: got 0.1234 expected 0.1235"
  bool shape_mismatch = false;
  bool passed() const { return !shape_mismatch && violations == 0; }
};

OutputCheck compare_output(const std::string& name, const HostTensor& got, const onnx_io::TensorFile& expected,
                           double rtol, double atol);

}  // namespace rnnc::onnx_import
