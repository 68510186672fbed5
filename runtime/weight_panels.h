// Weights that the CPU reads in column panels.
//
// A scan step multiplies its rows by the same weights at every step ([K, N]: an LSTM's W_hh, [H, 4H]
// forward and [4H, H] backward). The CPU product runs register tiles of 6 rows x 64 columns; for each
// tile it reads the 64 columns of every row of the weights. Stored [K, N], those rows lie N floats
// apart: at H 256 and up (1 MiB of weights and more) a panel of 64 columns maps to a few L2 sets, is
// evicted between the row tiles that read it, and each row tile streams the whole matrix from L3
// again. Stored as panels, [N / 64][K][64], a panel is K contiguous rows of 64 columns (128 KiB at
// H 512), which stays in L2 while every row tile of the step reads it (the schedule puts the panels
// outside the row tiles): one pass over the weights a step instead of one a row tile.
// Measured with one thread, 32 rows, the product alone (docs/performance.md): [512, 2048] 400 -> 307 us,
// [2048, 512] 566 -> 327, [1024, 4096] 3032 -> 1448; [128, 512] (workload S, 256 KiB: it stays in L2
// either way) unchanged, so smaller weights keep their layout.
//
// The hoisted products over all steps (the input projection, the input gradient) read theirs the same
// way. The plan marks such inputs (KernelSpec::panel_inputs); the CPU lowering declares them as panels
// and the executor packs them, a step's once per scan run, a kernel's once per call. GPU kernels, and
// the feeders' row copies (which read their weights unpacked), read the weights as they are.
#pragma once

#include <HalideBuffer.h>

#include <cstdint>
#include <vector>

#include "ir/function.h"
#include "ir/scan_layout.h"

namespace rnnc::runtime {

constexpr int kPanelColumns = 64;
// Smaller weights stay in L2 (1 MiB here, with the step's other data) and keep their layout.
constexpr int64_t kPanelMinBytes = 512 << 10;

// Whether `w`, a value of `f`, is weights worth reading as panels: f32, static [K, N] with N a multiple
// of kPanelColumns and K x N x 4 bytes at least `min_bytes`, read by the nodes `within` (all of its
// users where empty) only as the right operand b[K, N] of products (not transposed).
bool panel_weights(const ir::Function& f, const ir::Value& w, const std::vector<ir::NodeId>& within = {},
                   int64_t min_bytes = kPanelMinBytes);

// Such weights among a scan body's invariant arguments (indices into its args): a step's.
std::vector<int64_t> panel_inputs(const ir::Function& body, const ir::ScanLayout& l, int64_t min_bytes = kPanelMinBytes);

// w [K, N] (Halide dims (N, K)) as panels, in a new dense buffer from `allocate` / `deallocate` (the
// executor's pool; null: Halide's default): Halide dims (kPanelColumns, K, N / kPanelColumns), element
// (n, k) of w at (n % kPanelColumns, k, n / kPanelColumns).
Halide::Runtime::Buffer<void> panels_of(const Halide::Runtime::Buffer<void>& w, void* (*allocate)(size_t) = nullptr,
                                        void (*deallocate)(void*) = nullptr);

}  // namespace rnnc::runtime
