// The pass pipelines, and passes by name for `--passes=a,b,c`.
#pragma once

#include <string>
#include <vector>

#include "passes/pass_manager.h"

namespace rnnc::passes {

// The training pipeline: @forward and @backward, optimised (pipeline.cpp reads top to bottom).
void add_training_pipeline(PassManager& pm);
// The inference pipeline: @forward alone, dropout removed, optimised.
void add_inference_pipeline(PassManager& pm);

// A pass from its name, or `name=argument` for passes that take one (`unroll=4`). UserError naming the
// known passes otherwise.
PassPtr create_pass(const std::string& spec);
// "a,b,c" -> the passes, in order.
void add_passes(PassManager& pm, const std::string& list);
// "a,b,c" run after a pipeline, which formed the kernels: the passes, then partition-kernels again (a
// pass such as unroll makes nodes that belong to no kernel yet; compiled so, an internal error).
void add_passes_after_pipeline(PassManager& pm, const std::string& list);
std::vector<std::string> pass_names();

}  // namespace rnnc::passes
