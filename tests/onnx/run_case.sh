#!/bin/sh
# run_case.sh RNNC CASE_DIR EXECUTOR: `rnnc onnx-test` on a test case a generator wrote at test time;
# skipped (exit 77) with the reason when the generator could not write it.
if [ ! -f "$2/model.onnx" ]; then
  echo "SKIP: $2 was not generated (its generator test says why: python3-torch or python3-onnx missing?)"
  exit 77
fi
exec "$1" onnx-test "$2" --executor "$3"
