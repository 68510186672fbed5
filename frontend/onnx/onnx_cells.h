// The cells ONNX's RNN, LSTM and GRU describe, for what the built-in cells do not cover: the
// activation functions the spec lists (Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu,
// ScaledTanh, HardSigmoid, Elu, Softsign, Softplus), `clip` on every activation's input and LSTM's
// input_forget. They are written in the DSL from the IR's elementwise ops, with the built-in cells'
// parameter names, so that the same ONNX blocks bind to either.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/cell.h"
#include "frontend/onnx/tensor_proto.h"

namespace rnnc::onnx_import {

struct Activation {
  std::string name;  // as the spec spells it ("LeakyRelu"); the node's spelling is matched ignoring case
  double alpha = 0;
  double beta = 0;
};

// The node's activations per direction: f, g, h (LSTM), f, g (GRU) or f (RNN), the defaults where it
// names none. activation_alpha / activation_beta are consumed in order by the activations that take
// them, each missing value being the default of the ONNX operator of that name (as onnxruntime does).
// An unknown name or a list of the wrong length is a UserError naming the node.
std::vector<std::vector<Activation>> recurrent_activations(const onnx_io::NodeInfo& node, int directions);

// a(x) from IR ops; exact where the function is the identity on part of its domain.
dsl::Expr apply_activation(const Activation& a, const dsl::Expr& x);

// |x| as relu(x) + relu(-x).
dsl::Expr absolute(const dsl::Expr& x);
// min(max(x, lo), hi), exact for elements inside [lo, hi] (masks, not min/max arithmetic).
dsl::Expr clip(const dsl::Expr& x, double lo, double hi);

struct CellOptions {
  std::string op;                    // LSTM, GRU or RNN
  std::vector<Activation> activations;
  std::optional<double> clip;        // the threshold
  bool input_forget = false;         // LSTM: f = 1 - i (onnxruntime's reading of the coupled gate)
  bool peepholes = false;            // LSTM: P given
  bool linear_before_reset = false;  // GRU
};

// The cell for one direction: a built-in cell when the options are ONNX's defaults (or RNN with Relu),
// else an ONNX cell built from the options.
dsl::CellDef onnx_cell(const CellOptions& options);

}  // namespace rnnc::onnx_import
