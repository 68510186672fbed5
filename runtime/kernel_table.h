// Compiled kernels by name, each callable with Halide's argv convention: one pointer per argument, in
// the order of runtime/execution_plan.h (buffers as halide_buffer_t*, scalars as pointers to the value).
// JIT compilation fills a table at run time; an AOT-compiled model's header provides one.
#pragma once

#include <map>
#include <memory>
#include <string>

namespace rnnc::runtime {

using KernelFunction = int (*)(void** args);

struct KernelTable {
  std::map<std::string, KernelFunction> functions;
  std::shared_ptr<void> keep_alive;  // whatever owns the code (a JIT module); empty for AOT
};

}  // namespace rnnc::runtime
