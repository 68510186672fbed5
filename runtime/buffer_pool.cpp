#include "runtime/buffer_pool.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace rnnc::runtime {
namespace {

// Each block starts with a header holding its size; the data after it is 64-byte aligned.
constexpr size_t kHeader = 64;
constexpr size_t kMaxCachedBytes = size_t{4} << 30;

struct Pool {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;
  size_t cached = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: buffers may be freed during static destruction
  return *p;
}

}  // namespace

void* pool_allocate(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.free_blocks.find(rounded);
    if (it != p.free_blocks.end()) {
      void* block = it->second;
      p.free_blocks.erase(it);
      p.cached -= rounded;
      return static_cast<char*>(block) + kHeader;
    }
  }
  void* block = std::aligned_alloc(64, rounded + kHeader);
  if (!block) throw std::bad_alloc();
  *static_cast<size_t*>(block) = rounded;
  return static_cast<char*>(block) + kHeader;
}

void pool_free(void* data) {
  if (!data) return;
  void* block = static_cast<char*>(data) - kHeader;
  size_t rounded = *static_cast<size_t*>(block);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.cached + rounded > kMaxCachedBytes) {
    std::free(block);
    return;
  }
  p.free_blocks.emplace(rounded, block);
  p.cached += rounded;
}

}  // namespace rnnc::runtime
