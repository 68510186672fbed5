#!/usr/bin/env bash
# Installs everything rnnc needs on a fresh Debian 12 machine. Idempotent: when every package is
# already present it only checks, which takes a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates python3
  libhalide14-0-dev          # kernel generator (CPU + CUDA backends)
  llvm-14-dev llvm-14-tools  # Halide's backend; lit and FileCheck for the IR golden tests
  libboost-graph-dev         # the IR's graph
  libgtest-dev googletest    # unit tests
  libonnx-dev libprotobuf-dev protobuf-compiler  # reading ONNX models and tensors
  libonnx-testdata           # ONNX backend node tests: the external oracle for cell semantics
  clang-14 libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes (scripts/fuzz.sh)
)

exec "$(dirname "$0")/apt-install.sh" install-deps "${packages[@]}"
