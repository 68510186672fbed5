// The memory a run's buffers come from: the buffer pool and glibc's heap as rnnc sets it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/buffer_pool.h"
#include "runtime/heap_policy.h"

namespace rnnc::runtime {
namespace {

// Small blocks come from malloc, large ones (from 1 MiB) are mapped: either kind is 64-byte aligned,
// writable whole, and handed out again for the same size once freed.
TEST(BufferPool, FreedBlocksComeBackForTheSameSize) {
  for (size_t bytes : {size_t{100}, size_t{64} << 10, (size_t{1} << 20) - 64, size_t{1} << 20, size_t{6553600}, size_t{27} << 20}) {
    char* a = static_cast<char*>(pool_allocate(bytes));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u) << bytes;
    std::memset(a, 7, bytes);
    pool_free(a);
    char* b = static_cast<char*>(pool_allocate(bytes));
    EXPECT_EQ(b, a) << bytes;
    EXPECT_EQ(b[bytes - 1], 7) << bytes;
    char* c = static_cast<char*>(pool_allocate(bytes));  // a second one while the first is out
    EXPECT_NE(c, b) << bytes;
    std::memset(c, 1, bytes);
    pool_free(b);
    pool_free(c);
  }
}

#if defined(__GLIBC__)
// Blocks up to 32 MiB come from the heap, not fresh mappings, and freeing them does not hand the top of
// the heap back to the kernel (the next run would fault its pages in again).
TEST(HeapPolicy, LargeBlocksComeFromTheHeapAndStayAfterFree) {
  if (!use_run_heap_policy()) GTEST_SKIP() << "glibc's malloc settings are the user's here (or a sanitizer's)";
  const size_t mapped_before = mallinfo2().hblkhd;
  void* a = std::malloc(size_t{16} << 20);
  void* b = std::malloc(size_t{16} << 20);
  ASSERT_TRUE(a && b);
  std::memset(a, 1, size_t{16} << 20);
  std::memset(b, 1, size_t{16} << 20);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "16 MiB blocks were mmapped";
  std::free(b);
  std::free(a);
  EXPECT_GE(mallinfo2().keepcost, size_t{32} << 20) << "the heap's top went back to the kernel";
}
#endif

}  // namespace
}  // namespace rnnc::runtime
