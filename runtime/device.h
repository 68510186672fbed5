// Where compiled kernels run: the CPU, or a GPU through Halide's device runtime (CUDA; OpenCL, which
// also runs on a CPU through pocl, for testing GPU schedules without a GPU).
#pragma once

#include <string>

namespace rnnc::runtime {

enum class Device { Cpu, Cuda, OpenCL };

// "cpu", "cuda", "opencl".
const char* device_name(Device device);
// Parses a --device value; UserError naming the choices otherwise.
Device parse_device(const std::string& name);

// Makes the GPU driver's API visible to Halide's runtime, which looks its functions up in the process
// first: the versioned library names drivers install (libcuda.so.1), which Halide's own search
// (libcuda.so, a development symlink) misses. UserError saying what is missing when no driver loads.
void load_gpu_driver(Device device);

}  // namespace rnnc::runtime
