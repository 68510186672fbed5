#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in the sanitized tree (build-sanitize/, clang 14 with ASan +
# UBSan: scripts/sanitized-tree.sh) and runs each for a while.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Seeds are rebuilt on every run from real inputs (fuzz/make_seeds.py: zoo IR printed by the tree's
# rnnc, ONNX node tests, tiny archives, serialised checkpoints) plus fuzz/regressions/; what a target
# discovers accumulates in build-sanitize/fuzz-run/corpus/TARGET. A crash, leak, sanitizer report, hang
# (> 10 s on one input), an exception other than rnnc::UserError or a failed property
# (fuzz/fuzz_common.h) stops that target: its log is build-sanitize/fuzz-run/logs/TARGET.log, the input
# is saved under build-sanitize/fuzz-run/artifacts/TARGET/, and the script exits 1 after the others ran.
# Reproduce one with `build-sanitize/bin/TARGET FILE`. Extra libFuzzer flags: $RNNC_FUZZ_ARGS.
# RNNC_FUZZ_SEEDS=DIR takes the seed corpora from DIR/TARGET instead of making them (and building rnnc).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized-tree.sh

seconds=${1:-60}
shift || true
build=$sanitize_build
work=$build/fuzz-run

scripts/install-deps.sh
configure_sanitized_tree
if [ -n "${RNNC_FUZZ_SEEDS:-}" ]; then
  # Seeds made elsewhere (CI: the Release suite's fuzz_replay.seeds, the same make_seeds.py): the
  # sanitized rnnc, which needs the whole Halide half, is not built for them.
  cmake --build "$build" -j "$sanitize_jobs" --target fuzz
  seeds=$RNNC_FUZZ_SEEDS
else
  cmake --build "$build" -j "$sanitize_jobs" --target fuzz rnnc
  seeds=$work/seeds
  python3 fuzz/make_seeds.py "$seeds" --rnnc "$build/bin/rnnc" --seeds-tool "$build/bin/rnnc-fuzz-seeds"
fi

if [ $# -gt 0 ]; then targets=("$@"); else read -r -a targets < <(tr ';' ' ' <"$build/fuzz-targets.txt"); fi

mkdir -p "$work/logs"
failed=()
printf '%-20s %8s %10s %8s %8s %8s %s\n' target seconds execs exec/s corpus cov result
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus" "$work/artifacts/$t" "$seeds/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$work/logs/$t.log"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if "$build/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$t/" "${dict[@]}" ${RNNC_FUZZ_ARGS:-} "$corpus" "$seeds/$t" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$( (grep -oE 'cov: [0-9]+' "$log" || true) | tail -1 | cut -d' ' -f2)
  printf '%-20s %8s %10s %8s %8s %8s %s\n' "$t" $(($(date +%s) - start)) "${execs:--}" "${rate:--}" \
    "$(find "$corpus" -type f | wc -l)" "${cov:--}" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "=== $t: last lines of $work/logs/$t.log"
    tail -n 40 "$work/logs/$t.log"
    # Where the tree is thrown away after the run (CI), the input itself: base64 -d > FILE to replay it.
    for a in "$work/artifacts/$t"/*; do
      [ -f "$a" ] && [ "$(stat -c %s "$a")" -le 65536 ] && { echo "=== $a (base64):"; base64 -w 100 "$a"; }
    done
  done
  exit 1
fi
