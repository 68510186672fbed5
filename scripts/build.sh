#!/usr/bin/env bash
# Configures and builds rnnc into build/ (tools in build/bin/). Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${RNNC_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$jobs"
