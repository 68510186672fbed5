#include "runtime/kernel_scratch.h"

#include <cstdint>
#include <cstdlib>

namespace rnnc::runtime {
namespace {

// Layout of a block: [64-byte head | data | 64-byte tail]. The head ends with the data's size, a tag and,
// last, the start of the block: the word Halide's default allocator keeps before its data, so either
// free finds the block's start at data[-1].
constexpr size_t kAlign = 64;
constexpr uint64_t kTag = 0x726e6e635f736372;  // "rnnc_scr"

struct Head {
  uint64_t bytes;
  uint64_t tag;
  void* block;
};

Head* head_of(void* data) { return reinterpret_cast<Head*>(static_cast<char*>(data) - sizeof(Head)); }

// The tag depends on the address too: a stale head glibc hands out again elsewhere does not match.
uint64_t tag_for(const void* data) { return kTag ^ reinterpret_cast<uintptr_t>(data); }

// Back to glibc, the tag wiped first: memory glibc hands out again must not look like one of ours.
void free_block(void* data) {
  Head* head = head_of(data);
  head->tag = 0;
  std::free(head->block);
}

// Enough for a step's temporaries many times over (S's are 16-64 KiB; a weight gradient's per-thread
// copies 256 KiB). Blocks over 4 MiB go back to glibc when freed, and a thread keeps at most 16 MiB:
// every thread that runs kernels (the caller, the row threads, Halide's pool) has a cache of its own.
constexpr size_t kMaxBlocks = 16;
constexpr size_t kMaxBlockBytes = size_t{4} << 20;
constexpr size_t kMaxCachedBytes = size_t{16} << 20;

struct ThreadCache {
  // Most recently freed last; a step's buffers come back in the order they went.
  void* data[kMaxBlocks];
  size_t count = 0;
  size_t bytes = 0;

  // Takes block i out of the cache.
  void* remove(size_t i) {
    void* d = data[i];
    for (size_t j = i + 1; j < count; ++j) data[j - 1] = data[j];
    --count;
    bytes -= head_of(d)->bytes;
    return d;
  }

  void* take(size_t bytes_wanted) {
    for (size_t i = count; i-- > 0;) {
      if (head_of(data[i])->bytes == bytes_wanted) return remove(i);
    }
    return nullptr;
  }

  // Keeps `d` for reuse; the oldest blocks make room. False: not kept (the caller frees it).
  bool keep(void* d) {
    const size_t n = head_of(d)->bytes;
    if (n > kMaxBlockBytes) return false;
    while (count > 0 && (count == kMaxBlocks || bytes + n > kMaxCachedBytes)) free_block(remove(0));
    data[count++] = d;
    bytes += n;
    return true;
  }

  void clear() {
    for (size_t i = 0; i < count; ++i) free_block(data[i]);
    count = 0;
    bytes = 0;
  }

  ~ThreadCache();
};

// A thread's blocks may be freed after its cache is gone (static destruction on the main thread).
thread_local bool t_cache_alive = false;

ThreadCache::~ThreadCache() {
  t_cache_alive = false;
  clear();
}

ThreadCache* thread_cache() {
  thread_local ThreadCache cache;
  thread_local bool constructed = (t_cache_alive = true);
  (void)constructed;
  return t_cache_alive ? &cache : nullptr;
}

}  // namespace

void* kernel_scratch_allocate(void*, size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (ThreadCache* cache = thread_cache()) {
    if (void* d = cache->take(rounded)) return d;
  }
  void* block = std::aligned_alloc(kAlign, kAlign + rounded + kAlign);
  if (!block) return nullptr;  // Halide reports the failed allocation
  void* data = static_cast<char*>(block) + kAlign;
  *head_of(data) = Head{rounded, tag_for(data), block};
  return data;
}

void kernel_scratch_free(void*, void* data) {
  if (!data) return;
  Head* head = head_of(data);
  if (head->tag != tag_for(data)) {
    std::free(head->block);  // Halide's default allocator's block: its start is at data[-1] as well
    return;
  }
  ThreadCache* cache = thread_cache();
  if (!cache || !cache->keep(data)) free_block(data);
}

bool use_kernel_scratch(const KernelTable& kernels) {
  if (!kernels.set_custom_malloc || !kernels.set_custom_free || !kernels.default_malloc) return false;
  // Halide has no getter: the previous hook comes back from the setter. An allocator the user set stays
  // (its blocks are not ours to free); Halide's default, or ours from an earlier load, is replaced.
  const halide_malloc_t previous = kernels.set_custom_malloc(&kernel_scratch_allocate);
  if (previous != &kernel_scratch_allocate && previous != kernels.default_malloc) {
    kernels.set_custom_malloc(previous);
    return false;
  }
  kernels.set_custom_free(&kernel_scratch_free);
  return true;
}

KernelScratchCache kernel_scratch_cached() {
  ThreadCache* cache = thread_cache();
  return cache ? KernelScratchCache{cache->count, cache->bytes} : KernelScratchCache{};
}

void kernel_scratch_trim() {
  if (ThreadCache* cache = thread_cache()) cache->clear();
}

}  // namespace rnnc::runtime
