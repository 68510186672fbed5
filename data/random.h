// A small, fully specified random generator for shuffles and splits, so that a seed gives the same order
// on every platform and standard library (std::shuffle and the std distributions are
// implementation-defined).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace rnnc::data {

// SplitMix64 (Steele, Lea, Flood 2014).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0, without modulo bias (rejection of the short top range).
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

 private:
  uint64_t state_;
};

// Two values mixed into one seed (e.g. a run's seed and the epoch).
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) { return SplitMix64(seed ^ SplitMix64(stream).next()).next(); }

// Fisher-Yates, from the end.
template <typename T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed) {
  SplitMix64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace rnnc::data
