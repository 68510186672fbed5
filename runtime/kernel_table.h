// Compiled kernels by name, each callable with Halide's argv convention: one pointer per argument, in
// the order of runtime/execution_plan.h (buffers as halide_buffer_t*, scalars as pointers to the value).
// JIT compilation fills a table at run time; an AOT-compiled model's header provides one.
#pragma once

#include <HalideRuntime.h>

#include <map>
#include <memory>
#include <string>

#include "runtime/device.h"

namespace rnnc::runtime {

using KernelFunction = int (*)(void** args);

struct KernelTable {
  std::map<std::string, KernelFunction> functions;
  std::shared_ptr<void> keep_alive;  // whatever owns the code (a JIT module); empty for AOT
  // Where the kernels run. GPU kernels come with functions of the Halide runtime they were linked
  // with (in the model's library or the JIT's shared object): the executor allocates device buffers
  // and moves data through that runtime's device interface, and never links a runtime itself.
  Device device = Device::Cpu;
  const halide_device_interface_t* (*device_interface)() = nullptr;
  int (*reuse_device_allocations)(void* user_context, bool on) = nullptr;
  // CUDA: the runtime's context and its stream hook's setter, for CUDA graphs (runtime/cuda_graph.h).
  int (*cuda_acquire_context)(void* user_context, void** ctx, bool create) = nullptr;
  int (*cuda_release_context)(void* user_context) = nullptr;
  using CudaGetStream = int (*)(void* user_context, void* ctx, void** stream);
  CudaGetStream (*set_cuda_get_stream)(CudaGetStream hook) = nullptr;
  // CUDA: the runtime's hook for looking up driver entry points, through which launches that ask for
  // more than 48 KiB of shared memory are opted in (runtime/cuda_shared_memory.h). Null: never opted in.
  halide_get_library_symbol_t (*set_get_library_symbol)(halide_get_library_symbol_t hook) = nullptr;
  // The runtime's error handler hook: kernel errors become messages instead of Halide's default
  // (print and abort). Null: keep the default.
  halide_error_handler_t (*set_error_handler)(halide_error_handler_t handler) = nullptr;
  // The runtime's allocator hooks: the kernels' temporaries then come from runtime/kernel_scratch.h
  // (kept per thread, not handed back to glibc after every call). Null: Halide's default allocator.
  // Halide's own allocator tells rnnc's hooks from an allocator the user installed, which they keep.
  halide_malloc_t (*set_custom_malloc)(halide_malloc_t user_malloc) = nullptr;
  halide_free_t (*set_custom_free)(halide_free_t user_free) = nullptr;
  halide_malloc_t default_malloc = nullptr;
};

}  // namespace rnnc::runtime
