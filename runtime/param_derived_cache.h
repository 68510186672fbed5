// Results of kernels that read nothing but parameters and constants (an LSTM's gate weights concatenated,
// then transposed for the steps), kept across runs while those parameters are unchanged. Unchanged is
// checked, not promised: each run compares the parameters' bytes with a copy taken when the results were
// computed, so an optimizer's in-place update, set_param or init_params can never leave a stale result
// (a changed parameter costs one comparison that fails early, the kernels and a new copy). A kernel that
// reads another's cached result counts as unchanged only if that one was unchanged in the same run.
#pragma once

#include <HalideBuffer.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rnnc::runtime {

class ParamDerivedCache {
 public:
  using Buffer = Halide::Runtime::Buffer<void>;

  // One input of a kernel: a parameter's storage, or a result this run took from the cache.
  struct Input {
    const void* data = nullptr;
    size_t bytes = 0;
    bool parameter = true;
  };

  // The outputs cached for `kernel`, if its parameters hold the bytes they held then.
  std::optional<std::vector<Buffer>> find(const std::string& kernel, const std::vector<Input>& inputs) const;
  void store(const std::string& kernel, const std::vector<Input>& inputs, const std::vector<Buffer>& outputs);
  void clear();

 private:
  struct Entry {
    std::vector<std::vector<char>> parameters;  // a copy of each parameter input, in input order
    std::vector<Buffer> outputs;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace rnnc::runtime
