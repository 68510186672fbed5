#include "runtime/heap_policy.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rnnc::runtime {
namespace {

bool user_chose_malloc_settings() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"}) {
    if (std::getenv(name)) return true;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return true;
  const char* heap = std::getenv("RNNC_HEAP");
  return heap && std::strcmp(heap, "default") == 0;
}

bool set_thresholds() {
#if defined(__GLIBC__)
  if (user_chose_malloc_settings()) return false;
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
#else
  return false;
#endif
}

}  // namespace

bool use_run_heap_policy() {
  static std::once_flag once;
  static bool set = false;
  std::call_once(once, [] { set = set_thresholds(); });
  return set;
}

}  // namespace rnnc::runtime
