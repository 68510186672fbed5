#!/usr/bin/env bash
# The GPU schedules checked without a GPU: the zoo's GPU test models compiled for OpenCL as well as CUDA
# (the same schedules; only the device API differs) and run on pocl, an OpenCL driver for the CPU, forward
# and backward against the float64 reference executor (CTest gpu_device_opencl's cases, in full), and
# the training runtime with OpenCL kernels against the CPU (CTest train_test_opencl).
# For a change to codegen/schedule_gpu.cpp in a session without a GPU; scripts/gpu-check.sh is the real
# thing on a device. Installs pocl (Debian 12: pocl-opencl-icd) and the build's own dependencies first.
# About 8 min to build on two cores; the first run ~3 min (pocl compiles and caches the kernels), later
# ones ~10 s.
#
#   scripts/opencl-check.sh [BUILD_DIR]      (default build-ocl; configured with RNNC_OPENCL_TESTS=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-ocl}

scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/apt-install.sh opencl-check pocl-opencl-icd ocl-icd-libopencl1

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRNNC_OPENCL_TESTS=ON
else
  cmake "$build" -DRNNC_OPENCL_TESTS=ON > /dev/null
fi
nice ninja -C "$build" -j "${RNNC_JOBS:-$(nproc)}" gpu_test train_test
# The CTest cases as the build defines them (their filters, devices and kernel cache), every line shown.
ctest --test-dir "$build" -R '^(gpu_device_opencl|train_test_opencl)$' -V
