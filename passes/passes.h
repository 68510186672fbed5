// Every pass rnnc has, by factory. Each is defined in the file of its name.
#pragma once

#include <string>
#include <vector>

#include "passes/pass.h"

namespace rnnc::passes {

PassPtr create_canonicalize();   // canonicalize.cpp: local simplifications (x + 0, slice of concat, …)
PassPtr create_cse();            // cse.cpp: common-subexpression elimination
PassPtr create_dce();            // dce.cpp: dead code, unused scan outputs/inputs/carries
PassPtr create_autodiff();       // autodiff.cpp: reverse mode through time: @backward from @forward
PassPtr create_fuse_gates();       // fuse_gates.cpp: matmuls sharing an operand -> one matmul + slices
PassPtr create_fuse_elementwise();  // fuse_elementwise.cpp: elementwise chains -> fused groups
PassPtr create_unroll(const std::string& factor);  // unroll.cpp: K steps per scan iteration
PassPtr create_partition_kernels();  // partition_kernels.cpp: which ops form which kernel
PassPtr create_strip_training();     // strip_training.cpp: @forward for inference
PassPtr create_transpose_weights();  // transpose_weights.cpp: weights [K, N] for plain matmuls
PassPtr create_hoist_projections();  // hoist_projections.cpp: loop-invariant code, input/output projections
PassPtr create_sum_in_scan();        // sum_in_scan.cpp: step outputs only summed over time -> carried sums

// Helpers other passes reuse.
bool eliminate_dead_code(ir::Function& f);

}  // namespace rnnc::passes
