#!/usr/bin/env bash
# The trained examples on the real data sets (skipped, exit 77, when ../shared/data is absent), briefly:
# each must beat its baseline (the tools exit 3 when they do not).
#   example_jobs_test.sh BIN_DIR DATA_DIR births|charlm
set -euo pipefail
bin=$1 data=$2 which=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Bad input first: exit status $1, a message matching $2, before any training.
expect_fail() {
  local code=$1 pattern=$2 rc=0
  shift 2
  "$@" > out.txt 2>&1 || rc=$?
  if [ "$rc" != "$code" ] || ! grep -q -- "$pattern" out.txt; then
    echo "FAIL: $* exited $rc (expected $code with '$pattern'):"; cat out.txt; exit 1
  fi
}
case "$which" in
  births) tool=births-forecast ;;
  charlm) tool=char-lm ;;
esac
expect_fail 2 "option '--lr' needs a positive number, got '-1'" "$bin/$tool" --lr -1
expect_fail 2 "option '--lr' needs a positive number, got 'nan'" "$bin/$tool" --lr nan
expect_fail 2 "unexpected argument 'stray'" "$bin/$tool" stray
case "$which" in
  births)
    # Rows that are not consecutive, dated days, or births that are not a count: refused by line.
    header=year,month,date_of_month,day_of_week,births
    printf '%s\n1969,1,1,3,8486\n1969,1,2,4,9002\n1969,1,2,4,9002\n' $header > repeated.csv
    expect_fail 1 "repeated.csv:4: 1969-1-2 does not follow 1969-1-2" "$bin/births-forecast" --data repeated.csv
    printf '%s\n1969,1,1,3,8486\n1969,1,3,5,9002\n' $header > missing.csv
    expect_fail 1 "missing.csv:3: 1969-1-3 does not follow 1969-1-1" "$bin/births-forecast" --data missing.csv
    printf '%s\n1969,2,30,7,8486\n' $header > nodate.csv
    expect_fail 1 "nodate.csv:2: 1969-2-30 is not a date" "$bin/births-forecast" --data nodate.csv
    printf '%s\n1969,1,1,3,8486\n1969,1,258,4,9002\n' $header > wrapped.csv
    expect_fail 1 "wrapped.csv:3: 1969-1-258 is not a date" "$bin/births-forecast" --data wrapped.csv
    printf '%s\n1969,1,1,4,8486\n' $header > weekday.csv
    expect_fail 1 "weekday.csv:2: day_of_week 4, but 1969-1-1 is day 3" "$bin/births-forecast" --data weekday.csv
    printf '%s\n1969,1,1,3,1e30\n' $header > huge.csv
    expect_fail 1 "huge.csv:2: births 1e+30 is not a count" "$bin/births-forecast" --data huge.csv
    expect_fail 1 "cannot read the births CSV 'absent.csv': no such file or directory (see" "$bin/births-forecast" --data absent.csv
    [ -f "$data/us-births-1969-1988.csv" ] || { echo "SKIP: $data/us-births-1969-1988.csv is absent"; exit 77; }
    "$bin/births-forecast" --data "$data/us-births-1969-1988.csv" --epochs 8 ;;
  charlm)
    [ -f "$data/moby-dick.txt" ] || { echo "SKIP: $data/moby-dick.txt is absent"; exit 77; }
    head -c 20000 "$data/moby-dick.txt" > small.txt
    expect_fail 1 "a window needs 18001 bytes, and the held-out tenth of the text has 2000" \
      "$bin/char-lm" --data small.txt --seq 18000 --epochs 1 --steps 2 --hidden 4
    "$bin/char-lm" --data "$data/moby-dick.txt" --epochs 1 --steps 40 --hidden 64 --sample 40 ;;
  *) echo "unknown example $which" >&2; exit 2 ;;
esac
