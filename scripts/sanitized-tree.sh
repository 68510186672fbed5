# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: the one sanitized build tree they share.
#
# build-sanitize/ ($RNNC_SANITIZE_BUILD) is clang 14 with AddressSanitizer + UndefinedBehaviorSanitizer
# and libFuzzer's coverage instrumentation (RNNC_FUZZ=ON): the whole test suite and the fuzz targets
# come out of one compile. Release with line tables, so reports name file:line and tests run at speed.
# The benchmarks are not built: no test runs them.
sanitize_build=${RNNC_SANITIZE_BUILD:-build-sanitize}
sanitize_jobs=${RNNC_JOBS:-$(nproc)}
# The kernel cache it shares with the Release tree of the same checkout (build/, scripts/build.sh):
# kernels compiled by either serve both (codegen/kernel_cache.h).
sanitize_kernel_cache=${RNNC_SANITIZE_KERNEL_CACHE:-$PWD/build/kernel-cache}

# The sanitizers' settings. They are exported before building too: the build runs sanitized tools
# (model generators, `rnnc compile` for the AOT tests). Any report fails what triggered it.
# Most of the suite's time is Halide/LLVM compiling kernels, uninstrumented but allocating through
# ASan's allocator; a smaller quarantine, 8-frame allocation stacks and no fill of fresh blocks cut
# that cost by about a sixth (measured) and keep use-after-free, overflow and leak detection.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:malloc_context_size=8:quarantine_size_mb=32:thread_local_quarantine_size_kb=256:max_malloc_fill_size=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
# A kernel found in the cache is still lowered and scheduled, by the sanitized code: only LLVM is skipped.
export RNNC_KERNEL_CACHE_RELOWER=1

configure_sanitized_tree() {
  cmake -S . -B "$sanitize_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_C_FLAGS=-gline-tables-only -DCMAKE_CXX_FLAGS=-gline-tables-only -DRNNC_FUZZ=ON \
    -DRNNC_BUILD_BENCH=OFF "-DRNNC_KERNEL_CACHE_DIR=$sanitize_kernel_cache" >/dev/null
}
