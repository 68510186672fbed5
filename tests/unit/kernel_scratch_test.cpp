#include "runtime/kernel_scratch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace rnnc::runtime {
namespace {

void* allocate(size_t bytes) { return kernel_scratch_allocate(nullptr, bytes); }
void release(void* p) { kernel_scratch_free(nullptr, p); }

// Each test starts from an empty cache (earlier tests ran on this thread too).
void drain() {
  kernel_scratch_trim();
  ASSERT_EQ(kernel_scratch_cached().blocks, 0u);
  ASSERT_EQ(kernel_scratch_cached().bytes, 0u);
}

// A step's temporary comes back on the next call of the same size: the same memory, no trip to glibc.
TEST(KernelScratch, AFreedBlockIsHandedOutAgainForTheSameSize) {
  drain();
  void* a = allocate(65536);
  ASSERT_NE(a, nullptr);
  std::memset(a, 1, 65536);
  release(a);
  EXPECT_EQ(kernel_scratch_cached().blocks, 1u);
  EXPECT_EQ(allocate(65536), a);
  EXPECT_EQ(kernel_scratch_cached().blocks, 0u);
  void* b = allocate(4096);  // another size: a block of its own
  EXPECT_NE(b, a);
  release(a);
  release(b);
  EXPECT_EQ(kernel_scratch_cached().blocks, 2u);
  EXPECT_EQ(kernel_scratch_cached().bytes, 65536u + 4096u);
}

// Blocks are aligned to a cache line (Halide asks for 32 bytes; an AVX-512 vector is 64) and have 64
// readable bytes before and after (Halide may read a few; the sanitized build checks the reads).
TEST(KernelScratch, BlocksAreAlignedAndPadded) {
  for (size_t bytes : {1, 3, 63, 64, 65, 1000, 100000}) {
    unsigned char* p = static_cast<unsigned char*>(allocate(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    volatile unsigned char before = p[-64], after = p[bytes + 63];
    (void)before;
    (void)after;
    release(p);
  }
}

// Hooks installed while a kernel runs: that kernel frees a block Halide's default allocator made,
// whose start it keeps in the word before the data (HalideRuntime.h's halide_default_malloc).
TEST(KernelScratch, FreesBlocksOfHalidesDefaultAllocator) {
  drain();
  const size_t alignment = 32;
  void* orig = std::malloc(1000 + alignment);
  void* data = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(orig) + alignment) & ~(alignment - 1));
  static_cast<void**>(data)[-1] = orig;
  release(data);  // LSan: not leaked; ASan: freed once, at its start
  EXPECT_EQ(kernel_scratch_cached().blocks, 0u);
}

// The cache is bounded: at most 16 blocks (the oldest go), none over 4 MiB, 16 MiB in all.
TEST(KernelScratch, TheCacheIsBounded) {
  drain();
  std::vector<void*> blocks;
  for (int i = 0; i < 20; ++i) blocks.push_back(allocate(1024 * (i + 1)));
  for (void* b : blocks) release(b);
  EXPECT_EQ(kernel_scratch_cached().blocks, 16u);
  // The first four (1-4 KiB) went: a request for 1 KiB is a new block, one for 20 KiB the last freed.
  size_t kept = 0;
  for (int i = 4; i < 20; ++i) kept += 1024 * (i + 1);
  EXPECT_EQ(kernel_scratch_cached().bytes, kept);
  void* last = allocate(20 * 1024);
  EXPECT_EQ(last, blocks.back());
  release(last);

  void* huge = allocate(size_t{5} << 20);
  release(huge);
  EXPECT_EQ(kernel_scratch_cached().bytes, kept) << "a block over 4 MiB is not kept";

  drain();
  std::vector<void*> big;
  for (int i = 0; i < 5; ++i) big.push_back(allocate(size_t{3} << 20));
  for (void* b : big) release(b);
  EXPECT_LE(kernel_scratch_cached().bytes, size_t{16} << 20);
  EXPECT_EQ(kernel_scratch_cached().blocks, 5u);
  void* more = allocate(size_t{2} << 20);
  release(more);  // 17 MiB: the oldest 3 MiB block goes
  EXPECT_EQ(kernel_scratch_cached().blocks, 5u);
  EXPECT_EQ(kernel_scratch_cached().bytes, size_t{14} << 20);
}

// Each thread has its own blocks; a thread's are freed when it ends (LSan checks they are).
TEST(KernelScratch, ThreadsKeepTheirOwnBlocks) {
  drain();
  void* mine = allocate(8192);
  release(mine);
  void* theirs = nullptr;
  std::thread t([&] {
    theirs = allocate(8192);  // not this thread's cached block
    release(theirs);
    EXPECT_EQ(kernel_scratch_cached().blocks, 1u);
  });
  t.join();
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(kernel_scratch_cached().blocks, 1u);
  EXPECT_EQ(allocate(8192), mine);
  release(mine);
}

}  // namespace
}  // namespace rnnc::runtime
