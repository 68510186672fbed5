// Runs one ONNX LSTM / GRU / RNN node test (model.onnx + test_data_set_*/*.pb) through the ONNX importer
// (frontend/onnx/importer.h) on the reference executor in precision T and compares each output the data
// set holds, in ONNX's layout.
//
// How ONNX's packed W, R, B and P map onto the cells' per-gate parameters is the importer's
// RecurrentMapping; spec_mapping() is the ONNX operator spec, and the mutation tests pass a mapping
// with one field changed to show that the comparison notices that mistake.
#pragma once

#include <string>
#include <vector>

#include "frontend/onnx/recurrent.h"
#include "runtime/tensor.h"

namespace rnnc::onnx_test {

// The comparison: |ours - expected| <= kAbsTol + kRelTol * |expected| for every element (numpy.isclose).
constexpr double kAbsTol = 1e-5;
constexpr double kRelTol = 1e-5;

using Mapping = onnx_import::RecurrentMapping;
inline Mapping spec_mapping(const std::string& op_type) { return onnx_import::spec_mapping(op_type); }

struct OutputCheck {
  std::string name;       // Y, Y_h or Y_c
  runtime::Dims shape;    // ONNX's
  int64_t count = 0;
  int64_t violations = 0;  // elements outside the tolerance (or not finite)
  double max_abs_error = 0;
  double worst_ratio = 0;  // max over elements of |error| / (kAbsTol + kRelTol * |expected|); <= 1 passes
  std::string worst;       // "Y[2, 0, 1, 3]: got 0.1234 expected 0.1235"
};

struct CaseResult {
  std::string case_dir;
  std::string op_type;
  std::string cells;  // what the import built, e.g. "2 scans"
  std::vector<OutputCheck> outputs;

  bool passed() const;
  double max_abs_error() const;
  std::string summary() const;  // one line per output
};

// Throws rnnc::UserError when the files cannot be read or the node uses something the importer does not
// support.
template <typename T>
CaseResult run_case(const std::string& case_dir, const Mapping* mapping = nullptr);

extern template CaseResult run_case<float>(const std::string&, const Mapping*);
extern template CaseResult run_case<double>(const std::string&, const Mapping*);

}  // namespace rnnc::onnx_test
