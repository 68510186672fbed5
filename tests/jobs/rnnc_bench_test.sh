#!/usr/bin/env bash
# rnnc-bench end to end on tiny shapes (oneDNN only; PyTorch is slow to start): a table, the ratio line
# with numbers where oneDNN runs the cell and n/a with the reason where it cannot, and a clear error with a
# non-zero exit for bad flags.
#   rnnc_bench_test.sh BIN_DIR
set -euo pipefail
bench=$1/rnnc-bench
fail() { echo "FAIL: $*" >&2; exit 1; }
small=(--layers 2 --batch 3 --seq 5 --input 4 --hidden 7 --repeats 2 --no-torch)

out=$("$bench" --cell gru "${small[@]}" 2>/dev/null)
echo "$out"
last=$(tail -n 1 <<<"$out")
[[ $last =~ ^"gru L2 B3 T5 I4 H7: fwd_vs_onednn="[0-9]+\.[0-9]+" train_vs_onednn="[0-9]+\.[0-9]+" fwd_vs_torch=n/a train_vs_torch=n/a"$ ]] \
  || fail "ratio line: $last"

out=$("$bench" --cell layernorm-lstm "${small[@]}" 2>/dev/null)
echo "$out"
grep -q "note: oneDNN has no layer-norm LSTM primitive" <<<"$out" || fail "no note for the layer-norm LSTM"
[[ $(tail -n 1 <<<"$out") == *"fwd_vs_onednn=n/a train_vs_onednn=n/a"* ]] || fail "layer-norm ratios not n/a"
# Its yardstick instead: rnnc's LSTM of the same shape, timed alongside.
grep -Eq "layernorm-lstm/lstm: fwd [0-9]+\.[0-9]+, train [0-9]+\.[0-9]+$" <<<"$out" || fail "no layer-norm/LSTM ratio"

if err=$("$bench" --cell lstm --hidden 0 2>&1); then fail "--hidden 0 was accepted"; fi
grep -q "must be >= 1" <<<"$err" || fail "unclear error for --hidden 0: $err"
if err=$("$bench" --cell nosuchcell --no-torch --no-onednn 2>&1); then fail "an unknown cell was accepted"; fi
grep -qi "nosuchcell" <<<"$err" || fail "the error does not name the cell: $err"
echo "rnnc-bench: ok"
