#!/usr/bin/env bash
# The sanitized stage of CI (scripts/test.sh runs it after the Release suite): the compiler's core and
# everything that reads outside input, built with AddressSanitizer + UndefinedBehaviorSanitizer (clang
# 14, build-sanitize/: the tree of scripts/sanitize.sh and scripts/fuzz.sh), their tests run there,
# then every libFuzzer target for a few seconds on its seeds.
#
#   scripts/sanitize-core.sh [SECONDS_PER_FUZZ_TARGET]     (default 5)
#
# The core is every test binary that does not need Halide: the IR (graph, text parser, verifier), the
# DSL, the passes (autodiff through time), the reference executor, the data layer (aclImdb reader,
# tokenizer, vocabulary, token files) and the ONNX importer. The Halide half (codegen, the compiled
# executor, the training runtime and the tools built on them) is sanitized by scripts/sanitize.sh, the
# whole suite, which takes about an hour on 2 cores: too long for CI (docs/reliability.md).
# Seeds for the fuzz run: $RNNC_FUZZ_SEEDS, by default the Release tree's build/fuzz-replay-seeds (made by
# its fuzz_replay.seeds test); without them scripts/fuzz.sh makes its own, building the sanitized rnnc.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized-tree.sh

fuzz_seconds=${1:-5}
core_tests=(ir_test frontend_test runtime_test passes_test data_test onnx_conformance_test onnx_import_test)

scripts/install-deps.sh
configure_sanitized_tree
# The compiled executor too: it has no test without Halide here, but compiling it with clang catches
# what gcc accepts and clang 14 does not (docs/reliability.md) in the code nearest the kernels.
cmake --build "$sanitize_build" -j "$sanitize_jobs" --target "${core_tests[@]}" rnnc_runtime_compiled
pattern="^($(IFS='|'; echo "${core_tests[*]}"))\$"
ctest --test-dir "$sanitize_build" --output-on-failure --no-tests=error -j "$sanitize_jobs" -R "$pattern"

if [ -z "${RNNC_FUZZ_SEEDS:-}" ] && [ -d build/fuzz-replay-seeds ]; then
  export RNNC_FUZZ_SEEDS=$PWD/build/fuzz-replay-seeds
fi
scripts/fuzz.sh "$fuzz_seconds"
