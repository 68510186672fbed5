#include "runtime/device.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "ir/error.h"

namespace rnnc::runtime {

const char* device_name(Device device) {
  switch (device) {
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
    case Device::OpenCL: return "opencl";
  }
  return "cpu";
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  if (name == "opencl") return Device::OpenCL;
  throw_user_error("unknown device '" + name + "' (choose cpu, cuda or opencl)");
}

void load_gpu_driver(Device device) {
  if (device == Device::Cpu) return;
  if (device == Device::OpenCL) {
    // pocl (OpenCL on a CPU) links its own LLVM; in a process that already has Halide's, its LLVM calls
    // would bind to the wrong version and crash. Loaded first with its own lookup scope, it keeps its own.
    dlopen("libpocl.so.2", RTLD_NOW | RTLD_DEEPBIND);
  }
  const std::vector<const char*> names = device == Device::Cuda ? std::vector<const char*>{"libcuda.so.1", "libcuda.so"}
                                                                : std::vector<const char*>{"libOpenCL.so.1", "libOpenCL.so"};
  std::string first_error;
  for (const char* name : names) {
    // Kept loaded for the life of the process, as the driver itself expects.
    if (dlopen(name, RTLD_NOW | RTLD_GLOBAL)) return;
    const char* e = dlerror();
    if (first_error.empty()) first_error = e ? e : name;
  }
  // One line: callers that fall back to the CPU print it as it is.
  throw_user_error(std::string("--device ") + device_name(device) + ": no " +
                   (device == Device::Cuda ? "CUDA driver" : "OpenCL loader") + " on this machine (" + first_error + ")");
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

namespace {

// The driver entry points used to count devices, looked up in the loaded driver.
template <typename F>
F driver_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

std::string cuda_reason() {
  using Init = int (*)(unsigned);
  using Count = int (*)(int*);
  auto init = driver_symbol<Init>("cuInit");
  auto count = driver_symbol<Count>("cuDeviceGetCount");
  if (!init || !count) return "--device cuda: the CUDA driver library lacks cuInit/cuDeviceGetCount";
  if (int rc = init(0); rc != 0) {
    // 100: CUDA_ERROR_NO_DEVICE; 35: CUDA_ERROR_INSUFFICIENT_DRIVER; 999: unknown (often a stub library).
    return "--device cuda: the CUDA driver found no usable GPU (cuInit error " + std::to_string(rc) +
           (rc == 100 ? ": no CUDA device" : rc == 35 ? ": driver older than the runtime needs" : "") + ")";
  }
  int n = 0;
  if (count(&n) != 0 || n == 0) return "--device cuda: no CUDA device on this machine";
  return "";
}

// The OpenCL loader's entry points used here, looked up in the loaded loader (null where it lacks one).
struct OpenCl {
  using Platforms = int (*)(unsigned, void**, unsigned*);
  using Devices = int (*)(void*, uint64_t, unsigned, void**, unsigned*);
  using Info = int (*)(void*, unsigned, size_t, void*, size_t*);
  static constexpr uint64_t kAllTypes = 0xFFFFFFFF;  // CL_DEVICE_TYPE_ALL
  Platforms platforms = driver_symbol<Platforms>("clGetPlatformIDs");
  Devices devices = driver_symbol<Devices>("clGetDeviceIDs");
  Info info = driver_symbol<Info>("clGetDeviceInfo");

  std::vector<void*> platform_ids() const {
    unsigned n = 0;
    if (!platforms || platforms(0, nullptr, &n) != 0 || n == 0) return {};
    std::vector<void*> ids(n);
    return platforms(n, ids.data(), nullptr) == 0 ? ids : std::vector<void*>{};
  }
  // Every platform's devices, in the loader's order.
  std::vector<void*> device_ids() const {
    std::vector<void*> all;
    for (void* p : devices ? platform_ids() : std::vector<void*>{}) {
      unsigned n = 0;
      if (devices(p, kAllTypes, 0, nullptr, &n) != 0 || n == 0) continue;
      std::vector<void*> ids(n);
      if (devices(p, kAllTypes, n, ids.data(), nullptr) == 0) all.insert(all.end(), ids.begin(), ids.end());
    }
    return all;
  }
};

std::string opencl_reason() {
  const OpenCl cl;
  if (!cl.platforms || !cl.devices) return "--device opencl: the OpenCL loader lacks clGetPlatformIDs/clGetDeviceIDs";
  if (cl.platform_ids().empty()) return "--device opencl: no OpenCL platform (no ICD installed)";
  if (cl.device_ids().empty()) return "--device opencl: no OpenCL device on this machine";
  return "";
}

}  // namespace

std::string device_unavailable_reason(Device device) {
  if (device == Device::Cpu) return "";
  try {
    load_gpu_driver(device);
  } catch (const UserError& e) {
    return one_line(e.what());
  }
  return device == Device::Cuda ? cuda_reason() : opencl_reason();
}

std::string device_description(Device device) {
  if (device == Device::Cpu) return "cpu";
  if (!device_unavailable_reason(device).empty()) return "";
  char name[256] = {0};
  if (device == Device::Cuda) {
    using Get = int (*)(int*, int);
    using Name = int (*)(char*, int, int);
    using Version = int (*)(int*);
    auto get = driver_symbol<Get>("cuDeviceGet");
    auto get_name = driver_symbol<Name>("cuDeviceGetName");
    auto version = driver_symbol<Version>("cuDriverGetVersion");
    int dev = 0, v = 0;
    if (!get || !get_name || get(&dev, 0) != 0 || get_name(name, sizeof name - 1, dev) != 0) return "CUDA device";
    if (version) version(&v);
    return std::string(name) + ", CUDA driver " + std::to_string(v);
  }
  const OpenCl cl;
  const std::vector<void*> ids = cl.device_ids();
  const unsigned device_name_param = 0x102B;  // CL_DEVICE_NAME
  if (!cl.info || ids.empty() || cl.info(ids[0], device_name_param, sizeof name - 1, name, nullptr) != 0) {
    return "OpenCL device";
  }
  return std::string("OpenCL: ") + name;
}

size_t view_alignment_bytes(Device device) {
  if (device != Device::OpenCL) return 1;
  // A device that does not answer (or answers other than whole bytes) is left out; where none answers,
  // a page, more than any device asks for.
  constexpr size_t kFallback = 4096;
  const OpenCl cl;
  const unsigned base_address_align = 0x1019;  // CL_DEVICE_MEM_BASE_ADDR_ALIGN: a cl_uint, in bits
  size_t bytes = 0;
  for (void* d : cl.info ? cl.device_ids() : std::vector<void*>{}) {
    uint32_t bits = 0;
    if (cl.info(d, base_address_align, sizeof bits, &bits, nullptr) != 0 || bits == 0 || bits % 8 != 0) continue;
    bytes = std::lcm(std::max<size_t>(bytes, 1), size_t{bits} / 8);
  }
  return bytes > 0 ? bytes : kFallback;
}

Device usable_device_or_cpu(Device requested, std::string* note) {
  std::string why = device_unavailable_reason(requested);
  if (why.empty()) return requested;
  if (note) *note = why + "; running on the CPU instead";
  return Device::Cpu;
}

}  // namespace rnnc::runtime
