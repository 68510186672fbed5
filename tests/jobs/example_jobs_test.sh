#!/usr/bin/env bash
# The trained examples on the real data sets (skipped, exit 77, when ../shared/data is absent), briefly:
# each must beat its baseline (the tools exit 3 when they do not).
#   example_jobs_test.sh BIN_DIR DATA_DIR births|charlm
set -euo pipefail
bin=$1 data=$2 which=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
case "$which" in
  births)
    [ -f "$data/us-births-1969-1988.csv" ] || { echo "SKIP: $data/us-births-1969-1988.csv is absent"; exit 77; }
    "$bin/births-forecast" --data "$data/us-births-1969-1988.csv" --epochs 8 ;;
  charlm)
    [ -f "$data/moby-dick.txt" ] || { echo "SKIP: $data/moby-dick.txt is absent"; exit 77; }
    "$bin/char-lm" --data "$data/moby-dick.txt" --epochs 1 --steps 40 --hidden 64 --sample 40 ;;
  *) echo "unknown example $which" >&2; exit 2 ;;
esac
