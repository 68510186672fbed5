#include "codegen/aot.h"

#include <Halide.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "codegen/compile.h"
#include "codegen/exclusive_lock.h"
#include "codegen/fingerprint.h"  // generated: RNNC_CODEGEN_FINGERPRINT
#include "codegen/jit.h"
#include "codegen/kernel_cache.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "runtime/device.h"
#include "runtime/execution_plan.h"

namespace rnnc::codegen {

namespace fs = std::filesystem;

const std::set<std::string>& aot_emit_kinds() {
  static const std::set<std::string> kinds = {"ir", "stmt", "html", "asm", "llvm", "obj", "header"};
  return kinds;
}

namespace {

// The host check for one target, in the generated header: the CPU features its code assumes.
std::string cpu_check(const Halide::Target& t) {
  std::vector<std::string> checks;
  auto need = [&](Halide::Target::Feature f, const char* gcc_name) {
    if (t.has_feature(f)) checks.push_back(std::string("__builtin_cpu_supports(\"") + gcc_name + "\")");
  };
  need(Halide::Target::SSE41, "sse4.1");
  need(Halide::Target::AVX, "avx");
  need(Halide::Target::AVX2, "avx2");
  need(Halide::Target::FMA, "fma");
  // clang 14's __builtin_cpu_supports knows no "f16c" (gcc does): asked through cpuid instead.
  if (t.has_feature(Halide::Target::F16C)) checks.push_back("rnnc_aot_cpu_has_f16c()");
  need(Halide::Target::AVX512, "avx512f");
  need(Halide::Target::AVX512_Skylake, "avx512bw");
  if (checks.empty()) return "true";
  std::string s;
  for (const std::string& c : checks) s += (s.empty() ? "" : " && ") + c;
  return s;
}

// Where a target's kernels run.
runtime::Device target_device(const Halide::Target& t) {
  if (t.has_feature(Halide::Target::CUDA)) return runtime::Device::Cuda;
  if (t.has_feature(Halide::Target::OpenCL)) return runtime::Device::OpenCL;
  RNNC_USER_CHECK(!t.has_gpu_feature()) << "compile: target " << t.to_string()
                                        << ": only the cuda and opencl GPU APIs are supported";
  return runtime::Device::Cpu;
}

// The one Halide runtime in the library serves every target: the first target's, with the GPU APIs of
// all of them.
Halide::Target runtime_target(const std::vector<Halide::Target>& targets) {
  Halide::Target t = targets.front();
  for (const Halide::Target& other : targets) {
    for (Halide::Target::Feature f : {Halide::Target::CUDA, Halide::Target::OpenCL}) {
      if (other.has_feature(f)) t = t.with_feature(f);
    }
  }
  return t;
}

const char* device_enum(runtime::Device d) {
  switch (d) {
    case runtime::Device::Cpu: return "rnnc::runtime::Device::Cpu";
    case runtime::Device::Cuda: return "rnnc::runtime::Device::Cuda";
    case runtime::Device::OpenCL: return "rnnc::runtime::Device::OpenCL";
  }
  return "rnnc::runtime::Device::Cpu";
}

// The files of one compile, made in a folder of their own inside the output folder and moved into it only
// once every one is made: a compile that fails (a target Halide cannot compile, a full disk) leaves the
// output folder as it was, not with the objects of the targets before the failing one beside an old
// header. Two compiles into one folder at once publish one after the other (on one machine), and each
// removes what earlier compiles of its library left: the folder ends with the last one's files alone.
class StagedOutputs {
 public:
  explicit StagedOutputs(const fs::path& dir) : dir_(dir) {
    remove_abandoned_stages();
    // Unique for this process and call: another thread or process compiling into the same folder has its own.
    std::string pattern = (dir / (kPrefix + std::to_string(::getpid()) + ".XXXXXX")).string();
    const bool made = ::mkdtemp(pattern.data()) != nullptr;
    const int error = errno;  // before the message is built, which may change errno
    RNNC_USER_CHECK(made) << "compile: cannot create a staging folder in " << dir << ": " << std::strerror(error);
    stage_ = pattern;
  }
  StagedOutputs(const StagedOutputs&) = delete;
  StagedOutputs& operator=(const StagedOutputs&) = delete;
  ~StagedOutputs() {
    std::error_code ec;
    fs::remove_all(stage_, ec);
  }

