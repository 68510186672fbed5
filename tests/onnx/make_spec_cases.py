#!/usr/bin/env python3
"""Writes ONNX backend test cases for the RNN / LSTM / GRU attributes the official node tests leave out:
clip, the optional activation functions with activation_alpha / activation_beta, input_forget,
linear_before_reset with other activations, layout 1 with initial states, reverse and bidirectional
directions with sequence_lens, and weights given as initializers. Run by CTest into the build tree:

    /usr/bin/python3 tests/onnx/make_spec_cases.py OUT_DIR      # writes OUT_DIR/<case>/...
    /usr/bin/python3 tests/onnx/make_spec_cases.py --list       # the case names

Expected outputs come from a float64 numpy implementation of the operator spec written here. With ONNX's
default activations and no clip it must agree with ONNX's own reference helpers (through
generate_cases.reference, which composes them for sequence_lens, directions and layout); the script
checks that first on every case shape, so the equations below are pinned to ONNX's before they are
trusted with what the helpers cannot do. Where the spec is silent, onnxruntime's reading is taken:
activation_alpha/beta are consumed in order by the activations that take parameters (missing ones are
the ONNX operator's defaults), input_forget couples the gates as f = 1 - i, and clip applies to the input
of every activation, h's included (the cell state itself is not clipped).

Exits 77 (CTest's skip code) when numpy or onnx cannot be imported.
"""
import os
import sys
import zlib

# name: (op, dict of attributes and options)
CASES = {
    "spec_lstm_clip": ("LSTM", dict(clip=0.3, seq=5, batch=3, inp=4, hidden=5, scale=2.0)),
    "spec_lstm_activations_bidir_peepholes": ("LSTM", dict(
        direction="bidirectional", peepholes=True, initial=True, seq_lens=True,
        activations=["HardSigmoid", "LeakyRelu", "Softsign", "Sigmoid", "Elu", "Softplus"],
        activation_alpha=[0.3, 0.05, 0.8], activation_beta=[0.4])),
    "spec_lstm_input_forget_layout1_reverse": ("LSTM", dict(
        input_forget=1, layout=1, direction="reverse", initial=True, seq_lens=True, peepholes=True)),
    "spec_lstm_affine_scaledtanh_clip_initializers": ("LSTM", dict(
        activations=["Sigmoid", "ScaledTanh", "Affine"], activation_alpha=[0.9, 0.7], activation_beta=[1.3, 0.1],
        clip=1.5, initializers=True, initial=True)),
    "spec_gru_lbr_clip_activations_bidir": ("GRU", dict(
        linear_before_reset=1, clip=0.8, direction="bidirectional", initial=True, seq_lens=True,
        activations=["HardSigmoid", "Softsign", "Sigmoid", "Tanh"], scale=1.5)),
    "spec_gru_reset_before_layout1_initializers": ("GRU", dict(
        layout=1, activations=["Sigmoid", "Relu"], initial=True, initializers=True)),
    "spec_rnn_activations_bidir": ("RNN", dict(
        direction="bidirectional", activations=["ThresholdedRelu", "LeakyRelu"], activation_alpha=[0.1],
        initial=True, seq_lens=True)),
    "spec_rnn_elu_softplus_reverse_layout1": ("RNN", dict(
        direction="reverse", layout=1, activations=["Elu"], activation_alpha=[0.5], initial=True)),
    "spec_rnn_softplus_clip": ("RNN", dict(activations=["Softplus"], clip=0.7, scale=2.0)),
}

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
# Activations taking parameters: (count, default alpha, default beta), the ONNX operators' defaults.
PARAMS = {"Affine": (2, 1.0, 0.0), "LeakyRelu": (1, 0.01, 0.0), "ThresholdedRelu": (1, 1.0, 0.0),
          "ScaledTanh": (2, 1.0, 1.0), "HardSigmoid": (2, 0.2, 0.5), "Elu": (1, 1.0, 0.0)}


