// Runs one ONNX LSTM / GRU / RNN node test (model.onnx + test_data_set_0/*.pb) through our built-in
// cells: reads the node's attributes and the data set, builds the same layer in the DSL, sets every
// parameter by name from ONNX's packed W, R, B and P, runs the reference executor in precision T and
// compares each output the data set holds, in ONNX's layout.
//
// How ONNX's tensors map onto our parameters is spelled out in a Mapping. spec_mapping() is the ONNX
// operator spec; the mutation tests change one field to show the comparison notices that mistake.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace rnnc::onnx_test {

// The comparison: |ours - expected| <= kAbsTol + kRelTol * |expected| for every element (numpy.isclose).
constexpr double kAbsTol = 1e-5;
constexpr double kRelTol = 1e-5;

struct Mapping {
  // Our gate suffix for block k of W and R along the gates * hidden axis. ONNX: LSTM i, o, f, c ->
  // i, o, f, g; GRU z, r, h -> z, r, n; RNN one block -> h (W_ih, W_hh, b_ih, b_hh).
  std::vector<std::string> gates;
  // Likewise for the blocks of each half of B (normally equal to `gates`).
  std::vector<std::string> bias_gates;
  bool swap_bias_halves = false;  // read B's second half (Rb) as the input bias and the first (Wb) as the recurrent one
  bool drop_bias = false;         // ignore B
  // Our peephole names for the blocks of P. ONNX: i, o, f.
  std::vector<std::string> peepholes;
  bool drop_initial_states = false;  // ignore initial_h / initial_c
  bool drop_sequence_lens = false;   // ignore sequence_lens
  std::optional<bool> linear_before_reset;  // GRU: override the node's attribute
};

// The ONNX spec's mapping for "LSTM", "GRU" or "RNN".
Mapping spec_mapping(const std::string& op_type);

struct OutputCheck {
  std::string name;       // Y, Y_h or Y_c
  runtime::Dims shape;    // ONNX's
  int64_t count = 0;
  int64_t violations = 0;  // elements outside the tolerance (or not finite)
  double max_abs_error = 0;
  double worst_ratio = 0;  // max over elements of |error| / (kAbsTol + kRelTol * |expected|); <= 1 passes
  std::string worst;       // "Y[2, 0, 1, 3]: ours 0.1234 expected 0.1235"
};

struct CaseResult {
  std::string case_dir;
  std::string op_type;
  std::string cells;  // the cell(s) built, e.g. "gru-reset-before" or "lstm x2"
  std::vector<OutputCheck> outputs;

  bool passed() const;
  double max_abs_error() const;
  std::string summary() const;  // one line per output
};

// Throws rnnc::UserError when the files cannot be read or the node uses something the harness does not
// map (clip, input_forget, other activations, ...).
template <typename T>
CaseResult run_case(const std::string& case_dir, const Mapping* mapping = nullptr);

extern template CaseResult run_case<float>(const std::string&, const Mapping*);
extern template CaseResult run_case<double>(const std::string&, const Mapping*);

}  // namespace rnnc::onnx_test
