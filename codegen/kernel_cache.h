// The kernel cache: what LLVM made of a plan's kernels, kept on disk so that nothing is compiled twice.
// Both the JIT (one shared object per plan and target) and `rnnc compile` (each target's object and
// emitted files, Halide's runtime object) keep their outputs here, in $RNNC_CACHE_DIR, else
// ~/.cache/rnnc. Keys are built by the callers from what the outputs depend on (jit_cache_key); an
// entry is a folder holding the files and the key they were built for.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace rnnc::codegen {

// $RNNC_CACHE_DIR, else ~/.cache/rnnc, else a folder in the temporary directory.
std::filesystem::path kernel_cache_dir();

// Whether a hit should still lower and schedule every kernel, skipping only LLVM
// ($RNNC_KERNEL_CACHE_RELOWER=1). The sanitized suite sets it: it shares the Release suite's warm cache
// (LLVM's compiles under ASan's allocator would double its time) yet must run all of rnnc's codegen.
bool relower_on_cache_hit();

struct CacheEntry {
  std::filesystem::path dir;  // the entry's folder: the files `build` wrote
  bool hit = false;           // true when the files were there already
};

// The entry for `key`, built first if absent: `build` writes its files into the (empty) folder it is
// given, which is then published under the key by one rename, so a concurrent or killed build never
// leaves half an entry. Callers missing the same entry at once, in any processes, build it once: the
// others wait on a lock file beside it (removed afterwards) and then find it. `stem` names the folder
// (with a hash of the key); an entry whose recorded key is another (a hash collision, a damaged
// entry) is replaced. An entry lists its files' sizes and CRC-32s, checked at every hit: a damaged one
// (a truncated or changed file) is reported on stderr and built again, never loaded.
CacheEntry cached_build(const std::string& stem, const std::string& key,
                        const std::function<void(const std::filesystem::path& dir)>& build);

}  // namespace rnnc::codegen
