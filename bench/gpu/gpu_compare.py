#!/usr/bin/env python3
"""rnnc (gpu_bench, AOT-compiled) against PyTorch on the same device: training-step times and their ratios.

For every workload `gpu_bench --list` names, times one training step (forward + backward of all layers,
upstream gradient of ones for the last layer's outputs, full-length sequences) in rnnc and in PyTorch:
torch.nn.LSTM / nn.GRU (cuDNN on cuda) and, for the layer-norm LSTM, PyTorch eager (bench/torch_rnn.py's
LayerNormLSTM, the same cell). Prints rnnc's per-kernel profile of every workload, then the table of ratios last.

  gpu_compare.py --bench BUNDLE/bin/gpu_bench [--device cuda] [--repeats N]
  gpu_compare.py --bench ... --dry-run     CPU, tiny shapes, one repeat: checks this script's plumbing
                                           (both sides run, the table prints) without a GPU
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The targets, by workload: (what the ratio is, bound).
TARGETS = {
    "S": ("rnnc/cuDNN <= 1.5 (goal 1.0)", lambda r: r <= 1.5),
    "S-layernorm": ("eager/rnnc >= 5", lambda r: 1 / r >= 5),
}


def load_torch_rnn():
    """bench/torch_rnn.py (beside this file in the bundle, one level up in the source tree)."""
    for path in (os.path.join(HERE, "torch_rnn.py"), os.path.join(HERE, "..", "torch_rnn.py")):
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location("torch_rnn", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SystemExit("gpu_compare.py: torch_rnn.py not found next to this script or in its parent")


def workloads(bench):
    out = subprocess.run([bench, "--list"], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def time_rnnc(bench, w, device, repeats, warmup, dry_run, profile):
    cmd = [bench, "--device", device, "--time", "--only", w["workload"], "--repeats", str(repeats),
           "--warmup", str(warmup), "--seq", str(w["seq"]), "--batch", str(w["batch"])]
    if profile:
        cmd.append("--profile")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:], []
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    comments = [line for line in r.stdout.splitlines() if line.startswith("#")]
    if "issue_ms" in rows[0]:
        # Near train_ms, the host's cost per launch bounds the step, not the GPU.
        comments.append("# %s: the host queued the step's kernels in %.3f ms of %.3f ms" % (
            w["workload"], rows[0]["issue_ms"], rows[0]["train_ms"]))
    return rows[0]["train_ms"], None, comments


def time_torch(torch_rnn, w, device, repeats, warmup):
    import torch
    torch.manual_seed(0)
    model = torch_rnn.build(w["cell"], w["input"], w["hidden"], w["layers"]).to(device)
    model.train()
    x = torch.randn(w["seq"], w["batch"], w["input"], device=device, requires_grad=True)
    ones = torch.ones(w["seq"], w["batch"], w["hidden"], device=device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def step():
        model.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = model(x)
        out.backward(ones)
        sync()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    kind = "eager" if w["cell"] == "layernorm-lstm" else ("cuDNN" if device == "cuda" else "torch")
    return statistics.median(times), kind


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", required=True, help="gpu_bench binary")
    p.add_argument("--device", default="cuda")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--only", action="append", help="workload name (repeatable); default all")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args()

    torch_rnn = load_torch_rnn()
    import torch
    device = "cpu" if a.dry_run else a.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_compare.py: torch sees no CUDA device (torch %s)" % torch.__version__)
    repeats, warmup = (1, 0) if a.dry_run else (a.repeats, a.warmup)
    gpu_name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print("# torch %s, cuDNN %s, device %s" % (torch.__version__, torch.backends.cudnn.version(), gpu_name))

    rows = []
    for w in workloads(a.bench):
        if a.only and w["workload"] not in a.only:
            continue
        if a.dry_run:
            w = dict(w, seq=3, batch=min(w["batch"], 4))
        t0 = time.time()
        rnnc_ms, error, comments = time_rnnc(a.bench, w, device, repeats, warmup, a.dry_run, True)
        torch_ms, kind = time_torch(torch_rnn, w, device, repeats, warmup)
        for c in comments:
            print(c)
        print("# %s: rnnc %s, torch (%s) %.3f ms (%.1f s)" % (
            w["workload"], "%.3f ms" % rnnc_ms if rnnc_ms is not None else "failed: %s" % error, kind, torch_ms,
            time.time() - t0))
        sys.stdout.flush()
        rows.append((w, rnnc_ms, torch_ms, kind, error))

    print()
    print("rnnc vs PyTorch, training step (forward + backward), f32, device: %s%s" % (
        gpu_name, " (DRY RUN: CPU, tiny shapes, 1 repeat; not a measurement)" if a.dry_run else ""))
    head = "%-12s %-15s %6s %5s %6s %6s %12s %12s %-6s %8s  %s" % (
        "workload", "cell", "layers", "batch", "seq", "hidden", "rnnc ms", "torch ms", "torch", "ratio", "target")
    print(head)
    print("-" * len(head))
    failed = False
    for w, rnnc_ms, torch_ms, kind, error in rows:
        ratio = rnnc_ms / torch_ms if rnnc_ms is not None and torch_ms > 0 else None
        target = ""
        if w["workload"] in TARGETS and ratio is not None and not a.dry_run:
            text, ok = TARGETS[w["workload"]]
            target = "%s: %s" % (text, "met" if ok(ratio) else "NOT met")
        print("%-12s %-15s %6d %5d %6d %6d %12s %12.3f %-6s %8s  %s" % (
            w["workload"], w["cell"], w["layers"], w["batch"], w["seq"], w["hidden"],
            "%.3f" % rnnc_ms if rnnc_ms is not None else "failed", torch_ms, kind,
            "%.2fx" % ratio if ratio is not None else "-", target))
        failed |= rnnc_ms is None
    print("ratio = rnnc time / PyTorch time (below 1: rnnc faster)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