def activation_functions(np, names, alphas, betas):
    fns = {
        "Relu": lambda x, a, b: np.maximum(x, 0),
        "Tanh": lambda x, a, b: np.tanh(x),
        "Sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
        "Affine": lambda x, a, b: a * x + b,
        "LeakyRelu": lambda x, a, b: np.where(x >= 0, x, a * x),
        "ThresholdedRelu": lambda x, a, b: np.where(x > a, x, 0.0),
        "ScaledTanh": lambda x, a, b: a * np.tanh(b * x),
        "HardSigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
        "Elu": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(np.minimum(x, 0)) - 1)),
        "Softsign": lambda x, a, b: x / (1 + np.abs(x)),
        "Softplus": lambda x, a, b: np.logaddexp(0, x),
    }
    alphas, betas = list(alphas), list(betas)
    out = []
    for n in names:
        count, a, b = PARAMS.get(n, (0, 0.0, 0.0))
        if count >= 1 and alphas:
            a = alphas.pop(0)
        if count >= 2 and betas:
            b = betas.pop(0)
        out.append(lambda x, f=fns[n], a=a, b=b: f(x, a, b))
    assert not alphas and not betas, "alpha/beta values left over"
    return out


def reference(np, op, X, W, R, B, P, h0, c0, seq_lens, direction, lbr, acts, clip, input_forget):
    """Layout-0 float64 arrays in; (Y [S, dirs, batch, H], Y_h, Y_c [dirs, batch, H]) out."""
    S, batch, _ = X.shape
    dirs, H = W.shape[0], R.shape[-1]
    G = GATES[op]
    per = len(DEFAULT_ACTS[op])
    clipf = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
    Y = np.zeros((S, dirs, batch, H))
    Y_h = np.zeros((dirs, batch, H))
    Y_c = np.zeros((dirs, batch, H))
    for d in range(dirs):
        act = [lambda v, f=f: f(clipf(v)) for f in acts[d * per:(d + 1) * per]]
        Wd, Rd, Wb, Rb = W[d], R[d], B[d, :G * H], B[d, G * H:]
        blk = lambda m, k: m[k * H:(k + 1) * H]
        reverse = direction == "reverse" or d == 1
        for b in range(batch):
            L = int(seq_lens[b])
            steps = range(L - 1, -1, -1) if reverse else range(L)
            h, c = h0[d, b], c0[d, b]
            for t in steps:
                x = X[t, b]
                if op == "LSTM":
                    pre = [x @ blk(Wd, k).T + h @ blk(Rd, k).T + blk(Wb, k) + blk(Rb, k) for k in range(4)]
                    p_i, p_o, p_f = P[d, :H], P[d, H:2 * H], P[d, 2 * H:]
                    i = act[0](pre[0] + p_i * c)
                    f = 1 - i if input_forget else act[0](pre[2] + p_f * c)
                    g = act[1](pre[3])
                    c = f * c + i * g
                    o = act[0](pre[1] + p_o * c)
                    h = o * act[2](c)
                elif op == "GRU":
                    z = act[0](x @ blk(Wd, 0).T + h @ blk(Rd, 0).T + blk(Wb, 0) + blk(Rb, 0))
                    r = act[0](x @ blk(Wd, 1).T + h @ blk(Rd, 1).T + blk(Wb, 1) + blk(Rb, 1))
                    if lbr:
                        n = act[1](x @ blk(Wd, 2).T + blk(Wb, 2) + r * (h @ blk(Rd, 2).T + blk(Rb, 2)))
                    else:
                        n = act[1](x @ blk(Wd, 2).T + (r * h) @ blk(Rd, 2).T + blk(Rb, 2) + blk(Wb, 2))
                    h = (1 - z) * n + z * h
                else:
                    h = act[0](x @ Wd.T + h @ Rd.T + Wb + Rb)
                Y[t, d, b] = h
            Y_h[d, b], Y_c[d, b] = h, c
    return Y, Y_h, Y_c


