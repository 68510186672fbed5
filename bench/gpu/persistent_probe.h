// gpu_bench --persistent-probe: the persistent-scan probe's kernels (persistent_lstm_generator.cpp),
// checked against an f64 recurrence and timed.
#pragma once

#include <cstdint>

#include "runtime/device.h"

namespace rnnc::bench {

// Every probe compiled for `device`: checked at T 20, B 8 (largest error of any step's h and c / largest |c| < 1e-4; a NaN fails), then
// timed at T `seq`, B `batch` (median of `repeats` after max(1, `warmup`) runs; inputs on the device, the
// device synchronised after each run). One JSON line a probe. False if a check or a run failed; a
// device with no probe compiled for it is a UserError.
bool persistent_probe(runtime::Device device, int64_t seq, int64_t batch, int repeats, int warmup);

}  // namespace rnnc::bench
