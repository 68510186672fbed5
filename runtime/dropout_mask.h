// The dropout mask as a pure function of (seed, salt, element index): every executor (the reference,
// the compiled CPU and GPU kernels) and the backward pass compute the very same mask without storing it.
// A splitmix64 finaliser over the three inputs gives 24 uniform bits; the element is kept when
// u >= p, and scaled by 1 / (1 - p).
#pragma once

#include <cstdint>

namespace rnnc::runtime {

constexpr uint64_t kDropoutSaltMix = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kDropoutIndexMix = 0xD1B54A32D192ED03ull;

constexpr uint64_t splitmix64_finalize(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

// Uniform in [0, 1) with 24 bits, exactly representable in float.
constexpr float dropout_uniform(uint64_t seed, uint64_t salt, uint64_t index) {
  uint64_t h = splitmix64_finalize(seed ^ (salt + 1) * kDropoutSaltMix ^ (index + 1) * kDropoutIndexMix);
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

constexpr bool dropout_keep(uint64_t seed, uint64_t salt, uint64_t index, double p) {
  return static_cast<double>(dropout_uniform(seed, salt, index)) >= p;
}

}  // namespace rnnc::runtime
