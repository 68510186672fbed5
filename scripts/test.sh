#!/usr/bin/env bash
# README command (2): install what is needed, build, run the whole test suite (Release), then the
# sanitized stage: the compiler core's tests built with ASan + UBSan and every fuzz target for a few
# seconds (scripts/sanitize-core.sh, docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "${RNNC_JOBS:-$(nproc)}"
scripts/sanitize-core.sh "${RNNC_CI_FUZZ_SECONDS:-5}"
