#include "persistent_probe.h"

#include <HalideBuffer.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ir/error.h"
#include "persistent_probes.h"

namespace rnnc::bench {
namespace {

using runtime::Device;
using Halide::Runtime::Buffer;
using Forward = int (*)(halide_buffer_t* xp, halide_buffer_t* w, halide_buffer_t* state);
using Backward = int (*)(halide_buffer_t* acts, halide_buffer_t* cs, halide_buffer_t* dh_out, halide_buffer_t* wt,
                         halide_buffer_t* state);

struct Probe {
  const char* direction;  // "forward" or "backward"
  int hidden, rows;
  Device device;
  const char* name;
  Forward forward;
  Backward backward;
};

constexpr Device cuda = Device::Cuda, opencl = Device::OpenCL, cpu = Device::Cpu;

Probe make_probe(const char* name, int hidden, int rows, Device device, Forward f) {
  return {"forward", hidden, rows, device, name, f, nullptr};
}
Probe make_probe(const char* name, int hidden, int rows, Device device, Backward b) {
  return {"backward", hidden, rows, device, name, nullptr, b};
}

#define PROBE(hidden, rows, device, fn) make_probe(#fn, hidden, rows, device, &fn),
const std::vector<Probe> probes = {RNNC_PERSISTENT_PROBES(PROBE)};
#undef PROBE

Buffer<float> random_buffer(std::vector<int> shape, std::mt19937& gen, float lo, float hi) {
  Buffer<float> b(shape);
  std::uniform_real_distribution<float> uniform(lo, hi);
  b.for_each_value([&](float& v) { v = uniform(gen); });
  b.set_host_dirty();
  return b;
}

// A probe's inputs at T `seq`, B `batch`, and its state (the output). Forward: the input projection xp
// (4H, B, T) and W_hh as w (4H, H). Backward: the gates after their activations (i, f, o in (0, 1), g in
// (-1, 1)), c_0 … c_T, the gradients reaching each h_t, and W_hh as wt (H, 4H). Weights scaled by
// 1/sqrt(H), so that neither recurrence saturates nor blows up.
struct Run {
  const Probe& probe;
  std::vector<Buffer<float>> in;
  Buffer<float> state;

  Run(const Probe& p, int64_t batch, int64_t seq, uint32_t seed) : probe(p) {
    std::mt19937 gen(seed);
    const int H = p.hidden, B = static_cast<int>(batch), T = static_cast<int>(seq);
    const float scale = 1 / std::sqrt(static_cast<float>(H));
    if (p.forward) {
      in = {random_buffer({4 * H, B, T}, gen, -1, 1), random_buffer({4 * H, H}, gen, -scale, scale)};
      state = Buffer<float>(6 * H, B, T + 1);
    } else {
      Buffer<float> acts = random_buffer({4 * H, B, T}, gen, 0.05f, 0.95f);
      for (int t = 0; t < T; ++t) {
        for (int b = 0; b < B; ++b) {
          for (int j = 0; j < H; ++j) acts(2 * H + j, b, t) = 2 * acts(2 * H + j, b, t) - 1;  // g in (-0.9, 0.9)
        }
      }
      Buffer<float> cs = random_buffer({H, B, T + 1}, gen, -1, 1);
      for (int b = 0; b < B; ++b) {
        for (int j = 0; j < H; ++j) cs(j, b, 0) = 0;
      }
      in = {acts, cs, random_buffer({H, B, T}, gen, -1, 1), random_buffer({H, 4 * H}, gen, -scale, scale)};
      state = Buffer<float>(10 * H, B, T + 1);
    }
  }

