#include "runtime/buffer_pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

namespace rnnc::runtime {
namespace {

// Each block starts with a header holding its size; the data after it is 64-byte aligned.
constexpr size_t kHeader = 64;
constexpr size_t kMaxCachedBytes = size_t{4} << 30;

// Blocks from 2 MiB (a scan's sequences, saved activations) are mapped whole and asked for transparent
// huge pages: a step reads a few rows of many of them, and fewer pages mean fewer TLB misses.
// rnnc-bench --shape S through scripts/ab-bench.sh, against 4 KiB pages: training 0.979 (7 of 8 pairs),
// forward 1.019 (3 of 8). The mapping ends on the 4 KiB page after the block (its last part, under 2
// MiB, in small pages), so memory is not rounded up to huge pages. Where the kernel aligns large
// anonymous mappings to 2 MiB (6.7 on; this VM runs 6.18) all whole huge pages of a block can be huge.
// Mapped here rather than through malloc, blocks are page-aligned whatever glibc's thresholds
// (runtime/heap_policy.h).
constexpr size_t kMappedFrom = size_t{2} << 20;
constexpr size_t kPage = 4096;

bool mapped(size_t block_bytes) { return block_bytes >= kMappedFrom; }
size_t mapped_bytes(size_t block_bytes) { return (block_bytes + kPage - 1) / kPage * kPage; }

void* new_block(size_t block_bytes) {
  if (!mapped(block_bytes)) return std::aligned_alloc(64, block_bytes);
  void* block = mmap(nullptr, mapped_bytes(block_bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return nullptr;
  madvise(block, mapped_bytes(block_bytes), MADV_HUGEPAGE);  // a hint: without huge pages, 4 KiB ones
  return block;
}

void delete_block(void* block, size_t block_bytes) {
  if (mapped(block_bytes)) {
    munmap(block, mapped_bytes(block_bytes));
  } else {
    std::free(block);
  }
}

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
  void* block = new_block(rounded + kHeader);
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
    delete_block(block, rounded + kHeader);
    return;
  }
  p.free_blocks.emplace(rounded, block);
  p.cached += rounded;
}

}  // namespace rnnc::runtime
