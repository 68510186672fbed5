// Lowers, schedules and links every kernel of an execution plan into one Halide module for one target:
// what both the JIT (a shared object, loaded at once) and AOT compilation (a static library and a
// header) emit. One module instead of one per kernel: LLVM's per-module overhead dominated (22 LSTM
// kernels: 36 s one by one, 8 s linked).
#pragma once

#include <Halide.h>

#include <string>

#include "codegen/schedule_gpu.h"
#include "runtime/execution_plan.h"

namespace rnnc::codegen {

// "host" means the machine this runs on; anything else must be a valid Halide target string.
Halide::Target parse_target(const std::string& target);

// Whether `spec` is compiled for `target` (KernelSpec::cpu_only kernels are not, for GPU targets).
bool compiled_for(const runtime::KernelSpec& spec, const Halide::Target& target);

// A UserError naming the value, its type and size when a kernel's input or output holds more elements
// than `target`'s kernels address (Target::maximum_buffer_size: 2^31 - 1 without LargeBuffers; Halide
// indexes with 32 bits). The JIT and `rnnc compile` call it before the kernel cache is consulted, so
// that a model is refused the same way whether or not it was cached; compile_plan calls it too.
void check_addressable(const runtime::ExecutionPlan& plan, const Halide::Target& target);

// Each kernel becomes the function <spec.name><suffix> (a suffix keeps several targets' kernels apart).
// `tile`: a GPU target's steps tiled otherwise than by default (GpuTiling).
Halide::Module compile_plan(const runtime::ExecutionPlan& plan, const Halide::Target& target, const std::string& name,
                            const std::string& suffix = "", const GpuTiling& tile = {});

// rnnc's part of compile_plan, for a kernel-cache hit under relower_on_cache_hit(): every kernel lowered
// and scheduled, nothing compiled. Not Halide's lowering, which would run rnnc's GPU passes but costs
// 6-40 s per CUDA model and target under ASan (tests/unit/kernel_cache_test.cpp runs those passes on a small one).
void relower_plan(const runtime::ExecutionPlan& plan, const Halide::Target& target, const GpuTiling& tile = {});

}  // namespace rnnc::codegen
