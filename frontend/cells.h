// The built-in cells, each written in the DSL exactly as its equations read (per gate, PyTorch's
// parameter names). Nothing downstream knows them by name: gate fusion and every other pass see only
// the ops they produce.
#pragma once

#include "frontend/cell.h"

namespace rnnc::cells {

// h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
dsl::CellDef rnn_tanh();
// h' = relu(W_ih x + b_ih + W_hh h + b_hh)
dsl::CellDef rnn_relu();
// PyTorch's nn.LSTM: gates i, f, g, o; c' = f c + i g; h' = o tanh(c').
dsl::CellDef lstm();
// PyTorch's nn.GRU (linear_before_reset): n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h.
// With linear_before_reset = false, the reset gate applies before the product, as ONNX's default:
// n = tanh(W_in x + b_in + W_hn (r h) + b_hn).
dsl::CellDef gru(bool linear_before_reset = true);
// LSTM with peephole weights p_i, p_f on c and p_o on c' (ONNX's LSTM with P).
dsl::CellDef peephole_lstm();
// Layer-normalised LSTM: LN over the input and recurrent gate pre-activations and over c'.
dsl::CellDef layernorm_lstm();

}  // namespace rnnc::cells
