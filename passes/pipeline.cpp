// The pipelines, each one straight list: the order the passes run in is the order they are written.
#include "passes/pipeline.h"

#include <functional>
#include <map>

#include "ir/error.h"
#include "passes/passes.h"

namespace rnnc::passes {

void add_training_pipeline(PassManager& pm) {
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_fuse_gates());          // one [batch, 4H] product per step, as written per gate
  pm.add(create_hoist_projections());   // x · W_ih for all steps at once, before the loop
  pm.add(create_autodiff());            // @backward, through time
  pm.add(create_hoist_projections());   // dx = dg · W_ih for all steps at once, after the loop
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_dce());
  pm.add(create_sum_in_scan());         // a layer norm's scale/shift gradients: summed as the loop runs
  pm.add(create_transpose_weights());   // weights as [K, N], transposed once, outside the loops
  pm.add(create_fuse_elementwise());    // each step's gate math: one fused group
  pm.add(create_partition_kernels());
}

void add_inference_pipeline(PassManager& pm) {
  pm.add(create_strip_training());      // no dropout, no loss
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_fuse_gates());
  pm.add(create_hoist_projections());
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_dce());
  pm.add(create_transpose_weights());
  pm.add(create_fuse_elementwise());
  pm.add(create_partition_kernels());
}

namespace {

using Factory = std::function<PassPtr(const std::string& argument)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"canonicalize", [](const std::string&) { return create_canonicalize(); }},
      {"cse", [](const std::string&) { return create_cse(); }},
      {"dce", [](const std::string&) { return create_dce(); }},
      {"autodiff", [](const std::string&) { return create_autodiff(); }},
      {"fuse-gates", [](const std::string&) { return create_fuse_gates(); }},
      {"fuse-elementwise", [](const std::string&) { return create_fuse_elementwise(); }},
      {"unroll", [](const std::string& factor) { return create_unroll(factor); }},
      {"partition-kernels", [](const std::string&) { return create_partition_kernels(); }},
      {"strip-training", [](const std::string&) { return create_strip_training(); }},
      {"transpose-weights", [](const std::string&) { return create_transpose_weights(); }},
      {"hoist-projections", [](const std::string&) { return create_hoist_projections(); }},
      {"sum-in-scan", [](const std::string&) { return create_sum_in_scan(); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> pass_names() {
  std::vector<std::string> out;
  for (const auto& entry : registry()) out.push_back(entry.first);
  return out;
}

PassPtr create_pass(const std::string& spec) {
  std::string name = spec, argument;
  if (size_t eq = spec.find('='); eq != std::string::npos) {
    name = spec.substr(0, eq);
    argument = spec.substr(eq + 1);
  }
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& n : pass_names()) known += (known.empty() ? "" : ", ") + n;
    throw_user_error("unknown pass '" + name + "' (known: " + known + ")");
  }
  return it->second(argument);
}

void add_passes(PassManager& pm, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string spec = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (spec.empty()) throw_user_error("empty pass name in '" + list + "'");
    pm.add(create_pass(spec));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

void add_passes_after_pipeline(PassManager& pm, const std::string& list) {
  add_passes(pm, list);
  add_passes(pm, "partition-kernels");
}

}  // namespace rnnc::passes
