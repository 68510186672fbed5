// rnnc's cuLaunchKernel (runtime/cuda_shared_memory.h) against a fake driver: launches past 48 KiB of
// shared memory are opted in once per kernel and size, and a refusal fails the launch with a reason.
#include "runtime/cuda_shared_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace rnnc::runtime::cuda {
namespace {

using Function = void*;
using Launch = int (*)(Function, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**,
                       void**);

// The fake driver: a GPU that allows 99 KiB a block.
constexpr int kLimit = 99 * 1024;
int g_set_calls = 0, g_set_attribute = -1, g_set_value = -1;
int g_launches = 0;
unsigned g_launch_shared = 0, g_launch_grid_x = 0;

int fake_launch(Function, unsigned grid_x, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned shared, void*,
                void**, void**) {
  ++g_launches;
  g_launch_shared = shared;
  g_launch_grid_x = grid_x;
  return 0;
}
int fake_set_attribute(Function, int attribute, int value) {
  ++g_set_calls;
  g_set_attribute = attribute;
  g_set_value = value;
  return value > kLimit ? 1 : 0;  // CUDA_ERROR_INVALID_VALUE
}
int fake_ctx_get_device(int* device) {
  *device = 3;
  return 0;
}
int fake_device_get_attribute(int* value, int attribute, int device) {
  *value = attribute == 97 && device == 3 ? kLimit : 0;
  return 0;
}
int fake_mem_alloc() { return 0; }

void* fake_lookup(void*, const char* name) {
  if (!std::strcmp(name, "cuLaunchKernel")) return reinterpret_cast<void*>(&fake_launch);
  if (!std::strcmp(name, "cuFuncSetAttribute")) return reinterpret_cast<void*>(&fake_set_attribute);
  if (!std::strcmp(name, "cuCtxGetDevice")) return reinterpret_cast<void*>(&fake_ctx_get_device);
  if (!std::strcmp(name, "cuDeviceGetAttribute")) return reinterpret_cast<void*>(&fake_device_get_attribute);
  if (!std::strcmp(name, "cuMemAlloc_v2")) return reinterpret_cast<void*>(&fake_mem_alloc);
  return nullptr;
}

// A runtime's hook slot, as Halide's setter keeps it.
halide_get_library_symbol_t g_slot = &fake_lookup;
halide_get_library_symbol_t fake_set_hook(halide_get_library_symbol_t hook) {
  halide_get_library_symbol_t previous = g_slot;
  g_slot = hook;
  return previous;
}

// rnnc's cuLaunchKernel, as the runtime gets it, with the fake driver's counts reset.
Launch hooked_launch() {
  allow_large_shared_memory(&fake_set_hook);
  g_set_calls = 0, g_set_attribute = -1, g_set_value = -1, g_launches = 0, g_launch_shared = 0;
  return reinterpret_cast<Launch>(g_slot(nullptr, "cuLaunchKernel"));
}

// A launch of `kernel` asking for `shared_bytes` a block.
int launch_asking(Launch launch, int* kernel, unsigned shared_bytes) {
  return launch(kernel, 64, 1, 1, 256, 1, 1, shared_bytes, nullptr, nullptr, nullptr);
}

TEST(CudaSharedMemory, OtherEntryPointsPassThrough) {
  hooked_launch();
  EXPECT_EQ(g_slot(nullptr, "cuMemAlloc_v2"), reinterpret_cast<void*>(&fake_mem_alloc));
  EXPECT_EQ(g_slot(nullptr, "cuNoSuchThing"), nullptr);
  EXPECT_NE(g_slot(nullptr, "cuLaunchKernel"), reinterpret_cast<void*>(&fake_launch));  // rnnc's own
}

TEST(CudaSharedMemory, SmallLaunchesAreNotOptedIn) {
  Launch launch = hooked_launch();
  int kernel = 0;
  EXPECT_EQ(launch(&kernel, 7, 1, 1, 128, 1, 1, 48 * 1024, nullptr, nullptr, nullptr), 0);
  EXPECT_EQ(g_set_calls, 0);
  EXPECT_EQ(g_launches, 1);
  EXPECT_EQ(g_launch_shared, 48u * 1024);
  EXPECT_EQ(g_launch_grid_x, 7u);
}

TEST(CudaSharedMemory, LargeLaunchesAreOptedInOncePerKernelAndSize) {
  Launch launch = hooked_launch();
  int kernel = 0, other = 0;
  EXPECT_EQ(launch_asking(launch, &kernel, 60 * 1024), 0);
  EXPECT_EQ(g_set_calls, 1);
  EXPECT_EQ(g_set_attribute, 8);  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
  EXPECT_EQ(g_set_value, 60 * 1024);
  EXPECT_EQ(g_launches, 1);
  EXPECT_EQ(g_launch_shared, 60u * 1024);
  // The same kernel again, or asking for less: already allowed.
  EXPECT_EQ(launch_asking(launch, &kernel, 60 * 1024), 0);
  EXPECT_EQ(launch_asking(launch, &kernel, 50 * 1024), 0);
  EXPECT_EQ(g_set_calls, 1);
  // More, or another kernel: opted in again.
  EXPECT_EQ(launch_asking(launch, &kernel, 80 * 1024), 0);
  EXPECT_EQ(launch_asking(launch, &other, 60 * 1024), 0);
  EXPECT_EQ(g_set_calls, 3);
  EXPECT_EQ(g_launches, 5);
  EXPECT_EQ(take_launch_problem(), "");
}

TEST(CudaSharedMemory, RefusedOptInFailsTheLaunchAndSaysWhy) {
  Launch launch = hooked_launch();
  int kernel = 0;
  EXPECT_EQ(launch_asking(launch, &kernel, 120 * 1024), 1);
  EXPECT_EQ(g_launches, 0);
  const std::string problem = take_launch_problem();
  EXPECT_NE(problem.find("asks for 120 KiB of shared memory a block"), std::string::npos) << problem;
  EXPECT_NE(problem.find("the 99 KiB this GPU allows"), std::string::npos) << problem;
  EXPECT_EQ(take_launch_problem(), "");
  // Still refused next time: nothing was recorded as allowed.
  EXPECT_EQ(launch_asking(launch, &kernel, 120 * 1024), 1);
  EXPECT_EQ(g_set_calls, 2);
  take_launch_problem();
}

TEST(CudaSharedMemory, HookingTwiceDoesNotLoop) {
  hooked_launch();
  Launch launch = hooked_launch();  // the setter now hands back rnnc's own hook
  int kernel = 0;
  EXPECT_EQ(launch(&kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr), 0);
  EXPECT_EQ(g_launches, 1);
  EXPECT_EQ(g_slot(nullptr, "cuMemAlloc_v2"), reinterpret_cast<void*>(&fake_mem_alloc));
}

}  // namespace
}  // namespace rnnc::runtime::cuda
