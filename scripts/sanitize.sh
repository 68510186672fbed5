#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer + UndefinedBehaviorSanitizer (clang 14, in
# build-sanitize/, see scripts/sanitized-tree.sh) and runs the whole test suite there. Extra arguments
# go to ctest (e.g. -R codegen). Leaks are checked at every process exit; scripts/lsan.supp lists the
# few inside libraries that are not ours.
#
# Halide's and LLVM's libraries are not instrumented: the kernels they JIT-compile are plain machine
# code that the instrumented executor calls with instrumented buffers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized-tree.sh
scripts/install-deps.sh
configure_sanitized_tree
cmake --build "$sanitize_build" -j "$sanitize_jobs"
ctest --test-dir "$sanitize_build" --output-on-failure -j "$sanitize_jobs" "$@"
