#include "tools/compile_command.h"

#include <iostream>
#include <set>

#include "codegen/aot.h"
#include "passes/pipeline.h"
#include "runtime/execution_plan.h"
#include "tools/pass_flags.h"

namespace rnnc::cli {

const std::set<std::string> kCompileValuedFlags = {"mode", "target", "output", "emit", "name", "gpu-step-tile",
                                                   "gpu-gemm-unroll", "gpu-row-statistics"};
const char* kCompileFlagsHelp = R"(options of 'compile':
  --mode train|infer   training (@forward + @backward) or inference (@forward) pipeline (default infer)
  --target T[,T…]      Halide target strings, tried in order at load time (default host); e.g.
                       x86-64-linux-avx2-fma-sse41,x86-64-linux-sse41
  -o DIR               (as --output DIR) where the files go (default .)
  --name NAME          library and namespace name (default: the model's name as a C identifier)
  --emit K[,K…]        also write: ir (the optimised .rnnir and LLVM .ll), llvm, stmt, html, asm,
                       obj, header (Halide's C header of the kernels)
  --gpu-step-tile C,S[,R]  GPU targets: tile a scan step's kernels C columns wide (1-32), a
                       product's reduction split into S slices (0: by rule), R rows a thread (1, 2
                       or 4); for measuring other tiles on a device (default: the schedules' own
                       choice, 32,0,4)
  --gpu-gemm-unroll N  GPU targets: steps of k a GEMM thread's loop unrolls (1, 2, 4 or 8; default
                       4); for measuring on a device
  --gpu-row-statistics auto|materialised  GPU targets: a step's row statistics (layer norm) in the
                       shared memory of a block per row, unless a row is too wide for it (auto,
                       the default), or always computed by launches of their own, the step tiled
                       (materialised: that path checked at small sizes)
  --passes=a,b,c       more passes after the --mode pipeline (e.g. unroll=2); the kernels are formed
                       again after them
  --print-after-all, --print-before-all, --print-after=P[,Q], --print-before=P[,Q]
                       print the IR after / before every pass or the named ones, to standard error
)";

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int compile_command(const Args& args, ir::Module module) {
  std::string mode = args.get("mode", "infer");
  if (mode != "train" && mode != "infer") throw UsageError("--mode must be train or infer, got '" + mode + "'");
  if (args.has("pipeline")) throw UsageError("--pipeline is not an option of 'compile': --mode chooses its pipeline");
  passes::PassManager pm;
  mode == "train" ? passes::add_training_pipeline(pm) : passes::add_inference_pipeline(pm);
  if (args.has("passes")) passes::add_passes_after_pipeline(pm, args.get("passes"));
  // The IR dumps go to standard error: standard output lists the files written.
  configure_printing(args, pm, &std::cerr);
  pm.run(module);

  codegen::AotOptions o;
  o.name = args.get("name", runtime::c_identifier(module.name()));
  // The name becomes a C++ namespace (rnnc_models::NAME) and symbols' prefix: a keyword would not compile.
  static const std::set<std::string> keywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
      "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
      "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
      "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
  if (keywords.count(o.name)) throw UsageError("--name '" + o.name + "' is a C++ keyword: the library's namespace would not compile");
  // Kernel symbols are named after the module: naming it after the library keeps two libraries of one
  // model (say gru for training and for inference) linkable into one program.
  module.set_name(o.name);
  o.targets = split_list(args.get("target", "host"));
  o.output_dir = args.get("output", ".");
  if (args.has("gpu-step-tile")) o.gpu_tiling = codegen::parse_gpu_step_tile(args.get("gpu-step-tile"));
  if (args.has("gpu-gemm-unroll")) {
    o.gpu_tiling.gemm_unroll = codegen::checked_gpu_gemm_unroll(args.get_int("gpu-gemm-unroll", o.gpu_tiling.gemm_unroll));
  }
  if (args.has("gpu-row-statistics")) {
    const std::string how = args.get("gpu-row-statistics");
    if (how != "auto" && how != "materialised") {
      throw UsageError("--gpu-row-statistics takes auto or materialised, got '" + how + "'");
    }
    o.gpu_tiling.materialise_row_statistics = how == "materialised";
  }
  for (const std::string& e : split_list(args.get("emit"))) {
    if (!codegen::aot_emit_kinds().count(e)) throw UsageError("--emit: unknown kind '" + e + "'");
    o.emit.insert(e);
  }
  for (const std::string& path : codegen::compile_aot(module, o)) std::cout << path << "\n";
  return 0;
}

}  // namespace rnnc::cli