  // Where file `name` is made for now. A member of the static library keeps its name there.
  fs::path staged(const std::string& name) const { return stage_ / name; }
  // Where it will be.
  fs::path final(const std::string& name) const { return dir_ / name; }
  void copy_in(const fs::path& from, const std::string& name) const {
    std::error_code ec;
    fs::copy_file(from, staged(name), fs::copy_options::overwrite_existing, ec);
    RNNC_USER_CHECK(!ec) << "compile: cannot copy " << from << " to " << staged(name) << ": " << ec.message();
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(staged(name), std::ios::binary);
    out << text;
    out.close();
    RNNC_USER_CHECK(out.good()) << "compile: cannot write " << staged(name);
  }
  // Moves the named files into the output folder (each rename replaces the old file at once) and removes
  // the files an earlier compile of `library` left there that this one did not make (per-target objects,
  // statements, assembly: they would not match its library, or would describe other code). The rest of
  // the stage (the objects the library holds) goes with it.
  void publish(const std::vector<std::string>& names, const std::string& library) const {
    const FolderLock lock(dir_);
    for (const std::string& name : names) {  // what would stop a rename, found before the first one
      std::error_code ec;
      RNNC_USER_CHECK(!fs::is_directory(final(name), ec)) << "compile: cannot write " << final(name) << ": it is a directory";
    }
    for (const std::string& name : names) {
      std::error_code ec;
      fs::rename(staged(name), final(name), ec);
      RNNC_USER_CHECK(!ec) << "compile: cannot move " << staged(name) << " to " << final(name) << ": " << ec.message();
    }
    const std::set<std::string> published(names.begin(), names.end());
    std::vector<fs::path> left_over;  // found first, removed after: not while the folder is being read
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
      const std::string file = e.path().filename().string();
      std::error_code ignored;
      if (!published.count(file) && emitted_by_compile_of(library, file) && e.is_regular_file(ignored)) {
        left_over.push_back(e.path());
      }
    }
    for (const fs::path& file : left_over) {
      std::error_code ignored;
      fs::remove(file, ignored);
    }
  }

 private:
  static inline const std::string kPrefix = ".rnnc-compile.";

  // Whether `file` is a name `rnnc compile --name library` may make beside its library and header:
  // target I's library_tI.o, .stmt, .stmt.html, .s, .ll or _kernels.h, or library.rnnir.
  static bool emitted_by_compile_of(const std::string& library, const std::string& file) {
    if (file == library + ".rnnir") return true;
    const std::string prefix = library + "_t";
    if (file.rfind(prefix, 0) != 0) return false;
    size_t end = prefix.size();
    while (end < file.size() && std::isdigit(static_cast<unsigned char>(file[end]))) ++end;
    if (end == prefix.size()) return false;
    static const std::set<std::string> kinds = {".o", ".stmt", ".stmt.html", ".s", ".ll", "_kernels.h"};
    return kinds.count(file.substr(end)) > 0;
  }

  // An advisory lock on the folder itself (flock on its descriptor): nothing to create or leave behind.
  // Where none can be had, the files are published without it, as before there was one: a folder the
  // compile may write but not read (EACCES), a file system without flock on directories (NFS:
  // EBADF, ENOLCK, EOPNOTSUPP).
  class FolderLock {
   public:
    explicit FolderLock(const fs::path& dir)
        : fd_(lock_exclusively(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))) {}
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;
    ~FolderLock() {
      if (fd_ >= 0) ::close(fd_);  // releases the lock
    }

   private:
    int fd_;
  };

  // The stages of compiles killed before they could remove them (SIGKILL, a crash): named for a process
  // that no longer exists.
  void remove_abandoned_stages() const {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kPrefix, 0) != 0) continue;
      const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + kPrefix.size()));
      if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
        std::error_code ignored;
        fs::remove_all(e.path(), ignored);
      }
    }
  }

  fs::path dir_, stage_;
};

}  // namespace

