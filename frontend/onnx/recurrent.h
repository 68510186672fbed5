// ONNX's RNN, LSTM and GRU nodes as rnnc recurrent layers: one scan per direction built from a DSL cell
// (the built-in cells for ONNX's default activations; onnx_cells.h for clip, input_forget and other
// activations), its per-gate parameters bound to blocks of ONNX's packed W, R, B and P.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rnnc::onnx_import {

// How ONNX's packed tensors map onto the cells' parameters. spec_mapping() is the ONNX operator spec;
// the conformance tests change one field at a time to show that the node tests notice the mistake.
struct RecurrentMapping {
  // Our gate suffix for block k of W and R along the gates * hidden axis. ONNX: LSTM i, o, f, c -> i, o,
  // f, g; GRU z, r, h -> z, r, n; RNN one block -> h (parameters W_i<g>, W_h<g>, b_i<g>, b_h<g>).
  std::vector<std::string> gates;
  std::vector<std::string> bias_gates;  // likewise for the blocks of each half of B (normally `gates`)
  bool swap_bias_halves = false;        // read B's second half (Rb) as the input bias, the first (Wb) as the recurrent one
  bool drop_bias = false;               // ignore B
  std::vector<std::string> peepholes;   // our names for the blocks of P; ONNX: i, o, f -> p_i, p_o, p_f
  bool drop_initial_states = false;     // ignore initial_h / initial_c
  bool drop_sequence_lens = false;      // ignore sequence_lens
  std::optional<bool> linear_before_reset;  // GRU: override the node's attribute
};

// The ONNX spec's mapping for "LSTM", "GRU" or "RNN"; UserError for any other op type.
RecurrentMapping spec_mapping(const std::string& op_type);

namespace detail {
class Context;
void lower_recurrent(Context& ctx);
}  // namespace detail

}  // namespace rnnc::onnx_import
