#include "runtime/cuda_shared_memory.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

namespace rnnc::runtime::cuda {

namespace {

using CUresult = int;
using Function = void*;
using LaunchKernel = CUresult (*)(Function f, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x,
                                  unsigned block_y, unsigned block_z, unsigned shared_bytes, void* stream,
                                  void** params, void** extra);
using FuncSetAttribute = CUresult (*)(Function f, int attribute, int value);
using CtxGetDevice = CUresult (*)(int* device);
using DeviceGetAttribute = CUresult (*)(int* value, int attribute, int device);

constexpr int kFuncMaxDynamicSharedBytes = 8;       // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
constexpr int kDeviceMaxSharedBytesOptIn = 97;      // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
constexpr CUresult kErrorNotSupported = 801;        // CUDA_ERROR_NOT_SUPPORTED

// The lookup the runtimes used before (Halide's default: dlsym), and the driver entry points found
// through it when a runtime asked for cuLaunchKernel.
std::atomic<halide_get_library_symbol_t> g_previous{nullptr};
std::atomic<LaunchKernel> g_launch{nullptr};
std::atomic<FuncSetAttribute> g_set_attribute{nullptr};
std::atomic<CtxGetDevice> g_ctx_get_device{nullptr};
std::atomic<DeviceGetAttribute> g_device_get_attribute{nullptr};

// The shared memory each kernel has been opted in to.
std::mutex g_opted_in_mutex;
std::map<Function, unsigned>& opted_in() {
  static std::map<Function, unsigned> bytes;
  return bytes;
}

thread_local std::string g_problem;

std::string kib(long long bytes) { return std::to_string((bytes + 1023) / 1024) + " KiB"; }

// The GPU's limit for a block that opts in, in bytes; 0 when the driver does not say.
int opt_in_limit() {
  CtxGetDevice get_device = g_ctx_get_device.load();
  DeviceGetAttribute get_attribute = g_device_get_attribute.load();
  int device = 0, bytes = 0;
  if (!get_device || !get_attribute || get_device(&device) != 0) return 0;
  if (get_attribute(&bytes, kDeviceMaxSharedBytesOptIn, device) != 0) return 0;
  return bytes;
}

CUresult opt_in(Function f, unsigned shared_bytes) {
  std::lock_guard<std::mutex> lock(g_opted_in_mutex);
  auto it = opted_in().find(f);
  if (it != opted_in().end() && it->second >= shared_bytes) return 0;
  FuncSetAttribute set_attribute = g_set_attribute.load();
  if (!set_attribute) {
    g_problem = "a kernel asks for " + kib(shared_bytes) + " of shared memory a block, and this CUDA driver cannot opt "
                "a kernel in to more than " + kib(kSharedBytesWithoutOptIn) + " (it lacks cuFuncSetAttribute)";
    return kErrorNotSupported;
  }
  if (CUresult rc = set_attribute(f, kFuncMaxDynamicSharedBytes, static_cast<int>(shared_bytes)); rc != 0) {
    const int limit = opt_in_limit();
    g_problem = "a kernel asks for " + kib(shared_bytes) + " of shared memory a block, more than " +
                (limit > 0 ? "the " + kib(limit) + " this GPU allows" : "this GPU allows") +
                " (cuFuncSetAttribute error " + std::to_string(rc) + "); a smaller hidden size fits";
    return rc;
  }
  opted_in()[f] = shared_bytes;
  return 0;
}

CUresult launch_opting_in(Function f, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x,
                          unsigned block_y, unsigned block_z, unsigned shared_bytes, void* stream, void** params,
                          void** extra) {
  if (shared_bytes > kSharedBytesWithoutOptIn) {
    if (CUresult rc = opt_in(f, shared_bytes); rc != 0) return rc;
  }
  return g_launch.load()(f, grid_x, grid_y, grid_z, block_x, block_y, block_z, shared_bytes, stream, params, extra);
}

void* get_library_symbol(void* lib, const char* name) {
  halide_get_library_symbol_t previous = g_previous.load();
  void* symbol = previous ? previous(lib, name) : nullptr;
  if (!symbol || std::strcmp(name, "cuLaunchKernel") != 0) return symbol;
  g_launch = reinterpret_cast<LaunchKernel>(symbol);
  g_set_attribute = reinterpret_cast<FuncSetAttribute>(previous(lib, "cuFuncSetAttribute"));
  g_ctx_get_device = reinterpret_cast<CtxGetDevice>(previous(lib, "cuCtxGetDevice"));
  g_device_get_attribute = reinterpret_cast<DeviceGetAttribute>(previous(lib, "cuDeviceGetAttribute"));
  return reinterpret_cast<void*>(&launch_opting_in);
}

}  // namespace

void allow_large_shared_memory(halide_get_library_symbol_t (*set_get_library_symbol)(halide_get_library_symbol_t)) {
  if (!set_get_library_symbol) return;
  halide_get_library_symbol_t previous = set_get_library_symbol(&get_library_symbol);
  // Every runtime's previous lookup is Halide's default (dlsym); the first one found serves them all.
  // A runtime hooked before hands back rnnc's own hook, which must not become its own fallback.
  halide_get_library_symbol_t none = nullptr;
  if (previous && previous != &get_library_symbol) g_previous.compare_exchange_strong(none, previous);
}

std::string take_launch_problem() {
  std::string problem;
  problem.swap(g_problem);
  return problem;
}

}  // namespace rnnc::runtime::cuda
