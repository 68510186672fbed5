#include "runtime/param_derived_cache.h"

#include <cstring>

namespace rnnc::runtime {

std::optional<ParamDerivedCache::Hit> ParamDerivedCache::find(const std::string& kernel,
                                                             const std::vector<Input>& inputs) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(kernel);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  size_t p = 0, d = 0;
  for (const Input& in : inputs) {
    if (in.generation != 0) {
      if (d >= e.derived.size() || e.derived[d] != in.generation) return std::nullopt;
      ++d;
      continue;
    }
    if (p >= e.parameters.size() || e.parameters[p].size() != in.bytes ||
        std::memcmp(e.parameters[p].data(), in.data, in.bytes) != 0) {
      return std::nullopt;
    }
    ++p;
  }
  if (p != e.parameters.size() || d != e.derived.size()) return std::nullopt;
  return Hit{e.outputs, e.generation};
}

uint64_t ParamDerivedCache::store(const std::string& kernel, const std::vector<Input>& inputs,
                                  const std::vector<Buffer>& outputs) {
  Entry e;
  for (const Input& in : inputs) {
    if (in.generation != 0) {
      e.derived.push_back(in.generation);
      continue;
    }
    const char* bytes = static_cast<const char*>(in.data);
    e.parameters.emplace_back(bytes, bytes + in.bytes);
  }
  e.outputs = outputs;
  std::lock_guard<std::mutex> lock(mutex_);
  e.generation = ++last_generation_;
  const uint64_t generation = e.generation;
  entries_[kernel] = std::move(e);
  return generation;
}

void ParamDerivedCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace rnnc::runtime
