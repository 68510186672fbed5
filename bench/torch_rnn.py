#!/usr/bin/python3
"""PyTorch eager anchor of rnnc's benchmark (see bench/anchors.h for what is timed).

Prints exactly one JSON line on stdout: {"forward_ms": <median ms or null>, "train_ms": <median ms or null>}
(plus "note" when there is something to say). Default torch thread settings: torch 1.13 runs 1 intra-op thread
while its BLAS may use more; setting more torch threads on a 2-core machine oversubscribes.

  forward: model.eval(), torch.no_grad(), out = model(x) with x [seq, batch, input], zero initial states.
  train:   model.train(), x.requires_grad, out = model(x); out.backward(ones) (grads set to None before each step,
           outside the timed region; no optimizer step).

Cells: lstm, gru, rnn-tanh, rnn-relu (torch.nn.LSTM / GRU / RNN, time-major) and layernorm-lstm, a Python loop over
time of a layer-norm LSTM cell, the eager reference for rnnc's layer-norm LSTM:
  gates = LN(x W_ih^T) + LN(h W_hh^T)  (LN over the 4H gates, with affine; no linear biases)
  i, f, g, o = split(gates, 4);  c' = LN(sigmoid(f) * c + sigmoid(i) * tanh(g));  h' = sigmoid(o) * tanh(c')
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


class LayerNormLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.w_ih = nn.Linear(input_size, 4 * hidden_size, bias=False)
        self.w_hh = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        self.ln_ih = nn.LayerNorm(4 * hidden_size)
        self.ln_hh = nn.LayerNorm(4 * hidden_size)
        self.ln_c = nn.LayerNorm(hidden_size)

    def forward(self, x, h, c):
        gates = self.ln_ih(self.w_ih(x)) + self.ln_hh(self.w_hh(h))
        i, f, g, o = gates.chunk(4, 1)
        c = self.ln_c(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g))
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class LayerNormLSTM(nn.Module):
    """Stacked, unidirectional, time-major; returns (outputs of the last layer [T, B, H], None)."""

    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.hidden_size = hidden_size
        self.cells = nn.ModuleList(
            LayerNormLSTMCell(input_size if l == 0 else hidden_size, hidden_size) for l in range(num_layers))

    def forward(self, x):
        for cell in self.cells:
            h = x.new_zeros(x.shape[1], self.hidden_size)
            c = x.new_zeros(x.shape[1], self.hidden_size)
            outs = []
            for t in range(x.shape[0]):
                h, c = cell(x[t], h, c)
                outs.append(h)
            x = torch.stack(outs)
        return x, None


def build(cell, input_size, hidden_size, layers):
    if cell == "lstm":
        return nn.LSTM(input_size, hidden_size, num_layers=layers)
    if cell == "gru":
        return nn.GRU(input_size, hidden_size, num_layers=layers)
    if cell in ("rnn-tanh", "rnn-relu"):
        return nn.RNN(input_size, hidden_size, num_layers=layers, nonlinearity=cell[4:])
    if cell == "layernorm-lstm":
        return LayerNormLSTM(input_size, hidden_size, layers)
    return None


def blas_note():
    """A warning when torch's GEMM is far too slow, as with Debian's netlib reference libblas3 when OpenBLAS is not
    installed (~3.5 GFLOP/s: nn.LSTM runs ~40x slower and the anchor would be a straw man). None when all is well."""
    n = 512
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(3))
    gflops = 2 * n ** 3 / best / 1e9
    if gflops >= 10:
        return None
    return ("torch sgemm runs at %.1f GFLOP/s (netlib reference BLAS? install libopenblas0-pthread): "
            "timings not representative" % gflops)


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def median_ms(step, warmup, repeats, before=None):
    for _ in range(warmup):
        if before:
            before()
        step()
    times = []
    for _ in range(max(1, repeats)):
        if before:
            before()
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", required=True)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--input", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--skip-train", action="store_true")
    a = p.parse_args()

    torch.manual_seed(0)
    model = build(a.cell, a.input, a.hidden, a.layers)
    if model is None:
        print(json.dumps({"forward_ms": None, "train_ms": None, "note": "unknown cell " + a.cell}))
        return 0
    x = torch.randn(a.seq, a.batch, a.input)

    model.eval()
    with torch.no_grad():
        fwd = median_ms(lambda: model(x), a.warmup, a.repeats)

    trn = None
    if not a.skip_train:
        model.train()
        xg = x.clone().requires_grad_(True)
        ones = torch.ones(a.seq, a.batch, a.hidden)

        def clear():
            model.zero_grad(set_to_none=True)
            xg.grad = None

        def step():
            out, _ = model(xg)
            out.backward(ones)

        trn = median_ms(step, a.warmup, a.repeats, before=clear)
        missing = [n for n, q in model.named_parameters() if q.grad is None]
        if missing or xg.grad is None:
            raise SystemExit("torch_rnn.py: no gradient for " + ", ".join(missing or ["x"]))

    result = {"forward_ms": fwd, "train_ms": trn}
    note = blas_note()
    if note:
        result["note"] = note
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