def make_case(np, onnx, numpy_helper, helper, name, op, o, out_root):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    S, batch, I, H = o.get("seq", 4), o.get("batch", 3), o.get("inp", 3), o.get("hidden", 4)
    G = GATES[op]
    direction = o.get("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    layout = o.get("layout", 0)
    scale = o.get("scale", 1.0)
    f32 = lambda a: a.astype(np.float32)
    X = f32(rng.normal(size=(S, batch, I)))
    W = f32(rng.uniform(-scale, scale, size=(dirs, G * H, I)) / np.sqrt(H))
    R = f32(rng.uniform(-scale, scale, size=(dirs, G * H, H)) / np.sqrt(H))
    B = f32(rng.uniform(-0.5, 0.5, size=(dirs, 2 * G * H)))
    P = f32(rng.uniform(-0.5, 0.5, size=(dirs, 3 * H))) if o.get("peepholes") else np.zeros((dirs, 3 * H), np.float32)
    h0 = f32(rng.normal(size=(dirs, batch, H)) * 0.5) if o.get("initial") else np.zeros((dirs, batch, H), np.float32)
    c0 = f32(rng.normal(size=(dirs, batch, H)) * 0.5) if o.get("initial") else np.zeros((dirs, batch, H), np.float32)
    seq_lens = np.array([S - (b % S) for b in range(batch)], np.int32) if o.get("seq_lens") else np.full(batch, S, np.int32)
    acts_names = o.get("activations", DEFAULT_ACTS[op] * dirs)
    if len(acts_names) == len(DEFAULT_ACTS[op]) and dirs == 2:
        acts_names = acts_names * 2
    acts = activation_functions(np, acts_names, o.get("activation_alpha", []), o.get("activation_beta", []))
    lbr = o.get("linear_before_reset", 0)
    args = [a.astype(np.float64) for a in (X, W, R, B, P, h0, c0)]
    Y, Y_h, Y_c = reference(np, op, *args, seq_lens, direction, lbr, acts, o.get("clip"), o.get("input_forget", 0))

    # Pin the equations: with the default activations and no clip they must match ONNX's helpers.
    import generate_cases
    plain = activation_functions(np, DEFAULT_ACTS[op] * dirs, [], [])
    Yd, Yhd, _ = reference(np, op, *args, seq_lens, direction, lbr, plain, None, 0)
    Yo, Yho = generate_cases.reference(op, X, W, R, B, P, h0, c0, seq_lens, direction, lbr, "Tanh")
    assert np.allclose(Yd, Yo, atol=1e-6) and np.allclose(Yhd, Yho, atol=1e-6), f"{name}: reference != ONNX helpers"

    # ONNX's layout.
    if layout == 1:
        X_io = np.transpose(X, (1, 0, 2))
        Y, Y_h, Y_c = np.transpose(Y, (2, 0, 1, 3)), np.transpose(Y_h, (1, 0, 2)), np.transpose(Y_c, (1, 0, 2))
        h0_io, c0_io = np.transpose(h0, (1, 0, 2)), np.transpose(c0, (1, 0, 2))
    else:
        X_io, h0_io, c0_io = X, h0, c0

    inputs = [("X", X_io), ("W", W), ("R", R), ("B", B)]
    inputs.append(("sequence_lens", seq_lens) if o.get("seq_lens") else ("", None))
    inputs.append(("initial_h", h0_io) if o.get("initial") else ("", None))
    if op == "LSTM":
        inputs.append(("initial_c", c0_io) if o.get("initial") else ("", None))
        inputs.append(("P", P) if o.get("peepholes") else ("", None))
    while inputs[-1][0] == "":
        inputs.pop()
    outputs = [("Y", Y), ("Y_h", Y_h)] + ([("Y_c", Y_c)] if op == "LSTM" else [])

    attrs = {"hidden_size": H, "direction": direction}
    for key in ("clip", "layout", "input_forget", "linear_before_reset", "activations", "activation_alpha",
                "activation_beta"):
        if key in o:
            attrs[key] = o[key]
    node = helper.make_node(op, [n for n, _ in inputs], [n for n, _ in outputs], name="spec_" + op.lower(), **attrs)
    weights = {"W", "R", "B", "P"} if o.get("initializers") else set()
    elem = lambda a: onnx.TensorProto.INT32 if a.dtype == np.int32 else onnx.TensorProto.FLOAT
    graph_inputs = [helper.make_tensor_value_info(n, elem(a), a.shape) for n, a in inputs if n and n not in weights]
    initializers = [numpy_helper.from_array(a, n) for n, a in inputs if n in weights]
    graph_outputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, a.shape) for n, a in outputs]
    graph = helper.make_graph([node], name, graph_inputs, graph_outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)

    data_dir = os.path.join(out_root, name, "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    onnx.save(model, os.path.join(out_root, name, "model.onnx"))
    k = 0
    for n, a in inputs:
        if n and n not in weights:
            with open(os.path.join(data_dir, "input_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(a, n).SerializeToString())
            k += 1
    for k, (n, a) in enumerate(outputs):
        with open(os.path.join(data_dir, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(a.astype(np.float32), n).SerializeToString())
    print("wrote", os.path.join(out_root, name))


def main():
    if sys.argv[1:] == ["--list"]:
        print(";".join(CASES))
        return 0
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    try:
        import numpy as np
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        print(f"SKIP: cannot import {e.name} ({e}); install python3-numpy and python3-onnx")
        return 77
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    for name in sys.argv[2:] or list(CASES):
        op, o = CASES[name]
        make_case(np, onnx, numpy_helper, helper, name, op, o, sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
