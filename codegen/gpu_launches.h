// What the GPU launches of a compiled module ask for, read from Halide's lowered host code (its calls
// to halide_<api>_run): limits a schedule must respect, which a device would otherwise only report at
// launch time, with an error that does not say why.
#pragma once

#include <Halide.h>

#include <cstdint>
#include <string>

namespace rnnc::codegen {

// Dynamic shared memory a CUDA block may use on every GPU the target runs on: its CUDA capability and
// all newer ones (8.0 code runs on an RTX 30xx, 8.6: 99 KiB; an A100 allows 163, an H100 227). Past 48
// KiB the executor opts the kernel in at launch (runtime/cuda_shared_memory.h).
int64_t cuda_block_shared_bytes(const Halide::Target& target);

// The shared memory a block may use on every device of the target: cuda_block_shared_bytes for CUDA,
// 48 KiB for OpenCL (what its GPUs commonly give a work-group; the driver says at run time), 32 for
// other GPU APIs. A step whose rows need more is tiled, its row statistics materialised
// (RowStatistics).
int64_t gpu_block_shared_bytes(const Halide::Target& target);

// The most shared memory any GPU launch of the module asks for, in bytes: the part Halide knows at
// compile time (a size it computes per call, such as a row's few statistics, counts as 0).
int64_t largest_launch_shared_bytes(const Halide::Module& module);

// A UserError naming the kernel where a CUDA launch of the module would ask for more shared memory
// than a block may use (a row-mode step keeps whole rows there: layer norm at large hidden sizes).
void check_launch_limits(const Halide::Module& module, const Halide::Target& target, const std::string& kernel);

}  // namespace rnnc::codegen
