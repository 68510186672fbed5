#!/usr/bin/env python3
"""rnnc (gpu_bench, AOT-compiled) against PyTorch on the same device: training-step times and their ratios.

For every workload `gpu_bench --list` names, times one training step (forward + backward of all layers,
upstream gradient of ones for the last layer's outputs, full-length sequences) in rnnc and in PyTorch:
torch.nn.LSTM / nn.GRU (cuDNN on cuda) and, for the layer-norm LSTM, PyTorch eager (bench/torch_rnn.py's
LayerNormLSTM, the same cell). rnnc runs twice: launching kernel by kernel (with a per-kernel profile), and as
CUDA graphs (gpu_bench --graphs; cuda only). Prints the profiles, then the table of ratios last; the
ratio takes rnnc's faster way.

  gpu_compare.py --bench BUNDLE/bin/gpu_bench [--device cuda] [--repeats N] [--budget-s S]
                                           (--budget-s: start no workload after S seconds; the table
                                           of those timed still prints, the rest are named, exit 1)
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


def time_rnnc(bench, w, device, repeats, warmup, dry_run, profile, graphs=False):
    cmd = [bench, "--device", device, "--time", "--only", w["workload"], "--repeats", str(repeats),
           "--warmup", str(warmup), "--seq", str(w["seq"]), "--batch", str(w["batch"])]
    if profile:
        cmd.append("--profile")
    if graphs:
        cmd.append("--graphs")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:], []
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    comments = [line for line in r.stdout.splitlines() if line.startswith("#")]
    if "issue_ms" in rows[0]:
        # Near train_ms, the host's cost per launch bounds the step, not the GPU.
        comments.append("# %s%s: the host queued the step's kernels in %.3f ms of %.3f ms" % (
            w["workload"], " (graphs)" if graphs else "", rows[0]["issue_ms"], rows[0]["train_ms"]))
    return rows[0]["train_ms"], None, comments


def time_torch(torch_rnn, w, device, repeats, warmup, tf32=True):
    """PyTorch's training step. tf32: PyTorch's default, under which cuDNN may run the RNN's matrix
    products on TF32 tensor cores (10-bit mantissa); False holds it to f32, as rnnc computes."""
    import torch
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = False
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
    p.add_argument("--budget-s", type=float, help="start no workload after this many seconds (the table of "
                   "those done still prints; gpu-check.sh runs this script under a timeout)")
    a = p.parse_args()
    start = time.time()

    torch_rnn = load_torch_rnn()
    import torch
    device = "cpu" if a.dry_run else a.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_compare.py: torch sees no CUDA device (torch %s)" % torch.__version__)
    repeats, warmup = (1, 0) if a.dry_run else (a.repeats, a.warmup)
    gpu_name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print("# torch %s, cuDNN %s, device %s" % (torch.__version__, torch.backends.cudnn.version(), gpu_name))

    rows = []
    skipped = []
    for w in workloads(a.bench):
        if a.only and w["workload"] not in a.only:
            continue
        if a.budget_s is not None and time.time() - start > a.budget_s:
            skipped.append(w["workload"])
            continue
        if a.dry_run:
            w = dict(w, seq=3, batch=min(w["batch"], 4))
        t0 = time.time()
        rnnc_ms, error, comments = time_rnnc(a.bench, w, device, repeats, warmup, a.dry_run, True)
        graph_ms, graph_error = None, None
        if device == "cuda":
            graph_ms, graph_error, graph_comments = time_rnnc(a.bench, w, device, repeats, warmup, a.dry_run, True,
                                                              graphs=True)
            comments += graph_comments
            if graph_error:
                comments.append("# %s: CUDA graphs failed: %s" % (w["workload"], graph_error))
        torch_ms, kind = time_torch(torch_rnn, w, device, repeats, warmup)
        strict_ms = None
        if kind == "cuDNN":
            strict_ms, _ = time_torch(torch_rnn, w, device, repeats, warmup, tf32=False)
        for c in comments:
            print(c)
        print("# %s: rnnc %s, graphs %s, torch (%s) %.3f ms, without TF32 %s (%.1f s)" % (
            w["workload"], "%.3f ms" % rnnc_ms if rnnc_ms is not None else "failed: %s" % error,
            "%.3f ms" % graph_ms if graph_ms is not None else "-", kind, torch_ms,
            "%.3f ms" % strict_ms if strict_ms is not None else "-", time.time() - t0))
        sys.stdout.flush()
        rows.append((w, rnnc_ms, graph_ms, torch_ms, strict_ms, kind, error))

    print()
    print("rnnc vs PyTorch, training step (forward + backward), f32, device: %s%s" % (
        gpu_name, " (DRY RUN: CPU, tiny shapes, 1 repeat; not a measurement)" if a.dry_run else ""))
    name_width = max([14] + [len(r[0]["workload"]) for r in rows])
    head = "%-*s %-15s %6s %5s %6s %6s %12s %12s %12s %-6s %12s %8s %8s  %s" % (
        name_width, "workload", "cell", "layers", "batch", "seq", "hidden", "rnnc ms", "graphs ms", "torch ms", "torch",
        "no-TF32 ms", "ratio", "ratio32", "target")
    print(head)
    print("-" * len(head))
    failed = False
    for w, rnnc_ms, graph_ms, torch_ms, strict_ms, kind, error in rows:
        best = min(t for t in (rnnc_ms, graph_ms, float("inf")) if t is not None)
        ratio = best / torch_ms if best != float("inf") and torch_ms > 0 else None
        ratio32 = best / strict_ms if best != float("inf") and strict_ms else None
        target = ""
        if w["workload"] in TARGETS and ratio is not None and not a.dry_run:
            text, ok = TARGETS[w["workload"]]
            target = "%s: %s" % (text, "met" if ok(ratio) else "NOT met")
        print("%-*s %-15s %6d %5d %6d %6d %12s %12s %12.3f %-6s %12s %8s %8s  %s" % (
            name_width, w["workload"], w["cell"], w["layers"], w["batch"], w["seq"], w["hidden"],
            "%.3f" % rnnc_ms if rnnc_ms is not None else "failed",
            "%.3f" % graph_ms if graph_ms is not None else "-", torch_ms, kind,
            "%.3f" % strict_ms if strict_ms is not None else "-",
            "%.2fx" % ratio if ratio is not None else "-", "%.2fx" % ratio32 if ratio32 is not None else "-", target))
        failed |= rnnc_ms is None
    print("ratio = rnnc's faster time (kernel by kernel, or CUDA graphs) / PyTorch time (below 1: rnnc faster);")
    print("ratio32 = the same against cuDNN held to f32 (torch.backends.cudnn.allow_tf32 = False; rnnc computes in f32)")
    if skipped:
        print("NOT timed (the budget of %.0f s was spent): %s" % (a.budget_s, " ".join(skipped)))
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