std::vector<std::string> compile_aot(const ir::Module& module, const AotOptions& o) {
  RNNC_USER_CHECK(!o.name.empty() && runtime::c_identifier(o.name) == o.name)
      << "compile: the library name '" << o.name << "' must be a C identifier";
  RNNC_USER_CHECK(!o.targets.empty()) << "compile: no target given";
  for (const std::string& e : o.emit) {
    RNNC_USER_CHECK(aot_emit_kinds().count(e)) << "compile: unknown --emit kind '" << e << "'";
  }
  runtime::ExecutionPlan plan(module);
  std::vector<Halide::Target> targets;
  for (const std::string& name : o.targets) {
    Halide::Target target = parse_target(name);
    target_device(target);  // a GPU API the executor cannot drive is rejected before compiling
    check_addressable(plan, target);
    targets.push_back(target);
  }
  fs::path dir(o.output_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  RNNC_USER_CHECK(!ec) << "compile: cannot create " << dir << ": " << ec.message();
  const StagedOutputs out(dir);
  std::vector<std::string> written;  // the files' names, published once all are made

  std::vector<std::string> objects;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Halide::Target& target = targets[i];
    // One runtime for the whole library, built separately below.
    Halide::Target kernel_target = target.with_feature(Halide::Target::NoRuntime);
    std::string suffix = "_t" + std::to_string(i);
    std::string base = o.name + suffix;
    std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, base + ".o"}};
    if (o.emit.count("stmt")) outputs[Halide::OutputFileType::stmt] = base + ".stmt";
    if (o.emit.count("html")) outputs[Halide::OutputFileType::stmt_html] = base + ".stmt.html";
    if (o.emit.count("asm")) outputs[Halide::OutputFileType::assembly] = base + ".s";
    if (o.emit.count("llvm") || o.emit.count("ir")) outputs[Halide::OutputFileType::llvm_assembly] = base + ".ll";
    if (o.emit.count("header")) outputs[Halide::OutputFileType::c_header] = base + "_kernels.h";
    // Keyed as the JIT's kernels are, and on the symbols' names and the files asked for.
    std::string key = "aot\n" + jit_cache_key(plan, kernel_target.to_string()) + "\n" + base;
    for (const auto& [kind, file] : outputs) key += " " + file;
    if (target.has_gpu_feature() && !o.gpu_tiling.is_default()) key += "\ngpu tiling " + o.gpu_tiling.to_string();
    CacheEntry entry = cached_build(base, key, [&](const fs::path& cache) {
      Halide::Module m = compile_plan(plan, kernel_target, base, suffix, o.gpu_tiling);
      std::map<Halide::OutputFileType, std::string> in_cache;
      for (const auto& [kind, file] : outputs) in_cache[kind] = (cache / file).string();
      try {
        m.compile(in_cache);
      } catch (const Halide::Error& e) {
        throw InternalError("compile: Halide failed on target " + target.to_string() + ": " + e.what());
      }
    });
    if (entry.hit && relower_on_cache_hit()) relower_plan(plan, kernel_target, o.gpu_tiling);
    for (const auto& [kind, file] : outputs) {
      out.copy_in(entry.dir / file, file);
      if (kind != Halide::OutputFileType::object || o.emit.count("obj")) written.push_back(file);
    }
    objects.push_back(out.staged(base + ".o").string());
  }
  std::string runtime_object = out.staged(o.name + "_runtime.o").string();
  try {
    Halide::Target rt = runtime_target(targets);
    std::string key = std::string("runtime\n") + RNNC_CODEGEN_FINGERPRINT + "\n" + rt.to_string();
    CacheEntry entry = cached_build("halide_runtime", key, [&](const fs::path& cache) {
      Halide::compile_standalone_runtime((cache / "runtime.o").string(), rt);
    });
    out.copy_in(entry.dir / "runtime.o", o.name + "_runtime.o");
    const std::string library = "lib" + o.name + ".a";
    std::vector<std::string> members = objects;
    members.push_back(runtime_object);
    Halide::create_static_library(members, targets.front(), out.staged(library).string());
    written.push_back(library);
  } catch (const Halide::Error& e) {
    throw InternalError(std::string("compile: building the static library failed: ") + e.what());
  }

  // The model header: IR, kernel table per target, loader.
  std::string ir = ir::print_module(module);
  RNNC_INTERNAL_CHECK(ir.find(")rnnc_ir\"") == std::string::npos) << "IR text contains the raw-string delimiter";
  std::string h;
  h += "// Generated by `rnnc compile` for module @" + module.name() + ". Do not edit.\n";
  bool cuda = false, opencl = false;
  for (const Halide::Target& t : targets) {
    cuda |= target_device(t) == runtime::Device::Cuda;
    opencl |= target_device(t) == runtime::Device::OpenCL;
  }
  h += "#pragma once\n\n#include <HalideRuntime.h>\n";
  if (cuda) h += "#include <HalideRuntimeCuda.h>\n";
  if (opencl) h += "#include <HalideRuntimeOpenCL.h>\n";
  h += "\n#if defined(__x86_64__) || defined(__i386__)\n#include <cpuid.h>\n#endif\n";
  h += "\n#include <memory>\n#include <string>\n\n#include \"ir/error.h\"\n#include \"ir/parser.h\"\n"
       "#include \"runtime/compiled_executor.h\"\n\n";
  h += "extern \"C\" {\n";
  if (cuda) {
    // In Halide 14's runtime but not its headers: the context hooks CUDA graphs use.
    h += "int halide_cuda_acquire_context(void* user_context, void** ctx, bool create);\n"
         "int halide_cuda_release_context(void* user_context);\n";
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const runtime::KernelSpec& spec : plan.kernels()) {
      if (!compiled_for(spec, targets[i])) continue;
      h += "int " + spec.name + "_t" + std::to_string(i) + "_argv(void** args);\n";
    }
  }
  h += "}\n\nnamespace rnnc_models::" + o.name + " {\n\n";
  h += "// The optimised IR the kernels were compiled from: the executor plans the run from it.\n";
  h += "inline const char* ir_text() {\n  return R\"rnnc_ir(" + ir + ")rnnc_ir\";\n}\n\n";
  h += "inline constexpr int target_count = " + std::to_string(targets.size()) + ";\n\n";
  h += "// The kernels compiled for target i (in the order `rnnc compile` was given the targets).\n";
  h += "inline rnnc::runtime::KernelTable kernels_for_target(int i) {\n  rnnc::runtime::KernelTable table;\n";
  h += "  table.set_error_handler = &halide_set_error_handler;\n";
  h += "  table.set_custom_malloc = &halide_set_custom_malloc;\n";
  h += "  table.set_custom_free = &halide_set_custom_free;\n";
  h += "  table.default_malloc = &halide_default_malloc;\n";
  for (size_t i = 0; i < targets.size(); ++i) {
    h += "  if (i == " + std::to_string(i) + ") {  // " + targets[i].to_string() + "\n";
    for (const runtime::KernelSpec& spec : plan.kernels()) {
      if (!compiled_for(spec, targets[i])) continue;
      h += "    table.functions[\"" + spec.name + "\"] = &" + spec.name + "_t" + std::to_string(i) + "_argv;\n";
    }
    runtime::Device d = target_device(targets[i]);
    if (d != runtime::Device::Cpu) {
      h += std::string("    table.device = ") + device_enum(d) + ";\n";
      h += std::string("    table.device_interface = &") +
           (d == runtime::Device::Cuda ? "halide_cuda_device_interface" : "halide_opencl_device_interface") + ";\n";
      h += "    table.reuse_device_allocations = &halide_reuse_device_allocations;\n";
      if (d == runtime::Device::Cuda) {
        h += "    table.cuda_acquire_context = &halide_cuda_acquire_context;\n";
        h += "    table.cuda_release_context = &halide_cuda_release_context;\n";
        h += "    table.set_cuda_get_stream = &halide_set_cuda_get_stream;\n";
        h += "    table.set_get_library_symbol = &halide_set_custom_get_library_symbol;\n";
      }
    }
    h += "  }\n";
  }
  h += "  return table;\n}\n\n";
  h += "// Where target i's kernels run.\n";
  h += "inline rnnc::runtime::Device target_device(int i) {\n";
  for (size_t i = 0; i < targets.size(); ++i) {
    h += "  if (i == " + std::to_string(i) + ") return " + device_enum(target_device(targets[i])) + ";\n";
  }
  h += "  return rnnc::runtime::Device::Cpu;\n}\n\n";
  h += "// CPUID leaf 1, ECX bit 29 (F16C), for compilers whose __builtin_cpu_supports lacks it.\n";
  h += "inline bool rnnc_aot_cpu_has_f16c() {\n";
  h += "#if defined(__x86_64__) || defined(__i386__)\n";
  h += "  unsigned a = 0, b = 0, c = 0, d = 0;\n";
  h += "  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;\n";
  h += "#else\n  return false;\n#endif\n}\n\n";
  h += "// Whether this CPU can run target i's code.\n";
  h += "inline bool cpu_supports_target(int i) {\n";
  for (size_t i = 0; i < targets.size(); ++i) {
    h += "  if (i == " + std::to_string(i) + ") return " + cpu_check(targets[i]) + ";\n";
  }
  h += "  return false;\n}\n\n";
  h += "// The kernels of the first target for `device` this CPU supports (none: an empty table).\n";
  h += "inline rnnc::runtime::KernelTable kernels(rnnc::runtime::Device device = rnnc::runtime::Device::Cpu) {\n";
  h += "  for (int i = 0; i < target_count; ++i) {\n";
  h += "    if (target_device(i) == device && cpu_supports_target(i)) return kernels_for_target(i);\n  }\n";
  h += "  return {};\n}\n\n";
  h += "// The compiled model on `device`: set its parameters, then run(\"forward\", …)";
  h += plan.kernels().empty() ? ".\n" : " (and \"backward\" when compiled for training).\n";
  h += "// A GPU without a driver or a device is a UserError that says so (see load_or_fallback).\n";
  h += "inline std::unique_ptr<rnnc::runtime::CompiledModule> load(rnnc::runtime::Device device = rnnc::runtime::Device::Cpu) {\n";
  h += "  auto model = std::make_unique<rnnc::runtime::CompiledModule>(rnnc::ir::parse_module(ir_text(), \"" + o.name +
       ".h\"));\n";
  h += "  rnnc::runtime::KernelTable table = kernels(device);\n";
  h += "  if (table.functions.empty()) {\n";
  h += "    throw rnnc::UserError(std::string(\"" + o.name + ": compiled for no \") + rnnc::runtime::device_name(device) +\n";
  h += "                          \" target this machine runs (targets: ";
  for (size_t i = 0; i < targets.size(); ++i) h += (i ? ", " : "") + targets[i].to_string();
  h += ")\");\n  }\n";
  h += "  model->load(std::move(table));\n  return model;\n}\n\n";
  h += "// The model on `device`, or on the CPU when `device` is a GPU this machine cannot use (no driver,\n";
  h += "// no device, or this library has no target for it); then `note` (if given) says why in one line,\n";
  h += "// for the caller to print.\n";
  h += "inline std::unique_ptr<rnnc::runtime::CompiledModule> load_or_fallback(rnnc::runtime::Device device, std::string* note) {\n";
  h += "  if (device != rnnc::runtime::Device::Cpu) {\n";
  h += "    std::string why = rnnc::runtime::device_unavailable_reason(device);\n";
  h += "    if (why.empty()) {\n      try {\n        return load(device);\n      } catch (const rnnc::UserError& e) {\n";
  h += "        why = rnnc::runtime::one_line(e.what());\n      }\n    }\n";
  h += "    if (note) *note = why + \"; running on the CPU instead\";\n  }\n";
  h += "  return load(rnnc::runtime::Device::Cpu);\n}\n\n}  // namespace rnnc_models::" + o.name + "\n";
  out.write(o.name + ".h", h);
  written.push_back(o.name + ".h");
  if (o.emit.count("ir")) {
    out.write(o.name + ".rnnir", ir);
    written.push_back(o.name + ".rnnir");
  }
  out.publish(written, o.name);
  std::vector<std::string> paths;
  for (const std::string& name : written) paths.push_back(out.final(name).string());
  return paths;
}

}  // namespace rnnc::codegen
