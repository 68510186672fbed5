// Where the compiled kernels' temporaries come from (Halide's halide_malloc / halide_free hooks).
//
// A step kernel allocates the same few scratch buffers on every call (a layer-norm LSTM's forward step
// two of 64 KiB: the saved h·W_hh and the gate sums), hundreds of times a run. Each thread here keeps
// its recently freed blocks and hands them out again by size, without a trip through glibc's locks and
// bins, and without glibc ever trimming them away: where it did (a heap whose trim threshold had not
// moved), every call faulted its pages in again, and that step took 72 us instead of 41 (kernel_bench,
// 32 rows). In rnnc-bench, on top of runtime/heap_policy.h, the layer-norm LSTM's forward 0.972 and
// training 0.960 (scripts/ab-bench.sh, 6 of 8 pairs each).
#pragma once

#include <cstddef>

#include "runtime/kernel_table.h"

namespace rnnc::runtime {

// Points the runtime behind `kernels` at the allocator below, where the table has the hooks and the
// runtime still has Halide's default allocator (an allocator the user set stays: false). Kernels
// already running elsewhere in the process are safe: kernel_scratch_free frees the default allocator's
// blocks, and Halide's default free frees ours (it finds the block's start at data[-1]).
bool use_kernel_scratch(const KernelTable& kernels);

// Halide's halide_malloc_t / halide_free_t. 64-byte aligned, with 64 readable bytes either side (Halide
// may read a little before and after a buffer). kernel_scratch_free also frees blocks Halide's default
// allocator made (a kernel already running when the hooks were installed).
void* kernel_scratch_allocate(void* user_context, size_t bytes);
void kernel_scratch_free(void* user_context, void* data);

// How many blocks this thread holds for reuse, and their bytes (for tests).
struct KernelScratchCache {
  size_t blocks = 0;
  size_t bytes = 0;
};
KernelScratchCache kernel_scratch_cached();
// Frees the blocks this thread holds.
void kernel_scratch_trim();

}  // namespace rnnc::runtime
