// CPU schedules for lowered kernels (x86-64 AVX2 / AVX-512), chosen from the kernel's static shapes and
// the target's vector width, never written per model.
#pragma once

#include <Halide.h>

#include "codegen/lower.h"

namespace rnnc::codegen {

void schedule_cpu(LoweredKernel& kernel, const Halide::Target& target);

// f32 lanes of the target's widest vectors: 16 with AVX-512, 8 with AVX2/AVX, 4 otherwise.
int vector_lanes(const Halide::Target& target);

// The cores CPU schedules split their work for (the weight gradients' row parts): this machine's. Compiled
// kernels depend on it, so the kernel cache key carries it (jit_cache_key).
int schedule_cores();

}  // namespace rnnc::codegen
