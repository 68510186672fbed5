// Ahead-of-time compilation of an optimised module into files a C++ program links:
//
//   lib<name>.a      every kernel of the module, for each target, plus Halide's runtime
//   <name>.h         the model: its optimised IR (embedded), the kernel table (chosen at load time from
//                    the targets the CPU supports, in the order given), and
//                      std::unique_ptr<rnnc::runtime::CompiledModule> rnnc_models::<name>::load();
//   on request (emit): <name>.rnnir (the optimised rnnc IR), and per target Halide's lowered loop nests
//                    (.stmt, .stmt.html), LLVM IR (.ll), assembly (.s), object (.o), C header (_kernels.h)
//
// The program then needs only rnnc's runtime library (runtime/compiled_executor.h), not Halide or LLVM.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "codegen/schedule_gpu.h"
#include "ir/function.h"

namespace rnnc::codegen {

struct AotOptions {
  std::string name;                  // C identifier for files and symbols
  std::vector<std::string> targets;  // Halide target strings; the first the CPU supports is used
  std::string output_dir;
  std::set<std::string> emit;        // any of: ir, stmt, html, asm, llvm, obj, header
  GpuTiling gpu_tiling;  // GPU targets: how steps are tiled and GEMMs unrolled (default: the schedules' choice)
};

// Writes the files; returns their paths. The module must be verified and optimised (a pipeline run).
std::vector<std::string> compile_aot(const ir::Module& module, const AotOptions& options);

// The emit words compile_aot understands, for --help and validation.
const std::set<std::string>& aot_emit_kinds();

}  // namespace rnnc::codegen
