#!/usr/bin/env bash
# Paired A/B timing of two rnnc-bench binaries: runs them in alternation, PAIRS times, and prints each
# pair's B/A ratio, their median and how many pairs B won. On a shared VM whose speed drifts by ±10 %
# over minutes (docs/performance.md), two runs seconds apart see the same machine; comparing medians
# of separate batches does not, and hides effects of a few percent.
#
#   scripts/ab-bench.sh BIN_A BIN_B [PAIRS] [-- rnnc-bench args]      (default: 10 pairs, --shape S)
#
# Each binary gets a kernel cache of its own (their kernels may differ under one cache key). Anchors are
# skipped: the ratio is rnnc against rnnc.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 BIN_A BIN_B [PAIRS] [-- rnnc-bench args]" >&2
  exit 2
fi
a=$1 b=$2
shift 2
pairs=10
if [[ $# -gt 0 && $1 != -- ]]; then
  pairs=$1
  shift
fi
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "$0: PAIRS must be a positive count, not '$pairs' (rnnc-bench args go after --)" >&2; exit 2; }
[[ $# -gt 0 && $1 == -- ]] && shift
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--shape S --repeats 5)
for bin in "$a" "$b"; do
  [[ -x $bin ]] || { echo "$0: $bin is not an executable" >&2; exit 2; }
done
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

# "fwd train" in ms: the table row's rnnc columns. A run that fails or prints no row stops the script
# with rnnc-bench's own output, not a ratio of nothing.
measure() {
  local out row
  if ! out=$(RNNC_CACHE_DIR="$cache/$2" "$1" "${args[@]}" --no-onednn --no-torch 2>&1); then
    printf '%s\n%s: %s failed (above)\n' "$out" "$0" "$1" >&2
    exit 1
  fi
  row=$(awk '/\|/ && $0 !~ /workload/ {split($0, f, "|"); k = split(f[1], c, " "); print c[k - 5], c[k - 2]; exit}' <<<"$out")
  if [[ -z $row ]]; then
    printf '%s\n%s: no timing row in the output of %s (above)\n' "$out" "$0" "$1" >&2
    exit 1
  fi
  echo "$row"
}

measure "$a" a >/dev/null  # compile both builds' kernels before timing
measure "$b" b >/dev/null
printf '%4s %10s %10s %10s %10s %8s %8s\n' pair a_fwd b_fwd a_train b_train fwd_b/a train_b/a
ratios_f=() ratios_t=()
for ((i = 1; i <= pairs; ++i)); do
  # Alternate which goes first: a drift within the pair then favours neither.
  if ((i % 2)); then ra=$(measure "$a" a); rb=$(measure "$b" b); else rb=$(measure "$b" b); ra=$(measure "$a" a); fi
  read -r af at <<<"$ra"
  read -r bf bt <<<"$rb"
  rf=$(awk -v x="$bf" -v y="$af" 'BEGIN {printf "%.4f", x / y}')
  rt=$(awk -v x="$bt" -v y="$at" 'BEGIN {printf "%.4f", x / y}')
  ratios_f+=("$rf")
  ratios_t+=("$rt")
  printf '%4d %10s %10s %10s %10s %8s %8s\n' "$i" "$af" "$bf" "$at" "$bt" "$rf" "$rt"
done
summary() {
  printf '%s\n' "${@:2}" | sort -n |
    awk -v what="$1" '{v[NR] = $1; if ($1 < 1) won++} END {
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s: median b/a %.3f, b faster in %d of %d pairs\n", what, m, won, NR}'
}
summary forward "${ratios_f[@]}"
summary training "${ratios_t[@]}"
