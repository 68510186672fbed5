#!/usr/bin/env bash
# Builds what scripts/gpu-check.sh runs on a GPU machine that has no Halide or LLVM: gpu_test (the zoo,
# CUDA forward + backward against the reference executor) and gpu_bench (training step at the benchmark
# shapes), AOT-compiled here and linked so that they need only glibc and libstdc++ (newest symbol versions
# in MANIFEST: GLIBC 2.34, GLIBCXX 3.4.30 from Debian 12's gcc 12, std::condition_variable::wait; Ubuntu
# 22.04 has both, glibc 2.35 and gcc 12's libstdc++) and, loaded at run time, the CUDA driver. (Linked
# statically, libstdc++ and libgcc would need GLIBC 2.36: arc4random, for std::random_device.) The
# binaries are gzipped (the PTX text in them compresses about 5x); scripts/gpu-check.sh unpacks them.
#
#   scripts/build-gpu-bundle.sh [BUILD_DIR] [OUT_DIR]     (defaults: build-gpu, build-gpu-bundle)
#
# BUILD_DIR is configured with RNNC_GPU_BENCH=ON (an existing build tree keeps its other settings).
# The bundle must stay under 64 MiB; the script fails if it is bigger, if a binary needs Halide, LLVM,
# Boost or GoogleTest shared libraries, or symbol versions newer than Ubuntu 22.04's (GLIBC 2.35, GLIBCXX
# 3.4.30).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
out=${2:-build-gpu-bundle}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRNNC_GPU_BENCH=ON
else
  cmake "$build" -DRNNC_GPU_BENCH=ON > /dev/null
fi
nice ninja -C "$build" -j "${RNNC_JOBS:-$(nproc)}" gpu_test gpu_bench

rm -rf "$out"
mkdir -p "$out/bin" "$out/bench"
for b in gpu_test gpu_bench; do
  strip -o "$out/bin/$b" "$build/bin/$b"
done
cp bench/gpu/gpu_compare.py bench/gpu/persistent_compare.py bench/torch_rnn.py "$out/bench/"

bad=0
# The newest version of library $2's symbols (GLIBC, GLIBCXX) that binary $1 needs, e.g. GLIBC_2.34.
newest() { objdump -T "$1" | grep -o "$2_[0-9.]*" | sort -uV | tail -1; }

{
  echo "rnnc GPU bundle: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- codegen runtime tests/gpu bench/gpu || echo ' (with uncommitted changes)'), built $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m)"
  echo "gpu_test targets: $(grep -o '// x86-64[^ ]*' "$build/tests/gpu/gpu_rnn_tanh.rnnc/gpu_rnn_tanh.h" | cut -c4- | tr '\n' ' ')"
  echo "gpu_bench targets: $(grep -o '// x86-64[^ ]*' "$build/bench/gpu/bench_lstm_h128.rnnc/bench_lstm_h128.h" | cut -c4- | tr '\n' ' ')"
  for b in gpu_test gpu_bench; do
    echo "$b needs: $(ldd "$out/bin/$b" | awk '{print $1}' | grep -v vdso | tr '\n' ' ')"
    echo "$b newest symbol versions: $(newest "$out/bin/$b" GLIBC) $(newest "$out/bin/$b" GLIBCXX)"
  done
} > "$out/MANIFEST"
cat "$out/MANIFEST"
for b in gpu_test gpu_bench; do
  if ldd "$out/bin/$b" | grep -Eq 'libHalide|libLLVM|libboost|libgtest|libdnnl|libprotobuf'; then
    echo "build-gpu-bundle: $b links a library the GPU machine does not have:" >&2
    ldd "$out/bin/$b" >&2
    bad=1
  fi
  for have in GLIBC_2.35 GLIBCXX_3.4.30; do
    needs=$(newest "$out/bin/$b" "${have%_*}")
    if [ -n "$needs" ] && [ "$(printf '%s\n' "$needs" "$have" | sort -V | tail -1)" != "$have" ]; then
      echo "build-gpu-bundle: $b needs $needs, newer than the $have a GPU machine (Ubuntu 22.04) has" >&2
      bad=1
    fi
  done
done
gzip -9 "$out/bin/gpu_test" "$out/bin/gpu_bench"
size=$(du -sm "$out" | cut -f1)
echo "bundle: $out, ${size} MiB"
if [ "$size" -ge 64 ]; then
  echo "build-gpu-bundle: the bundle is ${size} MiB, more than the 64 MiB that can be carried" >&2
  bad=1
fi
exit $bad
