#include "persistent_probe.h"

#include <HalideBuffer.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ir/error.h"
#include "persistent_probes.h"

namespace rnnc::bench {
namespace {

using runtime::Device;
using Halide::Runtime::Buffer;

struct Probe {
  int hidden, rows;
  Device device;
  const char* name;
  int (*run)(halide_buffer_t* xp, halide_buffer_t* w, halide_buffer_t* state);
};

constexpr Device cuda = Device::Cuda, opencl = Device::OpenCL, cpu = Device::Cpu;

#define PROBE(hidden, rows, device, fn) Probe{hidden, rows, device, #fn, &fn},
const std::vector<Probe> probes = {RNNC_PERSISTENT_PROBES(PROBE)};
#undef PROBE

// The probe's inputs: the input projection xp (4H, B, T) and W_hh as w (4H, H), gate column
// contiguous; small weights, so that the recurrence neither saturates nor blows up.
struct Inputs {
  Buffer<float> xp, w;
  Inputs(int H, int64_t batch, int64_t seq, uint32_t seed)
      : xp(4 * H, static_cast<int>(batch), static_cast<int>(seq)), w(4 * H, H) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> uniform(-1, 1);
    const float scale = 1 / std::sqrt(static_cast<float>(H));
    w.for_each_value([&](float& v) { v = uniform(gen) * scale; });
    xp.for_each_value([&](float& v) { v = uniform(gen); });
    xp.set_host_dirty();
    w.set_host_dirty();
  }
};

void run_or_throw(const Probe& p, Inputs& in, Buffer<float>& state) {
  int rc = p.run(in.xp.raw_buffer(), in.w.raw_buffer(), state.raw_buffer());
  RNNC_USER_CHECK(rc == 0) << p.name << " failed (Halide error " << rc << ")";
  rc = state.device_sync();
  RNNC_USER_CHECK(rc == 0) << p.name << ": synchronising the device failed (Halide error " << rc << ")";
}

// The largest error of h and c over every step against the f64 recurrence, over the largest |c|
// (at least 1).
double check_error(const Probe& p) {
  const int H = p.hidden, B = 8, T = 20;
  Inputs in(H, B, T, 11);
  Buffer<float> state(6 * H, B, T + 1);
  run_or_throw(p, in, state);
  const int rc = state.copy_to_host();
  RNNC_USER_CHECK(rc == 0) << p.name << ": copying the state to the host failed (Halide error " << rc << ")";
  std::vector<double> h(H * B, 0), c(H * B, 0), h_next(H * B), c_next(H * B);
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  double worst = 0, largest = 1;
  for (int t = 1; t <= T; ++t) {
    for (int b = 0; b < B; ++b) {
      for (int j = 0; j < H; ++j) {
        double a[4];
        for (int g = 0; g < 4; ++g) {
          a[g] = in.xp(g * H + j, b, t - 1);
          for (int k = 0; k < H; ++k) a[g] += static_cast<double>(in.w(g * H + j, k)) * h[k + H * b];
        }
        const int i = j + H * b;
        c_next[i] = sigmoid(a[1]) * c[i] + sigmoid(a[0]) * std::tanh(a[2]);
        h_next[i] = sigmoid(a[3]) * std::tanh(c_next[i]);
        for (double d : {std::fabs(h_next[i] - state(j, b, t)), std::fabs(c_next[i] - state(H + j, b, t))}) {
          if (!(d <= worst)) worst = d;  // a NaN too: it never compares below
        }
        largest = std::max(largest, std::fabs(c_next[i]));
      }
    }
    h.swap(h_next);
    c.swap(c_next);
  }
  return worst / largest;
}

double median_ms(const Probe& p, int64_t seq, int64_t batch, int repeats, int warmup) {
  Inputs in(p.hidden, batch, seq, 5);
  Buffer<float> state(6 * p.hidden, static_cast<int>(batch), static_cast<int>(seq + 1));
  // At least one: the first run also allocates the state on the device and copies the inputs up.
  for (int i = 0; i < std::max(1, warmup); ++i) run_or_throw(p, in, state);
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto start = std::chrono::steady_clock::now();
    run_or_throw(p, in, state);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

bool persistent_probe(Device device, int64_t seq, int64_t batch, int repeats, int warmup) {
  bool ok = true, found = false;
  for (const Probe& p : probes) {
    if (p.device != device) continue;
    found = true;
    RNNC_USER_CHECK(batch % p.rows == 0) << "--persistent-probe: the batch (" << batch << ") must be a multiple of "
                                         << p.rows << ", the rows a block of " << p.name;
  }
  RNNC_USER_CHECK(found) << "--persistent-probe: no probe was compiled for --device " << runtime::device_name(device);
  for (const Probe& p : probes) {
    if (p.device != device) continue;
    const double error = check_error(p);
    const bool passed = error < 1e-4;
    ok &= passed;
    const double ms = median_ms(p, seq, batch, repeats, warmup);
    std::printf("{\"probe\": \"%s\", \"hidden\": %d, \"rows\": %d, \"blocks\": %" PRId64 ", \"batch\": %" PRId64
                ", \"seq\": %" PRId64 ", \"ms\": %.4f, \"us_per_step\": %.3f, \"check_error\": %.2e, \"check\": \"%s\"}\n",
                p.name, p.hidden, p.rows, batch / p.rows, batch, seq, ms, 1e3 * ms / static_cast<double>(seq), error,
                passed ? "ok" : "FAILED");
    std::fflush(stdout);
  }
  return ok;
}

}  // namespace rnnc::bench
