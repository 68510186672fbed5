// Where compiled kernels run: the CPU, or a GPU through Halide's device runtime (CUDA; OpenCL, which
// also runs on a CPU through pocl, for testing GPU schedules without a GPU).
#pragma once

#include <cstddef>
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

// Why kernels cannot run on `device` here, in one line ("--device cuda: no CUDA driver on this machine
// (…)", "… no CUDA device"); empty when they can (always for the CPU). Loads the driver and asks it
// for devices, without compiling or allocating anything.
std::string device_unavailable_reason(Device device);

// The first device's name and driver version, for reports ("NVIDIA H100 80GB HBM3, CUDA driver 12080");
// "cpu" for the CPU. Empty when the device is unavailable.
std::string device_description(Device device);

// The multiple of bytes at which a view into a device buffer (a time step of a sequence) may start on
// `device`: on OpenCL, where Halide hands kernels views as sub-buffers, CL_DEVICE_MEM_BASE_ADDR_ALIGN
// (a multiple of every present device's, whichever one Halide opens); 1 for the CPU and CUDA, which
// offset by pointer arithmetic.
size_t view_alignment_bytes(Device device);

// A message for one line of output: line breaks become spaces.
std::string one_line(std::string s);

// `requested` when usable, else the CPU; then `note` says why, ending "; running on the CPU instead".
Device usable_device_or_cpu(Device requested, std::string* note);

}  // namespace rnnc::runtime
