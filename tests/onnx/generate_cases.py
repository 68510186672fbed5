#!/usr/bin/env python3
"""Generates the extra ONNX node-test cases under tests/onnx/data/ (committed; run only to regenerate).

Why: the ONNX backend node tests that libonnx-testdata ships fill W, R and P of every LSTM test with one
constant, give every gate the same bias and start from zero states, so a wrong LSTM gate order, a wrong
peephole order, or swapping the input and recurrent halves of B all reproduce them exactly. These cases
use random weights, distinct Wb/Rb, random peepholes, non-zero initial states, variable sequence_lens,
reverse and bidirectional directions and layout=1.

Where the expected outputs come from: ONNX's own numpy reference helpers (LSTM_Helper, GRU_Helper,
RNN_Helper in onnx.backend.test.case.node, the code that produced the official node tests), run in
float64 on the float32 inputs. Those helpers know one direction, full-length sequences and layout 0;
the rest is composed around them exactly as the ONNX operator spec defines it:
  * sequence_lens: each batch row runs alone on its first L steps; Y rows past L are zero and Y_h is the
    state after step L-1;
  * direction=reverse: the row's first L steps are fed in reverse order and Y is put back in time order;
  * bidirectional: W/R/B/P/initial states [0] run forward, [1] run in reverse; Y stacks them on axis 1;
  * layout=1: X [batch, seq, in], initial states and Y_h [batch, dirs, H], Y [batch, seq, dirs, H].

Requires python3-onnx (Debian's package, 1.12) and numpy:  /usr/bin/python3 tests/onnx/generate_cases.py
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.backend.test.case.node.gru import GRU_Helper
from onnx.backend.test.case.node.lstm import LSTM_Helper
from onnx.backend.test.case.node.rnn import RNN_Helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


class ReluRNN_Helper(RNN_Helper):
    """RNN_Helper with activations=["Relu"] (the helper hardcodes tanh in f)."""

    def f(self, x):
        return np.maximum(x, 0)


def run_one_row(op, x_row, d, W, R, B, P, h0, c0, lbr, activation):
    """One direction, one batch row of layout-0 data x_row [L, 1, I], through ONNX's helper. Returns the
    step outputs [L, H] and the final H [H]."""
    params = dict(X=x_row.astype(np.float64), W=W[d:d + 1].astype(np.float64), R=R[d:d + 1].astype(np.float64),
                  B=B[d:d + 1].astype(np.float64), initial_h=h0[d:d + 1].astype(np.float64))
    if op == "LSTM":
        params["initial_c"] = c0[d:d + 1].astype(np.float64)
        params["P"] = P[d:d + 1].astype(np.float64)
        helper_ = LSTM_Helper(**params)
    elif op == "GRU":
        params["linear_before_reset"] = np.array([lbr])  # squeezed to a scalar by the helper
        helper_ = GRU_Helper(**params)
    else:
        helper_ = ReluRNN_Helper(**params) if activation == "Relu" else RNN_Helper(**params)
    Y, Y_h = helper_.step()  # Y [L, 1, 1, H], Y_h [1, 1, H]
    return Y[:, 0, 0, :], Y_h[0, 0, :]


def reference(op, X, W, R, B, P, h0, c0, seq_lens, direction, lbr, activation):
    """Layout-0 tensors in, (Y [S, dirs, batch, H], Y_h [dirs, batch, H]) out."""
    S, batch, _ = X.shape
    dirs, H = W.shape[0], R.shape[-1]
    Y = np.zeros((S, dirs, batch, H))
    Y_h = np.zeros((dirs, batch, H))
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        for b in range(batch):
            L = int(seq_lens[b])
            x_row = X[:L, b:b + 1, :]
            if reverse:
                x_row = x_row[::-1]
            ys, last = run_one_row(op, x_row, d, W, R, B, P, h0[:, b:b + 1, :], c0[:, b:b + 1, :], lbr, activation)
            if reverse:
                ys = ys[::-1]
            Y[:L, d, b, :] = ys
            Y_h[d, b, :] = last
    return Y, Y_h


def make_case(name, op, seq, batch, inp, hidden, seed, *, w_scale=0.6, direction="forward", lbr=None,
              layout=0, seq_lens=None, initial=True, peepholes=False, activation=None, outputs=("Y", "Y_h")):
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    G = GATES[op]
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    X = f32(rng.normal(0, 1.0, (seq, batch, inp)))
    W = f32(rng.normal(0, w_scale, (dirs, G * hidden, inp)))
    R = f32(rng.normal(0, w_scale, (dirs, G * hidden, hidden)))
    B = f32(rng.normal(0, 0.5, (dirs, 2 * G * hidden)))
    P = f32(rng.normal(0, 0.5, (dirs, 3 * hidden))) if peepholes else np.zeros((dirs, 3 * hidden), np.float32)
    h0 = f32(rng.normal(0, 0.5, (dirs, batch, hidden))) if initial else np.zeros((dirs, batch, hidden), np.float32)
    c0 = f32(rng.normal(0, 0.5, (dirs, batch, hidden))) if initial else np.zeros((dirs, batch, hidden), np.float32)
    lens = np.full(batch, seq, np.int32) if seq_lens is None else np.asarray(seq_lens, np.int32)

    Y, Y_h = reference(op, X, W, R, B, P, h0, c0, lens, direction, lbr or 0, activation)

    # The files, in the node's layout.
    to_layout = (lambda a: np.swapaxes(a, 0, 1)) if layout == 1 else (lambda a: a)
    inputs = [("X", to_layout(X)), ("W", W), ("R", R), ("B", B)]
    inputs.append(("sequence_lens", lens) if seq_lens is not None else ("", None))
    inputs.append(("initial_h", to_layout(h0)) if initial else ("", None))
    if op == "LSTM":
        inputs.append(("initial_c", to_layout(c0)) if initial else ("", None))
        inputs.append(("P", P) if peepholes else ("", None))
    while inputs and inputs[-1][0] == "":
        inputs.pop()
    results = {"Y": f32(np.transpose(Y, (2, 0, 1, 3)) if layout == 1 else Y), "Y_h": f32(to_layout(Y_h))}
    node_outputs = [o if o in outputs else "" for o in ("Y", "Y_h")]
    while node_outputs and node_outputs[-1] == "":
        node_outputs.pop()

    attrs = {"hidden_size": hidden}
    if direction != "forward":
        attrs["direction"] = direction
    if layout:
        attrs["layout"] = layout
    if lbr is not None:
        attrs["linear_before_reset"] = lbr
    if activation is not None:
        attrs["activations"] = [activation] * dirs
    node = helper.make_node(op, inputs=[n for n, _ in inputs], outputs=node_outputs, **attrs)
    elem = lambda a: TensorProto.INT32 if a.dtype == np.int32 else TensorProto.FLOAT
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, elem(a), a.shape) for n, a in inputs if n],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, results[o].shape) for o in node_outputs if o])
    model = helper.make_model(graph, producer_name="rnnc-generate_cases", opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 7
    onnx.checker.check_model(model)

    case_dir = os.path.join(OUT, name)
    data_dir = os.path.join(case_dir, "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    onnx.save(model, os.path.join(case_dir, "model.onnx"))
    k = 0
    for n, a in inputs:
        if not n:
            continue
        with open(os.path.join(data_dir, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
        k += 1
    k = 0
    for o in node_outputs:
        if not o:
            continue
        with open(os.path.join(data_dir, f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(results[o], o).SerializeToString())
        k += 1
    print(f"{name}: {op} {direction} layout={layout} outputs={node_outputs}")


def main():
    make_case("rnnc_lstm_random", "LSTM", 5, 3, 4, 3, seed=1)
    make_case("rnnc_lstm_peepholes_random", "LSTM", 5, 3, 4, 3, seed=2, peepholes=True, seq_lens=[5, 5, 5])
    make_case("rnnc_lstm_seq_lens", "LSTM", 5, 4, 3, 4, seed=3, peepholes=True, seq_lens=[5, 2, 3, 1])
    make_case("rnnc_lstm_bidirectional_batchwise", "LSTM", 4, 3, 3, 2, seed=4, direction="bidirectional",
              layout=1, peepholes=True, seq_lens=[4, 1, 3])
    make_case("rnnc_gru_random", "GRU", 5, 3, 4, 3, seed=5, lbr=0)
    make_case("rnnc_gru_linear_before_reset_random", "GRU", 5, 3, 4, 3, seed=6, lbr=1)
    make_case("rnnc_gru_reverse_seq_lens", "GRU", 5, 3, 2, 4, seed=7, lbr=1, direction="reverse", seq_lens=[3, 5, 1])
    make_case("rnnc_rnn_random", "RNN", 5, 3, 4, 3, seed=8, w_scale=0.4)
    make_case("rnnc_rnn_relu_bidirectional", "RNN", 4, 2, 3, 3, seed=9, w_scale=0.4, direction="bidirectional",
              activation="Relu", seq_lens=[4, 2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
