#include "codegen/jit.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "codegen/compile.h"
#include "codegen/fingerprint.h"  // generated: RNNC_CODEGEN_FINGERPRINT
#include "codegen/kernel_cache.h"
#include "codegen/schedule_cpu.h"
#include "ir/error.h"
#include "ir/printer.h"

namespace rnnc::codegen {

namespace fs = std::filesystem;

namespace {

struct SharedObject {
  void* handle = nullptr;
  ~SharedObject() {
    if (handle) dlclose(handle);
  }
};

// Links `object` into a shared object at `so`; the object is position-independent (Halide's default).
void link_shared(const fs::path& object, const fs::path& so) {
  const char* linker = std::getenv("RNNC_LINKER");
  std::string cmd = std::string(linker && *linker ? linker : "c++") + " -shared -o '" + so.string() + "' '" +
                    object.string() + "' -lpthread -ldl 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  RNNC_USER_CHECK(pipe) << "codegen: cannot run the linker: " << cmd;
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  int rc = pclose(pipe);
  RNNC_USER_CHECK(rc == 0) << "codegen: linking the JIT kernels failed (" << cmd << "):\n" << output;
}

}  // namespace

std::string jit_cache_key(const runtime::ExecutionPlan& plan, const std::string& target) {
  return std::string(RNNC_CODEGEN_FINGERPRINT) + "\n" + target + "\ncores=" + std::to_string(schedule_cores()) + "\n" +
         ir::print_module(plan.module());
}

runtime::KernelTable jit_compile(const runtime::ExecutionPlan& plan, const std::string& target_string) {
  static std::mutex mutex;
  static std::map<std::string, runtime::KernelTable> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  Halide::Target target = parse_target(target_string);
  check_addressable(plan, target);
  std::string key = jit_cache_key(plan, target.to_string());
  if (auto it = loaded.find(key); it != loaded.end()) return it->second;

  CacheEntry entry = cached_build(runtime::c_identifier(plan.module().name()), key, [&](const fs::path& dir) {
    // Lowering takes about a second, LLVM the rest; a cached object needs neither.
    Halide::Module module = compile_plan(plan, target, "rnnc_kernels");
    std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, (dir / "kernels.o").string()}};
    // RNNC_DUMP_STMT=1 keeps the lowered loop nests beside the cached object, for reading schedules.
    if (const char* dump = std::getenv("RNNC_DUMP_STMT"); dump && *dump == '1') {
      outputs[Halide::OutputFileType::stmt] = (dir / "kernels.stmt").string();
    }
    try {
      module.compile(outputs);
    } catch (const Halide::Error& e) {
      throw InternalError("codegen: compiling the kernels of @" + plan.module().name() + " failed: " + e.what());
    }
    link_shared(dir / "kernels.o", dir / "kernels.so");
    std::error_code ec;
    fs::remove(dir / "kernels.o", ec);
  });
  if (entry.hit && relower_on_cache_hit()) relower_plan(plan, target);
  fs::path so = entry.dir / "kernels.so";
  auto object = std::make_shared<SharedObject>();
  object->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  RNNC_USER_CHECK(object->handle) << "codegen: cannot load " << so << ": " << dlerror();
  runtime::KernelTable table;
  for (const runtime::KernelSpec& spec : plan.kernels()) {
    if (!compiled_for(spec, target)) continue;
    void* fn = dlsym(object->handle, (spec.name + "_argv").c_str());
    RNNC_USER_CHECK(fn) << "codegen: " << so << " lacks kernel " << spec.name << " (a stale cache? remove it)";
    table.functions[spec.name] = reinterpret_cast<runtime::KernelFunction>(fn);
  }
  // The runtime inside the shared object: its error hook, and for GPU kernels its device interface.
  auto runtime_symbol = [&](const char* name) {
    void* sym = dlsym(object->handle, name);
    RNNC_USER_CHECK(sym) << "codegen: " << so << " lacks Halide's " << name << " (a stale cache? remove it)";
    return sym;
  };
  table.set_error_handler = reinterpret_cast<halide_error_handler_t (*)(halide_error_handler_t)>(
      runtime_symbol("halide_set_error_handler"));
  table.set_custom_malloc = reinterpret_cast<halide_malloc_t (*)(halide_malloc_t)>(runtime_symbol("halide_set_custom_malloc"));
  table.set_custom_free = reinterpret_cast<halide_free_t (*)(halide_free_t)>(runtime_symbol("halide_set_custom_free"));
  table.default_malloc = reinterpret_cast<halide_malloc_t>(runtime_symbol("halide_default_malloc"));
  if (target.has_gpu_feature()) {
    const bool cuda = target.has_feature(Halide::Target::CUDA);
    RNNC_USER_CHECK(cuda || target.has_feature(Halide::Target::OpenCL))
        << "codegen: target " << target.to_string() << ": only the cuda and opencl GPU APIs are supported";
    table.device = cuda ? runtime::Device::Cuda : runtime::Device::OpenCL;
    table.device_interface = reinterpret_cast<const halide_device_interface_t* (*)()>(
        runtime_symbol(cuda ? "halide_cuda_device_interface" : "halide_opencl_device_interface"));
    table.reuse_device_allocations =
        reinterpret_cast<int (*)(void*, bool)>(runtime_symbol("halide_reuse_device_allocations"));
    if (cuda) {
      // For CUDA graphs only: optional (set_cuda_graphs says so when they are missing).
      table.cuda_acquire_context =
          reinterpret_cast<int (*)(void*, void**, bool)>(dlsym(object->handle, "halide_cuda_acquire_context"));
      table.cuda_release_context = reinterpret_cast<int (*)(void*)>(dlsym(object->handle, "halide_cuda_release_context"));
      table.set_cuda_get_stream = reinterpret_cast<runtime::KernelTable::CudaGetStream (*)(runtime::KernelTable::CudaGetStream)>(
          dlsym(object->handle, "halide_set_cuda_get_stream"));
      table.set_get_library_symbol = reinterpret_cast<halide_get_library_symbol_t (*)(halide_get_library_symbol_t)>(
          runtime_symbol("halide_set_custom_get_library_symbol"));
    }
  }
  table.keep_alive = object;
  loaded[key] = table;
  return table;
}

std::string jit_target(runtime::Device device) {
  switch (device) {
    case runtime::Device::Cpu: return "host";
    // The newest capability Halide 14 knows; newer GPUs (an H100) run its PTX through the driver's JIT.
    case runtime::Device::Cuda: return "host-cuda-cuda_capability_86";
    case runtime::Device::OpenCL: return "host-opencl";
  }
  return "host";
}

}  // namespace rnnc::codegen
