#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, its driver and PyTorch (with cuDNN), but no Halide or
# LLVM: it only runs binaries built elsewhere by scripts/build-gpu-bundle.sh, plus PyTorch.
#
#   scripts/gpu-check.sh [--bundle DIR] [--dry-run]
#
#   1. gpu_test: every zoo model's forward and backward on the GPU against the reference executor
#      (f32, relative error < 1e-4); a skip (no driver, no device) fails the check here;
#   2. gpu_bench --check: the benchmark models, the same way; on a GPU, also run as CUDA graphs;
#   3. persistent_compare.py: the persistent-scan probe (bench/gpu/persistent_lstm_generator.cpp: one LSTM
#      layer's whole recurrence, forward and backward, as one kernel each) checked, then timed against
#      cuDNN's one-layer LSTM;
#   4. gpu_compare.py: rnnc's training step against torch.nn.LSTM/GRU (cuDNN) and PyTorch eager (layer-norm
#      LSTM) on workload S and larger shapes; the table of ratios comes last.
#
# --dry-run (no GPU needed): the bundle's binaries start and report the missing device, the benchmark
# models are checked on the CPU, and the comparison runs on the CPU at tiny shapes. DIR defaults to
# build-gpu-bundle; $PYTHON (default python3, or /usr/bin/python3 where only that one has torch) must
# import torch. Meant to finish in under 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

bundle=build-gpu-bundle
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "usage: scripts/gpu-check.sh [--bundle DIR] [--dry-run]" >&2; exit 2 ;;
  esac
done
python=${PYTHON:-python3}
# A python3 first on PATH without torch (a pyenv shim, say) next to the system's with it: the system's.
if [ -z "${PYTHON:-}" ] && ! "$python" -c 'import torch' 2> /dev/null && /usr/bin/python3 -c 'import torch' 2> /dev/null; then
  python=/usr/bin/python3
fi
start=$(date +%s)
status=0
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }
fail() { echo "FAIL: $*"; status=1; }

for f in bench/gpu_compare.py bench/torch_rnn.py bench/persistent_compare.py; do
  if [ ! -e "$bundle/$f" ]; then
    echo "gpu-check: $bundle/$f is missing: build the bundle with scripts/build-gpu-bundle.sh" >&2
    exit 2
  fi
done
# The binaries travel gzipped; unpacked into a temporary directory.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for b in gpu_test gpu_bench; do
  if [ -e "$bundle/bin/$b.gz" ]; then
    gzip -dc "$bundle/bin/$b.gz" > "$bin/$b"
  elif [ -e "$bundle/bin/$b" ]; then
    cp "$bundle/bin/$b" "$bin/$b"
  else
    echo "gpu-check: $bundle/bin/$b(.gz) is missing: build the bundle with scripts/build-gpu-bundle.sh" >&2
    exit 2
  fi
  chmod +x "$bin/$b"
done
step "bundle $bundle"
cat "$bundle/MANIFEST" 2>/dev/null | head -20
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

step "1. zoo models on the GPU against the reference executor (gpu_test)"
log=$(mktemp)
RNNC_GPU_TEST_DEVICE=cuda timeout 180 "$bin/gpu_test" --gtest_filter='GpuAot.*:Zoo/*' > "$log" 2>&1
rc=$?
# Per model and shape its worst relative errors; then failures, skip reasons and gtest's totals.
grep -E '^\[ rel\. err \]' "$log"
grep -E 'Failure|^\[  FAILED  \] Zoo|^--device|^\[ message' "$log" | sort | uniq -c | head -20
grep -E '^\[  (PASSED|SKIPPED|FAILED)  ?\] [0-9]+ test' "$log"
skipped=$(grep -cE '^\[  SKIPPED \] Zoo/.*\([0-9]+ ms\)$' "$log")
if [ $rc -ne 0 ]; then
  fail "gpu_test exited $rc (full output: $log)"
elif [ "$dry_run" = 0 ] && [ "$skipped" -gt 0 ]; then
  fail "gpu_test skipped $skipped GPU cases: no usable CUDA device (see the reason above)"
elif [ "$dry_run" = 1 ]; then
  echo "dry run: gpu_test ran; $skipped GPU cases skipped (no device here)"
fi

device=cuda
[ "$dry_run" = 1 ] && device=cpu
step "2. benchmark models against the reference executor (gpu_bench --check, $device)"
if [ "$dry_run" = 1 ]; then
  # Without a GPU, gpu_bench must refuse CUDA with one clear line.
  out=$("$bin/gpu_bench" --device cuda --check 2>&1); rc=$?
  echo "gpu_bench --device cuda: exit $rc: $out"
  [ $rc -eq 1 ] && echo "$out" | grep -q -- '--device cuda: ' || fail "gpu_bench did not report the missing CUDA device"
fi
timeout 120 "$bin/gpu_bench" --device $device --check || fail "gpu_bench --check"
if [ "$dry_run" = 0 ]; then
  # The same models as CUDA graphs: recorded on one step's inputs, checked on the next step's.
  timeout 120 "$bin/gpu_bench" --device cuda --check --graphs || fail "gpu_bench --check --graphs"
fi

step "3. the persistent-scan probe: one LSTM layer's recurrence in one kernel, forward and backward, against cuDNN"
probe_args=(--bench "$bin/gpu_bench")
[ "$dry_run" = 1 ] && probe_args+=(--dry-run)
timeout 60 "$python" "$bundle/bench/persistent_compare.py" "${probe_args[@]}" || fail "persistent_compare.py"

step "4. rnnc against PyTorch (training step)"
# No workload starts after 200 s, so that the table of those timed prints before the timeout (the
# heaviest, the layer-norm LSTM at batch 256, come last in gpu_bench --list).
args=(--bench "$bin/gpu_bench" --budget-s 200)
[ "$dry_run" = 1 ] && args+=(--dry-run)
timeout 240 "$python" "$bundle/bench/gpu_compare.py" "${args[@]}" || fail "gpu_compare.py"

echo
echo "gpu-check: $([ $status -eq 0 ] && echo ok || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
