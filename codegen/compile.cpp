#include "codegen/compile.h"

#include "codegen/lower.h"
#include "codegen/schedule_cpu.h"
#include "ir/error.h"

namespace rnnc::codegen {

Halide::Target parse_target(const std::string& target) {
  if (target == "host") return Halide::get_host_target();
  RNNC_USER_CHECK(Halide::Target::validate_target_string(target)) << "not a Halide target: '" << target << "'";
  return Halide::Target(target);
}

Halide::Module compile_plan(const runtime::ExecutionPlan& plan, const Halide::Target& target, const std::string& name,
                            const std::string& suffix) {
  std::vector<Halide::Module> modules;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    try {
      LoweredKernel k = lower_kernel(spec);
      schedule_cpu(k, target);
      Halide::Pipeline pipeline(k.outputs);
      modules.push_back(pipeline.compile_to_module(k.arguments, spec.name + suffix, target));
    } catch (const Halide::Error& e) {
      throw InternalError("codegen: Halide rejected kernel " + spec.name + ": " + e.what());
    }
  }
  RNNC_USER_CHECK(!modules.empty()) << "codegen: module @" << plan.module().name() << " has no kernels to compile";
  try {
    return Halide::link_modules(name, modules);
  } catch (const Halide::Error& e) {
    throw InternalError("codegen: linking the kernels of " + name + " failed: " + e.what());
  }
}

}  // namespace rnnc::codegen
