#!/usr/bin/env bash
# README command (2): install what is needed, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "${RNNC_JOBS:-$(nproc)}"
