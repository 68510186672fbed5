#!/usr/bin/env bash
# Per-kernel GPU times of rnnc's training step, from NVIDIA Nsight Systems, on the GPU machine: what
# gpu_bench --profile cannot say (it times each Halide pipeline with a device sync around it, so the
# launches inside one step and the host's own overhead are not told apart).
#
#   scripts/gpu-nsys.sh [--bundle DIR] [WORKLOAD...]        (default: S)
#
# Runs the bundle's gpu_bench (scripts/build-gpu-bundle.sh) under `nsys profile` for each workload and
# prints Nsight's summaries: GPU time per kernel, and the CUDA API calls (launch and sync costs on the
# host). Without nsys on the machine it says so and exits 0: the numbers are extra, not a check.
set -uo pipefail
cd "$(dirname "$0")/.."

bundle=build-gpu-bundle
if [ "${1:-}" = "--bundle" ]; then bundle="$2"; shift 2; fi
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(S)

nsys=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys \
       /usr/local/cuda/nsight-systems-*/bin/nsys 2>/dev/null | head -1)
if [ -z "$nsys" ]; then
  echo "gpu-nsys: no nsys (Nsight Systems) on this machine; nothing measured"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -e "$bundle/bin/gpu_bench.gz" ]; then
  gzip -dc "$bundle/bin/gpu_bench.gz" > "$work/gpu_bench"
else
  cp "$bundle/bin/gpu_bench" "$work/gpu_bench"
fi
chmod +x "$work/gpu_bench"

for w in "${workloads[@]}"; do
  echo "== nsys: $w"
  "$nsys" profile -t cuda -s none --cpuctxsw=none -o "$work/$w" --force-overwrite true \
    "$work/gpu_bench" --device cuda --time --only "$w" --repeats 3 --warmup 1 > "$work/$w.log" 2>&1 ||
    { echo "gpu-nsys: nsys profile failed:"; tail -20 "$work/$w.log"; continue; }
  grep -E '^\{' "$work/$w.log"
  "$nsys" stats -q -r cuda_gpu_kern_sum,cuda_api_sum -f csv "$work/$w.nsys-rep" 2>/dev/null |
    python3 -c '
import csv, sys
rows = [r for r in csv.reader(sys.stdin)]
# Two CSV reports one after the other, each with its own header: print the top lines of each.
shown = 0
for r in rows:
    if not r:
        continue
    if r[0].startswith("Time"):
        print(" | ".join(c[:60] for c in r)); shown = 0; continue
    if shown < 25:
        print(" | ".join(c[:70] for c in r)); shown += 1
'
done
