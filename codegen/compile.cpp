#include "codegen/compile.h"

#include <optional>

#include "codegen/gpu_launches.h"
#include "codegen/lower.h"
#include "codegen/proven_failures.h"
#include "codegen/schedule_cpu.h"
#include "codegen/schedule_gpu.h"
#include "ir/error.h"

namespace rnnc::codegen {

namespace {

// A GPU pipeline embeds its device code and its driver state as buffers named after the API alone
// ("cuda_gpu_source_kernels", "cuda_buf"): linked into one module, every pipeline would read the last
// pipeline's code and share one state. Each kernel's buffers get its name in front.
class RenameBuffers : public Halide::Internal::IRMutator {
 public:
  explicit RenameBuffers(std::map<std::string, std::string> names) : names_(std::move(names)) {}
  using IRMutator::visit;
  Halide::Expr visit(const Halide::Internal::Variable* op) override {
    auto it = names_.find(op->name);
    if (it == names_.end()) return op;
    return Halide::Internal::Variable::make(op->type, it->second, op->image, op->param, op->reduction_domain);
  }

 private:
  std::map<std::string, std::string> names_;
};

void give_buffers_unique_names(Halide::Module& module, const std::string& prefix) {
  std::map<std::string, std::string> names;
  for (Halide::Buffer<void> b : module.buffers()) {  // handles: renaming renames the module's buffer
    std::string name = b.name();
    b.set_name(prefix + "_" + name);
    names[name + ".buffer"] = b.name() + ".buffer";
  }
  if (names.empty()) return;
  RenameBuffers rename(names);
  for (Halide::Internal::LoweredFunc& f : module.functions()) f.body = rename.mutate(f.body);
}

}  // namespace

Halide::Target parse_target(const std::string& target) {
  if (target == "host") return Halide::get_host_target();
  RNNC_USER_CHECK(Halide::Target::validate_target_string(target)) << "not a Halide target: '" << target << "'";
  return Halide::Target(target);
}

bool compiled_for(const runtime::KernelSpec& spec, const Halide::Target& target) {
  return !(spec.cpu_only && target.has_gpu_feature());
}

void check_addressable(const runtime::ExecutionPlan& plan, const Halide::Target& target) {
  // Symbolic dims (time, batch) count as 1 here: the runtime checks a call's sizes.
  const double most = static_cast<double>(target.maximum_buffer_size());
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (!compiled_for(spec, target)) continue;
    std::vector<ir::Value> values = spec.inputs;
    values.insert(values.end(), spec.outputs.begin(), spec.outputs.end());
    for (const ir::Value& v : values) {
      const ir::TensorType& t = spec.function->type(v);
      const double elements = ir::fixed_element_count(t);
      RNNC_USER_CHECK(elements <= most)
          << "codegen: kernel " << spec.name << " reads or writes %" << spec.function->value_name(v) << " of type "
          << t.str() << ", " << static_cast<long long>(elements) << " elements without its symbolic dims; kernels for "
          << target.to_string() << " address at most " << static_cast<long long>(most)
          << " elements a buffer (Halide's 32-bit indexing); use a smaller hidden or input size";
    }
  }
}

namespace {

// Lowers and schedules one kernel, a step's row statistics where `statistics` says; with `to_module`,
// Halide lowers it into a module (on a GPU target that runs rnnc's own lowering passes too), which LLVM
// then compiles. `statistics_tile`: whether materialising the step's row statistics would tile it.
std::optional<Halide::Module> lower_once(const runtime::KernelSpec& spec, const Halide::Target& target,
                                         const std::string& suffix, bool to_module, const GpuTiling& tile,
                                         RowStatistics statistics, bool* statistics_tile) {
  const bool gpu = target.has_gpu_feature();
  LoweredKernel k = gpu ? lower_for_gpu(spec, target, tile, statistics) : lower_kernel(spec);
  *statistics_tile = gpu && spec.step && statistics == RowStatistics::in_block && row_mode_from_statistics(k);
  if (!gpu) schedule_cpu(k, target);
  Halide::Pipeline pipeline(k.outputs);
  if (gpu) add_gpu_lowering_passes(pipeline);
  if (!to_module) return std::nullopt;
  ProvenFailures failures;
  Halide::Module module = pipeline.compile_to_module(k.arguments, spec.name + suffix, target);
  const std::string proven = failures.assertions();
  if (!proven.empty()) {
    throw InternalError("codegen: kernel " + spec.name + " has an assertion that fails wherever it is reached " +
                        "(Halide proved it while lowering for " + target.to_string() +
                        "; a schedule that gets a size wrong):\n" + proven);
  }
  if (gpu) give_buffers_unique_names(module, spec.name + suffix);
  return module;
}

// lower_once, and on a GPU target a step in row mode for its row statistics whose rows would need more
// shared memory than a block has (the layer-norm LSTM's forward step past hidden ~840 on CUDA) lowered
// again with them materialised, tiled (at once with GpuTiling::materialise_row_statistics). Without
// `to_module` (a re-lowering for the sanitizers' sake) the size is unknown, so such a step is lowered
// both ways. Halide's errors are ours.
std::optional<Halide::Module> lower_one(const runtime::KernelSpec& spec, const Halide::Target& target,
                                        const std::string& suffix, bool to_module, const GpuTiling& tile) {
  const RowStatistics first =
      tile.materialise_row_statistics ? RowStatistics::materialised : RowStatistics::in_block;
  bool statistics_tile = false;
  std::optional<Halide::Module> module;
  try {
    module = lower_once(spec, target, suffix, to_module, tile, first, &statistics_tile);
  } catch (const Halide::Error& e) {
    throw InternalError("codegen: Halide rejected kernel " + spec.name + ": " + e.what());
  }
  if (!target.has_gpu_feature()) return module;
  if (statistics_tile && (!module || largest_launch_shared_bytes(*module) > gpu_block_shared_bytes(target))) {
    try {
      module = lower_once(spec, target, suffix, to_module, tile, RowStatistics::materialised, &statistics_tile);
    } catch (const Halide::Error& e) {
      throw InternalError("codegen: Halide rejected kernel " + spec.name +
                          " (lowered again with its row statistics materialised, its rows too wide for a GPU " +
                          "block's shared memory): " + e.what());
    }
  }
  if (module) check_launch_limits(*module, target, spec.name);
  return module;
}

}  // namespace

Halide::Module compile_plan(const runtime::ExecutionPlan& plan, const Halide::Target& target, const std::string& name,
                            const std::string& suffix, const GpuTiling& tile) {
  check_addressable(plan, target);
  std::vector<Halide::Module> modules;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (compiled_for(spec, target)) modules.push_back(*lower_one(spec, target, suffix, true, tile));
  }
  RNNC_USER_CHECK(!modules.empty()) << "codegen: module @" << plan.module().name() << " has no kernels to compile";
  try {
    return Halide::link_modules(name, modules);
  } catch (const Halide::Error& e) {
    throw InternalError("codegen: linking the kernels of " + name + " failed: " + e.what());
  }
}

void relower_plan(const runtime::ExecutionPlan& plan, const Halide::Target& target, const GpuTiling& tile) {
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (compiled_for(spec, target)) lower_one(spec, target, "", /*to_module=*/false, tile);
  }
}

}  // namespace rnnc::codegen
