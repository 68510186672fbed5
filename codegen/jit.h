// JIT compilation: every kernel of an execution plan, linked into one shared object, loaded with
// dlopen. Compiled objects are cached on disk per (target, module text) — in $RNNC_CACHE_DIR, else
// ~/.cache/rnnc — and in memory: kernels are generic over the symbolic dims (batch, time), so one
// compilation serves every batch size and sequence length. Needs a C++ compiler driver (`c++`, or
// $RNNC_LINKER) to link the shared object.
#pragma once

#include <string>

#include "runtime/execution_plan.h"
#include "runtime/kernel_table.h"

namespace rnnc::codegen {

runtime::KernelTable jit_compile(const runtime::ExecutionPlan& plan, const std::string& target = "host");

// The JIT target for kernels that run on `device` (this CPU for the host code).
std::string jit_target(runtime::Device device);

}  // namespace rnnc::codegen
