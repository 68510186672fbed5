// GPU schedules for lowered kernels (CUDA; any Halide GPU API), chosen from the kernel's structure and
// static shapes, never written per model. compile_plan uses them when the target has a GPU feature.
//
// A scan's step runs once per time step, so its schedule is about launches and latency:
//   - consecutive outputs of the same shape become one Tuple-valued Func: one loop nest, one launch (an
//     LSTM's forward step: h', c', y and the saved activations in one launch); in row mode (below) the
//     groups' loop nests are fused at the block (compute_with): one launch for the whole step, what
//     several groups read computed once per block; in tile mode each group is lowered on its own, so
//     what two groups both need is computed in each launch, never handed over;
//   - a step without row-wide reductions is tiled over (columns, rows); its recurrent product h·W is
//     computed per thread in registers, gate-major (LowerOptions::slice_products), so a thread computes
//     exactly the four gate values its column needs and the gate math follows in the same thread;
//   - a group with row-wide reductions (layer norm), or a small product of values computed in the step
//     (the backward's dgates · W_hh at H ≤ ~180), gets one block per row, everything it reads computed
//     in that block's shared memory;
//   - a larger product of values computed in the step has them materialised first (a launch of their
//     own), then is tiled, so no tile recomputes them;
//   - a step is latency-bound (a thread's chain of dependent multiply-adds), so a product reduction of
//     128 or more is split into slices of k whose partial sums the block's threads compute side by
//     side in shared memory, and a row's reductions (layer norm) are spread over the block's threads;
//   - whatever a thread computes has a constant size (bound_storage), so it stays in registers, never
//     in a per-thread heap in global memory (tests/gpu/check_gpu_kernels.py fails on one).
// The other kernels run once per sequence: big products (x·W_ih for all steps, dx = dg·W_ih) are tiled
// GEMMs with 4×4 register tiles per thread; weight gradients (transpose_a products over every row) sum
// chunks of rows in parallel blocks, then the chunks; bias gradients are rfactor'ed column sums;
// embedding gradients scatter with atomic adds; everything else is one thread per element.
#pragma once

#include <Halide.h>

#include <cstdint>
#include <string>

#include "codegen/lower.h"

namespace rnnc::codegen {

// The tile of a tile-mode step and the GEMMs' unrolling, by default the schedules' own choice. Others
// are for measuring on a device (`rnnc compile --gpu-step-tile`, `--gpu-gemm-unroll`, gpu_bench's
// variants): which shape makes a small latency-bound step fastest, and whether a GEMM's shorter loop is
// worth its registers, are questions for the GPU, not for this machine.
struct GpuTiling {
  int columns = 32;  // columns a block covers (its threads along x): 1, 2, 4, 8, 16 or 32
  int slices = 0;    // slices a product's reduction is split into (threads side by side); 0: by rule
  int rows = 4;      // rows a thread computes (1, 2 or 4); a block has 4 threads along the rows
  // Steps of k a GEMM thread's loop unrolls (1, 2, 4 or 8): 4 halves the instructions per multiply-add
  // of the per-sequence GEMMs' loops (PTX) and takes 30-50 more registers a thread.
  int gemm_unroll = 4;
  // Row statistics (layer norm) materialised in every step that has them, not only where a row is too
  // wide for a block (RowStatistics): that path checked at small sizes, on the device that runs it.
  bool materialise_row_statistics = false;
  bool is_default() const {
    return columns == 32 && slices == 0 && rows == 4 && gemm_unroll == 4 && !materialise_row_statistics;
  }
  std::string to_string() const;  // "COLUMNS,SLICES,ROWS; gemm k unroll U[; row statistics materialised]"
};

// "COLUMNS,SLICES[,ROWS]" (as --gpu-step-tile takes it); a UserError that says what is wrong otherwise.
GpuTiling parse_gpu_step_tile(const std::string& text);
// --gpu-gemm-unroll's value if it is 1, 2, 4 or 8; a UserError that says so otherwise.
int checked_gpu_gemm_unroll(int64_t n);

// How to lower a kernel for a GPU target.
LowerOptions gpu_lower_options(const runtime::KernelSpec& spec);

// Where a step's row statistics (a layer norm's mean and variance, its gradient's sums over a row) are
// computed. In the block of a row-mode step (one block per row, the row's values in shared memory, the
// whole step one launch), unless the row is too wide for a block's shared memory (compile.cpp lowers
// the step again then): materialised by launches of their own, as is the product they normalise, and
// the step tiled like one without statistics.
enum class RowStatistics { in_block, materialised };

// Whether a step's row statistics alone put it in row mode: with them in its blocks it is in row
// mode, with them materialised it would be tiled.
bool row_mode_from_statistics(const LoweredKernel& kernel);

// Lowers one kernel of the plan and schedules it for a GPU target. A step's outputs come back grouped
// into Tuple-valued Funcs (kernel.outputs then holds fewer Funcs: the same output buffers, in order).
LoweredKernel lower_for_gpu(const runtime::KernelSpec& spec, const Halide::Target& target, const GpuTiling& tile = {},
                            RowStatistics statistics = RowStatistics::in_block);

// Lowering passes a GPU pipeline needs after Halide's own (Pipeline::add_custom_lowering_pass).
void add_gpu_lowering_passes(Halide::Pipeline& pipeline);

}  // namespace rnnc::codegen
