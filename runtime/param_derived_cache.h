// Results of kernels that read nothing but parameters and constants (an LSTM's gate weights concatenated,
// then transposed for the steps), kept across runs while those parameters are unchanged. Unchanged is
// checked, not promised: each run compares the parameters' bytes with a copy taken when the results were
// computed, so an optimizer's in-place update, set_param or init_params can never leave a stale result
// (a changed parameter costs one comparison that fails early, the kernels and a new copy). A kernel that
// reads another's result is reused only if that result is the very one its entry was computed from:
// each stored entry gets a new generation, and a reader's entry records its inputs' generations.
#pragma once

#include <HalideBuffer.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rnnc::runtime {

class ParamDerivedCache {
 public:
  using Buffer = Halide::Runtime::Buffer<void>;

  // One input of a kernel: a parameter's storage (generation 0), or the result of another cached
  // kernel, named by the generation of the entry it came from.
  struct Input {
    const void* data = nullptr;
    size_t bytes = 0;
    uint64_t generation = 0;
  };
  struct Hit {
    std::vector<Buffer> outputs;
    uint64_t generation = 0;
  };

  // The outputs cached for `kernel`, if its parameters hold the bytes and its other inputs are the
  // results they were then.
  std::optional<Hit> find(const std::string& kernel, const std::vector<Input>& inputs) const;
  // Replaces `kernel`'s entry; returns the new entry's generation (never 0).
  uint64_t store(const std::string& kernel, const std::vector<Input>& inputs, const std::vector<Buffer>& outputs);
  void clear();

 private:
  struct Entry {
    std::vector<std::vector<char>> parameters;  // a copy of each parameter input, in input order
    std::vector<uint64_t> derived;              // the generation of each other input, in input order
    std::vector<Buffer> outputs;
    uint64_t generation = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  uint64_t last_generation_ = 0;
};

}  // namespace rnnc::runtime
