// Self-test of the benchmark anchors.
// 1. Numerics: the oneDNN anchor's LSTM (2 layers, I != H) on a tiny shape with known weights against a plain C++
//    LSTM in PyTorch's convention (W_ih [4H, I], W_hh [4H, H], gate order i, f, g, o), forward and backward (dx and
//    every weight and bias gradient, through a hand-written BPTT). Exit 1 if any max abs error exceeds 1e-4.
// 2. Timings of both anchors for the seed workload S (lstm, 2 layers, B 64, T 200, I 100, H 128) and for every
//    cell at a smaller shape.
// Usage: anchors-selftest [--repeats N] [--numerics-only] [--no-torch] [--seed-only] [--cell CELL]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/anchors.h"

using namespace rnnc::bench;

namespace {

using Vec = std::vector<float>;

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// PyTorch-convention parameters of one LSTM layer (b = b_ih + b_hh).
struct TorchLstmLayer {
  int64_t I, H;
  Vec W_ih, W_hh, b;  // [4H, I], [4H, H], [4H]
};

struct LayerTrace {
  std::vector<Vec> i, f, g, o, c, h;  // per step, [N, H] each; c/h after the step
};

// Forward of one layer over x [T, N, I]; returns h for all steps [T, N, H] and fills the trace.
Vec ref_forward(const TorchLstmLayer& p, const Vec& x, int64_t T, int64_t N, LayerTrace& tr) {
  const int64_t I = p.I, H = p.H;
  Vec h(N * H, 0.0f), c(N * H, 0.0f), y(T * N * H);
  for (int64_t t = 0; t < T; ++t) {
    Vec gi(N * H), gf(N * H), gg(N * H), go(N * H), cn(N * H), hn(N * H);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t j = 0; j < 4 * H; ++j) {
        double a = p.b[j];
        for (int64_t k = 0; k < I; ++k) a += double(p.W_ih[j * I + k]) * x[(t * N + n) * I + k];
        for (int64_t k = 0; k < H; ++k) a += double(p.W_hh[j * H + k]) * h[n * H + k];
        const int64_t gate = j / H, u = j % H;
        float v = static_cast<float>(a);
        if (gate == 0) gi[n * H + u] = sigmoid(v);
        if (gate == 1) gf[n * H + u] = sigmoid(v);
        if (gate == 2) gg[n * H + u] = std::tanh(v);
        if (gate == 3) go[n * H + u] = sigmoid(v);
      }
      for (int64_t u = 0; u < H; ++u) {
        const int64_t q = n * H + u;
        cn[q] = gf[q] * c[q] + gi[q] * gg[q];
        hn[q] = go[q] * std::tanh(cn[q]);
        y[(t * N + n) * H + u] = hn[q];
      }
    }
    h = hn;
    c = cn;
    tr.i.push_back(gi), tr.f.push_back(gf), tr.g.push_back(gg), tr.o.push_back(go), tr.c.push_back(cn),
        tr.h.push_back(hn);
  }
  return y;
}

struct LayerGrads {
  Vec dW_ih, dW_hh, db, dx;
};