  void operator()() {
    int rc = probe.forward ? probe.forward(in[0].raw_buffer(), in[1].raw_buffer(), state.raw_buffer())
                           : probe.backward(in[0].raw_buffer(), in[1].raw_buffer(), in[2].raw_buffer(),
                                            in[3].raw_buffer(), state.raw_buffer());
    RNNC_USER_CHECK(rc == 0) << probe.name << " failed (Halide error " << rc << ")";
    rc = state.device_sync();
    RNNC_USER_CHECK(rc == 0) << probe.name << ": synchronising the device failed (Halide error " << rc << ")";
  }
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Keeps the largest; a NaN too (it never compares below).
void keep_largest(double& worst, double d) {
  if (!(d <= worst)) worst = d;
}

// Forward in f64: every step's h and c against the state; the largest error over the largest |c| (>= 1).
double forward_error(Run& r) {
  const int H = r.probe.hidden, B = r.state.dim(1).extent(), T = r.state.dim(2).extent() - 1;
  const Buffer<float>&xp = r.in[0], &w = r.in[1];
  std::vector<double> h(H * B, 0), c(H * B, 0), h_next(H * B), c_next(H * B);
  double worst = 0, largest = 1;
  for (int t = 1; t <= T; ++t) {
    for (int b = 0; b < B; ++b) {
      for (int j = 0; j < H; ++j) {
        double a[4];
        for (int g = 0; g < 4; ++g) {
          a[g] = xp(g * H + j, b, t - 1);
          for (int k = 0; k < H; ++k) a[g] += static_cast<double>(w(g * H + j, k)) * h[k + H * b];
        }
        const int i = j + H * b;
        c_next[i] = sigmoid(a[1]) * c[i] + sigmoid(a[0]) * std::tanh(a[2]);
        h_next[i] = sigmoid(a[3]) * std::tanh(c_next[i]);
        keep_largest(worst, std::fabs(h_next[i] - r.state(j, b, t)));
        keep_largest(worst, std::fabs(c_next[i] - r.state(H + j, b, t)));
        largest = std::max(largest, std::fabs(c_next[i]));
      }
    }
    h.swap(h_next);
    c.swap(c_next);
  }
  return worst / largest;
}

// Backward in f64: every step's da and both carries against the state; the largest error over the
// largest magnitude among them (>= 1).
double backward_error(Run& r) {
  const int H = r.probe.hidden, B = r.state.dim(1).extent(), T = r.state.dim(2).extent() - 1;
  const Buffer<float>&acts = r.in[0], &cs = r.in[1], &dh_out = r.in[2], &wt = r.in[3];
  std::vector<double> dh_carry(H * B, 0), dc_carry(H * B, 0), da(4 * H);
  double worst = 0, largest = 1;
  for (int step = 1; step <= T; ++step) {
    const int t = T - step;
    for (int b = 0; b < B; ++b) {
      std::vector<double> dc_next(H);
      for (int j = 0; j < H; ++j) {
        const double i = acts(j, b, t), f = acts(H + j, b, t), g = acts(2 * H + j, b, t), o = acts(3 * H + j, b, t);
        const double tc = std::tanh(static_cast<double>(cs(j, b, t + 1)));
        const double dh = dh_out(j, b, t) + dh_carry[j + H * b];
        const double dc = dc_carry[j + H * b] + dh * o * (1 - tc * tc);
        da[j] = dc * g * i * (1 - i);
        da[H + j] = dc * cs(j, b, t) * f * (1 - f);
        da[2 * H + j] = dc * i * (1 - g * g);
        da[3 * H + j] = dh * tc * o * (1 - o);
        dc_next[j] = dc * f;
      }
      for (int c = 0; c < 4 * H; ++c) {
        keep_largest(worst, std::fabs(da[c] - r.state(2 * H + c, b, step)));
        largest = std::max(largest, std::fabs(da[c]));
      }
      for (int k = 0; k < H; ++k) {
        double sum = 0;
        for (int c = 0; c < 4 * H; ++c) sum += static_cast<double>(wt(k, c)) * da[c];
        dh_carry[k + H * b] = sum;
        dc_carry[k + H * b] = dc_next[k];
        keep_largest(worst, std::fabs(sum - r.state(k, b, step)));
        keep_largest(worst, std::fabs(dc_next[k] - r.state(H + k, b, step)));
        largest = std::max({largest, std::fabs(sum), std::fabs(dc_next[k])});
      }
    }
  }
  return worst / largest;
}

// The worst error over a few shapes (T, B): a common one, one step, and odd steps with three blocks of
// the widest probe.
double check_error(const Probe& p) {
  double worst = 0;
  for (auto [seq, batch] : {std::pair<int, int>{20, 8}, {1, 4}, {7, 12}}) {
    Run r(p, batch, seq, 11 + seq);
    r();
    const int rc = r.state.copy_to_host();
    RNNC_USER_CHECK(rc == 0) << p.name << ": copying the state to the host failed (Halide error " << rc << ")";
    keep_largest(worst, p.forward ? forward_error(r) : backward_error(r));
  }
  return worst;
}

double median_ms(const Probe& p, int64_t seq, int64_t batch, int repeats, int warmup) {
  Run r(p, batch, seq, 5);
  // At least one: the first run also allocates the state on the device and copies the inputs up.
  for (int i = 0; i < std::max(1, warmup); ++i) r();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto start = std::chrono::steady_clock::now();
    r();
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
    std::printf("{\"probe\": \"%s\", \"direction\": \"%s\", \"hidden\": %d, \"rows\": %d, \"blocks\": %" PRId64
                ", \"batch\": %" PRId64 ", \"seq\": %" PRId64
                ", \"ms\": %.4f, \"us_per_step\": %.3f, \"check_error\": %.2e, \"check\": \"%s\"}\n",
                p.name, p.direction, p.hidden, p.rows, batch / p.rows, batch, seq, ms,
                1e3 * ms / static_cast<double>(seq), error, passed ? "ok" : "FAILED");
    std::fflush(stdout);
  }
  return ok;
}

}  // namespace rnnc::bench
