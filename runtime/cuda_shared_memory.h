// CUDA launches that ask for more than 48 KiB of shared memory a block.
//
// Why: a row-mode scan step keeps whole rows in shared memory (the layer-norm LSTM with lengths: 120
// and 72 bytes a unit of hidden size, forward and backward; 60 KiB at H 512), and past 48 KiB a launch
// fails unless the kernel was opted in to more (cuFuncSetAttribute,
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), which Halide 14's runtime never does. An A100
// allows 163 KiB a block, an RTX 30xx 99 KiB, an H100 227 KiB.
//
// How: Halide's runtime looks up the driver's entry points through a hook
// (halide_set_custom_get_library_symbol); rnnc's hook hands it, for cuLaunchKernel, a launch that first
// opts the kernel in to the shared memory that launch asks for (once per kernel and size), then
// launches. Installed before the runtime's first CUDA call (CompiledModule::load), it sees every launch,
// including those a CUDA graph captures. A launch the GPU cannot satisfy fails as before, and
// launch_problem() says why.
#pragma once

#include <HalideRuntime.h>

#include <string>

namespace rnnc::runtime::cuda {

// Shared memory a block may use without opting in; launches that ask for more are opted in.
constexpr unsigned kSharedBytesWithoutOptIn = 48 * 1024;

// Puts rnnc's library-symbol hook into a Halide runtime through its setter. Idempotent; several
// runtimes (JIT modules) may be hooked.
void allow_large_shared_memory(halide_get_library_symbol_t (*set_get_library_symbol)(halide_get_library_symbol_t));

// Why the last launch on this thread that needed an opt-in failed: the bytes asked for and the GPU's
// limit; "" when none did. Taking it clears it.
std::string take_launch_problem();

}  // namespace rnnc::runtime::cuda
