#!/usr/bin/env bash
# README command (2): install what is needed, build, run the whole test suite (Release), then the whole
# suite again built with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh) and every
# fuzz target for a few seconds (scripts/fuzz.sh); docs/reliability.md.
#
# The sanitized tree shares the Release tree's kernel cache (build/kernel-cache): what LLVM made of the
# kernels is the same whichever compiler built rnnc, so its suite does not compile them again under
# ASan's allocator (twice as slow) yet still lowers and schedules every one of them with rnnc's
# sanitized code (RNNC_KERNEL_CACHE_RELOWER=1, codegen/kernel_cache.h).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "${RNNC_JOBS:-$(nproc)}"
scripts/sanitize.sh
# Seeds from the Release suite's fuzz_replay.seeds (the same fuzz/make_seeds.py): fuzz.sh need not
# build the sanitized rnnc again to make them.
RNNC_FUZZ_SEEDS=$PWD/build/fuzz-replay-seeds scripts/fuzz.sh "${RNNC_CI_FUZZ_SECONDS:-5}"
