// gpu_bench --persistent-probe: the persistent-scan probe's kernels (persistent_lstm_generator.cpp),
// checked against an f64 recurrence and timed.
#pragma once

#include <cstdint>

#include "runtime/device.h"

namespace rnnc::bench {

// Every probe compiled for `device`: checked against its f64 recurrence at (T, B) = (20, 8), (1, 4) and
// (7, 12) (every step: forward h and c, backward da and both carries; the largest error over the largest
// magnitude, < 1e-4; a NaN fails), then timed at T `seq`, B `batch` (median of `repeats` after
// max(1, `warmup`) runs; inputs on the device, the device synchronised after each run). One JSON line a
// probe. False if a check failed; a failed run, or a device with no probe compiled for it, is a
// UserError.
bool persistent_probe(runtime::Device device, int64_t seq, int64_t batch, int repeats, int warmup);

}  // namespace rnnc::bench
