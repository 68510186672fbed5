#include "runtime/device.h"

#include <dlfcn.h>

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

}  // namespace rnnc::runtime