// BPTT of one layer given dy [T, N, H] (the gradient of its outputs) and its forward trace.
LayerGrads ref_backward(const TorchLstmLayer& p, const Vec& x, const Vec& dy, int64_t T, int64_t N,
                        const LayerTrace& tr) {
  const int64_t I = p.I, H = p.H;
  LayerGrads gr{Vec(4 * H * I, 0.0f), Vec(4 * H * H, 0.0f), Vec(4 * H, 0.0f), Vec(T * N * I, 0.0f)};
  Vec dh_next(N * H, 0.0f), dc_next(N * H, 0.0f), zeros(N * H, 0.0f);
  for (int64_t t = T - 1; t >= 0; --t) {
    const Vec& c_prev = t > 0 ? tr.c[t - 1] : zeros;
    const Vec& h_prev = t > 0 ? tr.h[t - 1] : zeros;
    Vec dA(N * 4 * H);  // gradient of the gate pre-activations
    for (int64_t n = 0; n < N; ++n)
      for (int64_t u = 0; u < H; ++u) {
        const int64_t q = n * H + u;
        const float i = tr.i[t][q], f = tr.f[t][q], g = tr.g[t][q], o = tr.o[t][q];
        const float tc = std::tanh(tr.c[t][q]);
        const float dh = dy[(t * N + n) * H + u] + dh_next[q];
        const float dc = dh * o * (1 - tc * tc) + dc_next[q];
        dA[n * 4 * H + 0 * H + u] = dc * g * i * (1 - i);
        dA[n * 4 * H + 1 * H + u] = dc * c_prev[q] * f * (1 - f);
        dA[n * 4 * H + 2 * H + u] = dc * i * (1 - g * g);
        dA[n * 4 * H + 3 * H + u] = dh * tc * o * (1 - o);
        dc_next[q] = dc * f;
      }
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t j = 0; j < 4 * H; ++j) {
        const float d = dA[n * 4 * H + j];
        gr.db[j] += d;
        for (int64_t k = 0; k < I; ++k) gr.dW_ih[j * I + k] += d * x[(t * N + n) * I + k];
        for (int64_t k = 0; k < H; ++k) gr.dW_hh[j * H + k] += d * h_prev[n * H + k];
      }
      for (int64_t k = 0; k < I; ++k) {
        double s = 0;
        for (int64_t j = 0; j < 4 * H; ++j) s += double(dA[n * 4 * H + j]) * p.W_ih[j * I + k];
        gr.dx[(t * N + n) * I + k] = static_cast<float>(s);
      }
      for (int64_t k = 0; k < H; ++k) {
        double s = 0;
        for (int64_t j = 0; j < 4 * H; ++j) s += double(dA[n * 4 * H + j]) * p.W_hh[j * H + k];
        dh_next[n * H + k] = static_cast<float>(s);
      }
    }
  }
  return gr;
}

// PyTorch [4H, K] (rows gate-major, gates i, f, g, o) -> oneDNN ldigo [K, 4, H] (L = D = 1; gates i, f, c~, o: the
// same order, so only the transpose).
Vec to_ldigo(const Vec& W, int64_t K, int64_t H) {
  Vec out(K * 4 * H);
  for (int64_t g = 0; g < 4; ++g)
    for (int64_t o = 0; o < H; ++o)
      for (int64_t k = 0; k < K; ++k) out[(k * 4 + g) * H + o] = W[(g * H + o) * K + k];
  return out;
}

double max_abs_diff(const Vec& a, const Vec& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t k = 0; k < a.size(); ++k) m = std::max(m, double(std::fabs(a[k] - b[k])));
  return m;
}

double max_abs(const Vec& a) {
  double m = 0;
  for (float v : a) m = std::max(m, double(std::fabs(v)));
  return m;
}

// Returns false when any error is above the tolerance.
bool check_numerics() {
  const int64_t T = 5, N = 3, I = 4, H = 6;
  const int L = 2;
  const double tol = 1e-4;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto rnd = [&](size_t n) {
    Vec v(n);
    for (auto& e : v) e = u(rng);
    return v;
  };
  std::vector<TorchLstmLayer> ps;
  for (int l = 0; l < L; ++l) {
    const int64_t in = l == 0 ? I : H;
    ps.push_back({in, H, rnd(4 * H * in), rnd(4 * H * H), rnd(4 * H)});
  }
  const Vec x = rnd(T * N * I), dy = rnd(T * N * H);

  // Reference: forward through the stack, then BPTT back down.
  std::vector<LayerTrace> traces(L);
  std::vector<Vec> inputs{x};
  for (int l = 0; l < L; ++l) inputs.push_back(ref_forward(ps[l], inputs[l], T, N, traces[l]));
  std::vector<LayerGrads> grads(L);
  Vec d = dy;
  for (int l = L - 1; l >= 0; --l) {
    grads[l] = ref_backward(ps[l], inputs[l], d, T, N, traces[l]);
    d = grads[l].dx;
  }

  std::vector<Vec> wl, wi, b;
  for (auto& p : ps) {
    wl.push_back(to_ldigo(p.W_ih, p.I, H));
    wi.push_back(to_ldigo(p.W_hh, H, H));
    b.push_back(p.b);  // ldgo [4, H] is PyTorch's [4H]
  }
  const detail::OnednnRun r = detail::run_onednn_once({"lstm", L, N, T, I, H}, x, wl, wi, b, dy);

  bool ok = true;
  auto report = [&](const std::string& what, const Vec& got, const Vec& want) {
    const double e = max_abs_diff(got, want);
    const bool pass = e <= tol;
    ok = ok && pass;
    std::printf("  %-28s max abs error %.3g (max |ref| %.3g)%s\n", what.c_str(), e, max_abs(want),
                pass ? "" : "  FAIL");
  };
  std::printf("numerics: oneDNN LSTM vs C++ reference (L %d, T %lld, N %lld, I %lld, H %lld), tolerance %g\n", L,
              (long long)T, (long long)N, (long long)I, (long long)H, tol);
  report("forward (inference) y", r.y, inputs[L]);
  report("forward (training) y", r.y_train, inputs[L]);
  report("dx", r.dx, grads[0].dx);
  for (int l = 0; l < L; ++l) {
    const std::string p = "layer " + std::to_string(l) + " ";
    report(p + "dW_ih", r.dw_layer.size() > size_t(l) ? r.dw_layer[l] : Vec{}, to_ldigo(grads[l].dW_ih, ps[l].I, H));
    report(p + "dW_hh", r.dw_iter.size() > size_t(l) ? r.dw_iter[l] : Vec{}, to_ldigo(grads[l].dW_hh, H, H));
    report(p + "db", r.dbias.size() > size_t(l) ? r.dbias[l] : Vec{}, grads[l].db);
  }
  return ok;
}

