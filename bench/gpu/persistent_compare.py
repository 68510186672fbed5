#!/usr/bin/env python3
"""The persistent-scan probe against cuDNN: one LSTM layer, forward and backward, T 200, B 64, H 128.

gpu_bench --persistent-probe runs one LSTM layer's whole recurrence, forward and backward, as one kernel each
(persistent_lstm_generator.cpp; the GEMMs outside the recurrence are left out) at 1, 2 and 4 batch rows a block;
this times torch.nn.LSTM (one layer, input 128, hidden 128, time-major; cuDNN on cuda, GEMMs included) forward
under torch.no_grad and a training step in the same run, with and without TF32, and prints the ratios last. What it answers: what a step
costs when a kernel does not end with it (rnnc launches one kernel a step; 2026-11-27, H200: 15-17 us a step).

  persistent_compare.py --bench BUNDLE/bin/gpu_bench [--device cuda] [--repeats N]
  persistent_compare.py --bench ... --dry-run     CPU, T 8, one repeat: the plumbing only, not a measurement
"""
import argparse
import json
import subprocess
import sys

from gpu_compare import load_torch_rnn, time_torch  # beside this file, in the tree and in the bundle


def time_cudnn(torch_rnn, device, seq, batch, hidden, repeats, warmup, tf32):
    """torch.nn.LSTM(hidden, hidden, 1): (forward ms under no_grad, training step ms: forward + backward with
    an upstream gradient of ones, timed as gpu_compare.py times PyTorch's)."""
    import torch
    w = {"cell": "lstm", "input": hidden, "hidden": hidden, "layers": 1, "seq": seq, "batch": batch}
    train_ms, _ = time_torch(torch_rnn, w, device, repeats, warmup, tf32=tf32)
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    model = torch_rnn.build("lstm", hidden, hidden, 1).to(device).eval()
    x = torch.randn(seq, batch, hidden, device=device)

    def forward():
        with torch.no_grad():
            model(x)
        if device == "cuda":
            torch.cuda.synchronize()

    return torch_rnn.median_ms(forward, warmup, repeats), train_ms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", required=True, help="gpu_bench binary")
    p.add_argument("--device", default="cuda", choices=["cuda"], help="cuda (--dry-run: the CPU)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args()
    device = "cpu" if a.dry_run else a.device
    seq, batch, repeats, warmup = (8, 64, 1, 0) if a.dry_run else (200, 64, a.repeats, 3)
    r = subprocess.run([a.bench, "--device", device, "--persistent-probe", "--seq", str(seq), "--batch", str(batch),
                        "--repeats", str(repeats), "--warmup", str(max(1, warmup))], capture_output=True, text=True)
    probes = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0:
        # A failed check still prints its line (and the table below); anything else, the output.
        print("persistent_compare.py: gpu_bench --persistent-probe exited %d: %s" % (
            r.returncode, (r.stderr.strip() + "\n" + r.stdout.strip()).strip()[-2000:]))
    if not probes:
        return 1
    hidden = probes[0]["hidden"]
    torch_rnn = load_torch_rnn()
    cudnn = time_cudnn(torch_rnn, device, seq, batch, hidden, repeats, warmup, tf32=True)
    cudnn32 = time_cudnn(torch_rnn, device, seq, batch, hidden, repeats, warmup, tf32=False) if device == "cuda" else None
    # The anchor a direction is read against: the forward, or the training step less the forward.
    anchor = {"forward": lambda t: t[0], "backward": lambda t: t[1] - t[0]}
    print()
    print("persistent-scan probe vs %s, one LSTM layer, T %d, B %d, H %d%s" % (
        "cuDNN" if device == "cuda" else "torch", seq, batch, hidden,
        " (DRY RUN: CPU, not a measurement)" if a.dry_run else ""))
    print("# %s: forward %.3f ms, training step %.3f ms%s" % (
        "cuDNN" if device == "cuda" else "torch", cudnn[0], cudnn[1],
        "; without TF32: %.3f and %.3f ms" % cudnn32 if cudnn32 else ""))
    head = "%-32s %-9s %5s %6s %10s %11s %9s %10s %12s %8s %8s" % (
        "probe", "direction", "rows", "blocks", "probe ms", "us a step", "check", "torch ms", "no-TF32 ms", "ratio",
        "ratio32")
    print(head)
    print("-" * len(head))
    for q in probes:
        t = anchor[q["direction"]](cudnn)
        t32 = anchor[q["direction"]](cudnn32) if cudnn32 else None
        print("%-32s %-9s %5d %6d %10.3f %11.2f %9s %10.3f %12s %8s %8s" % (
            q["probe"], q["direction"], q["rows"], q["blocks"], q["ms"], q["us_per_step"], q["check"], t,
            "%.3f" % t32 if t32 else "-", "%.2fx" % (q["ms"] / t) if t > 0 else "-",
            "%.2fx" % (q["ms"] / t32) if t32 and t32 > 0 else "-"))
    best = {d: min(q["ms"] for q in probes if q["direction"] == d) for d in anchor if any(
        q["direction"] == d for q in probes)}
    if len(best) == 2:
        print("fastest forward + fastest backward: %.3f ms, against the training step's %.3f ms (%.2fx)" % (
            best["forward"] + best["backward"], cudnn[1], (best["forward"] + best["backward"]) / cudnn[1]))
    print("ratio = probe ms / torch ms (below 1: the probe faster); torch ms = the forward, or for the backward the")
    print("training step less the forward. The probe leaves out the GEMMs outside the recurrence (the input")
    print("projection; the weight and input gradients), which torch's times include; ratio32 against cuDNN in f32")
    return 0 if r.returncode == 0 and all(q["check"] == "ok" for q in probes) else 1


if __name__ == "__main__":
    sys.exit(main())
