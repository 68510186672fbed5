#!/usr/bin/env python3
"""Exports PyTorch recurrent models to ONNX backend test cases, for `rnnc onnx-test` (run by CTest).

    /usr/bin/python3 tests/onnx/export_torch_cases.py OUT_DIR        # writes OUT_DIR/<case>/...
    /usr/bin/python3 tests/onnx/export_torch_cases.py --list         # the case names (no torch needed)

Each case is nn.LSTM / nn.GRU / nn.RNN (1-3 layers, bidirectional or not, batch_first or not, with or
without given initial states), sometimes with an embedding in front and a head behind, exported with
torch.onnx.export at opset 14: model.onnx plus test_data_set_0/input_K.pb and output_K.pb holding the
inputs and what PyTorch computed from them. Cases exported with dynamic_axes get test data of another
batch size and length than the export example, so symbolic dims are exercised.

Exits 77 (CTest's skip code) with a message when torch or onnx cannot be imported.
"""
import os
import sys

# name: (kind, input, hidden, layers, bidirectional, batch_first, extras)
CASES = {
    "torch_lstm_1layer": ("LSTM", 5, 7, 1, False, False, {}),
    "torch_lstm_2layer_bidir_batchfirst": ("LSTM", 8, 16, 2, True, True, {}),
    "torch_lstm_3layer_h0_head": ("LSTM", 4, 6, 3, False, False, {"h0": True, "head": "last_step"}),
    "torch_lstm_hidden1": ("LSTM", 3, 1, 1, False, True, {}),
    "torch_lstm_dynamic_axes": ("LSTM", 5, 10, 2, True, True, {"dynamic": True}),
    "torch_gru_1layer_batchfirst_h0": ("GRU", 6, 9, 1, False, True, {"h0": True}),
    "torch_gru_2layer_bidir": ("GRU", 3, 5, 2, True, False, {}),
    "torch_gru_3layer_bidir_batchfirst": ("GRU", 7, 4, 3, True, True, {}),
    "torch_gru_dynamic_softmax_head": ("GRU", 4, 6, 1, False, True, {"dynamic": True, "head": "softmax"}),
    "torch_rnn_tanh_2layer": ("RNN", 5, 8, 2, False, False, {}),
    "torch_rnn_relu_3layer_bidir_batchfirst_h0": ("RNN", 4, 3, 3, True, True, {"relu": True, "h0": True}),
    "torch_embedding_lstm_classifier": ("LSTM", 6, 8, 2, True, False, {"embedding": 20, "head": "classifier"}),
    "torch_embedding_gru_batchfirst_tagger": ("GRU", 6, 8, 1, True, True, {"embedding": 15, "head": "per_step"}),
    "torch_projection_lstm_batchfirst": ("LSTM", 5, 6, 2, False, True, {"projection": 7}),
}


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
        import torch
        from onnx import numpy_helper
    except ImportError as e:
        print(f"SKIP: cannot import {e.name} ({e}); install python3-torch and python3-onnx")
        return 77

    out_root = sys.argv[1]
    names = sys.argv[2:] or list(CASES)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    class Net(torch.nn.Module):
        def __init__(self, kind, inp, hidden, layers, bidir, batch_first, extras):
            super().__init__()
            self.kind, self.extras, self.batch_first = kind, extras, batch_first
            self.dirs = 2 if bidir else 1
            if "embedding" in extras:
                self.emb = torch.nn.Embedding(extras["embedding"], inp)
            if "projection" in extras:
                self.proj = torch.nn.Linear(extras["projection"], inp)
            kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first)
            if kind == "RNN":
                kw["nonlinearity"] = "relu" if extras.get("relu") else "tanh"
            self.rnn = getattr(torch.nn, kind)(inp, hidden, **kw)
            head = extras.get("head")
            if head == "last_step":
                self.fc = torch.nn.Linear(hidden * self.dirs, 3)
            elif head == "softmax":
                self.fc = torch.nn.Linear(hidden * self.dirs, 4)
            elif head == "classifier":
                self.fc = torch.nn.Linear(hidden * 2, 3)
            elif head == "per_step":
                self.fc = torch.nn.Linear(hidden * self.dirs, 5)

        def forward(self, x, *state):
            if "embedding" in self.extras:
                x = self.emb(x)
            if "projection" in self.extras:
                x = torch.relu(self.proj(x))
            if self.kind == "LSTM" and state:
                y, (h, c) = self.rnn(x, (state[0], state[0] * 0.5))
                finals = [h, c]
            elif state:
                y, h = self.rnn(x, state[0])
                finals = [h]
            else:
                y, hc = self.rnn(x)
                finals = list(hc) if self.kind == "LSTM" else [hc]
            head = self.extras.get("head")
            if head == "last_step":
                last = y[:, -1] if self.batch_first else y[-1]
                return (self.fc(last), finals[0])
            if head == "softmax":
                return (torch.softmax(self.fc(y), dim=-1), finals[0])
            if head == "per_step":
                return (self.fc(y), finals[0])
            if head == "classifier":
                h = finals[0]
                return (torch.log_softmax(self.fc(torch.cat([h[-2], h[-1]], dim=1)), dim=1),)
            return (y, *finals)

    for name in names:
        kind, inp, hidden, layers, bidir, batch_first, extras = CASES[name]
        net = Net(kind, inp, hidden, layers, bidir, batch_first, extras).eval()
        dirs = 2 if bidir else 1

        def make_inputs(batch, time):
            if "embedding" in extras:
                shape = (batch, time) if batch_first else (time, batch)
                x = torch.randint(0, extras["embedding"], shape, dtype=torch.int64)
            else:
                features = extras.get("projection", inp)
                x = torch.randn((batch, time, features) if batch_first else (time, batch, features))
            args = [x]
            if extras.get("h0"):
                args.append(torch.randn(layers * dirs, batch, hidden))
            return args

        example = make_inputs(2, 4)
        input_names = ["x"] + (["h0"] if extras.get("h0") else [])
        with torch.no_grad():
            n_out = len(net(*example))
        output_names = ["out%d" % k for k in range(n_out)]
        dynamic_axes = None
        if extras.get("dynamic"):
            bt = {0: "batch", 1: "time"} if batch_first else {0: "time", 1: "batch"}
            dynamic_axes = {"x": bt}
            if extras.get("h0"):
                dynamic_axes["h0"] = {1: "batch"}
        case_dir = os.path.join(out_root, name)
        data_dir = os.path.join(case_dir, "test_data_set_0")
        os.makedirs(data_dir, exist_ok=True)
        torch.onnx.export(net, tuple(example), os.path.join(case_dir, "model.onnx"), opset_version=14,
                          input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)
        inputs = make_inputs(3, 7) if extras.get("dynamic") else example
        with torch.no_grad():
            outputs = net(*inputs)
        for k, (n, t) in enumerate(zip(input_names, inputs)):
            with open(os.path.join(data_dir, "input_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(t.numpy(), n).SerializeToString())
        for k, (n, t) in enumerate(zip(output_names, outputs)):
            with open(os.path.join(data_dir, "output_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(t.numpy().astype(np.float32), n).SerializeToString())
        onnx.checker.check_model(onnx.load(os.path.join(case_dir, "model.onnx")))
        print("wrote", case_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