void print_row(const Workload& w, const Timing& onednn, const Timing& torch) {
  auto ratio = [](double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", b / a);
    return std::string(buf);
  };
  std::printf("%-15s L%d B%-4lld T%-4lld I%-4lld H%-4lld | %10s %10s | %10s %10s | %6s %6s\n", w.cell.c_str(),
              w.layers, (long long)w.batch, (long long)w.seq, (long long)w.input, (long long)w.hidden,
              format_ms(onednn.forward_ms).c_str(), format_ms(onednn.train_ms).c_str(),
              format_ms(torch.forward_ms).c_str(), format_ms(torch.train_ms).c_str(),
              ratio(onednn.forward_ms, torch.forward_ms).c_str(), ratio(onednn.train_ms, torch.train_ms).c_str());
  for (const Timing* t : {&onednn, &torch})
    if (!t->note.empty()) std::printf("    %s: %s\n", t == &onednn ? "oneDNN" : "torch", t->note.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 10;
  bool numerics_only = false, with_torch = true, seed_only = false;
  std::string only_cell;
  for (int a = 1; a < argc; ++a) {
    if (!std::strcmp(argv[a], "--repeats") && a + 1 < argc) {
      repeats = std::atoi(argv[++a]);
    } else if (!std::strcmp(argv[a], "--numerics-only")) {
      numerics_only = true;
    } else if (!std::strcmp(argv[a], "--no-torch")) {
      with_torch = false;
    } else if (!std::strcmp(argv[a], "--seed-only")) {
      seed_only = true;
    } else if (!std::strcmp(argv[a], "--cell") && a + 1 < argc) {
      only_cell = argv[++a];
    } else {
      std::fprintf(stderr, "usage: %s [--repeats N] [--numerics-only] [--no-torch] [--seed-only] [--cell CELL]\n", argv[0]);
      return 2;
    }
  }

  const bool ok = check_numerics();
  if (!ok) {
    std::printf("numerics: FAILED\n");
    return 1;
  }
  std::printf("numerics: ok\n");
  if (numerics_only) return 0;

  std::vector<Workload> ws{{"lstm", 2, 64, 200, 100, 128}};
  if (!seed_only)
    for (const char* cell : {"lstm", "gru", "rnn-tanh", "rnn-relu", "layernorm-lstm"})
      ws.push_back({cell, 2, 32, 50, 64, 64});
  std::printf("\ntimings: median of %d runs, ms (torch/oneDNN = PyTorch time over oneDNN time)\n", repeats);
  std::printf("%-15s %-26s | %10s %10s | %10s %10s | %13s\n", "cell", "shape", "oneDNN fwd", "oneDNN trn",
              "torch fwd", "torch trn", "torch/oneDNN");
  for (const Workload& w : ws) {
    if (!only_cell.empty() && w.cell != only_cell) continue;
    const Timing o = time_onednn(w, repeats);
    Timing t;
    if (with_torch) t = time_torch(w, repeats);
    else t.note = "skipped (--no-torch)";
    print_row(w, o, t);
  }
  return 0;
}
