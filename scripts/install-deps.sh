#!/usr/bin/env bash
# Installs everything rnnc needs on a fresh Debian 12 machine (run as root). Idempotent:
# packages already present are skipped by apt, so a second run costs a few seconds.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libhalide14-0-dev          # kernel generator (CPU + CUDA backends)
  llvm-14-dev llvm-14-tools  # Halide's backend; FileCheck for the IR golden tests
  libboost-graph-dev         # the IR's graph
  libgtest-dev googletest    # unit tests
  libonnx-dev libprotobuf-dev protobuf-compiler  # reading ONNX models and tensors
  libonnx-testdata           # ONNX backend node tests: the external oracle for cell semantics
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
