// JIT compilation: every kernel of an execution plan, linked into one shared object, loaded with
// dlopen. Compiled objects are cached on disk per jit_cache_key (codegen/kernel_cache.h: in
// $RNNC_CACHE_DIR, else ~/.cache/rnnc) and in memory: kernels are generic over the symbolic dims (batch,
// time), so one compilation serves every batch size and sequence length. Needs a C++ compiler driver (`c++`, or
// $RNNC_LINKER) to link the shared object.
#pragma once

#include <string>

#include "runtime/execution_plan.h"
#include "runtime/kernel_table.h"

namespace rnnc::codegen {

runtime::KernelTable jit_compile(const runtime::ExecutionPlan& plan, const std::string& target = "host");

// The JIT target for kernels that run on `device` (this CPU for the host code).
std::string jit_target(runtime::Device device);

// What a plan's compiled kernels depend on: a hash of the sources that lower, schedule and compile them
// (made by the build, cmake/Fingerprint.cmake), the target, the cores the CPU schedules split work for
// (schedule_cores: a cache copied to a machine with other cores compiles anew) and the module's IR
// (Halide is Debian's 14, pinned: after an upgrade of it, empty the cache). Not the lowered Halide
// code: Halide numbers its names per process ("output0$40", "t266"), so that text changes with
// whatever the process compiled before, and a cache keyed on it missed on every run.
std::string jit_cache_key(const runtime::ExecutionPlan& plan, const std::string& target);

}  // namespace rnnc::codegen
