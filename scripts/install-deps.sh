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

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
