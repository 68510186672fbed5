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

// Helpers other passes reuse.
bool eliminate_dead_code(ir::Function& f);

}  // namespace rnnc::passes
