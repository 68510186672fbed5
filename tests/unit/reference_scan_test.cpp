// The reference executor's recurrences against independent, hand-written loops in double precision:
// every zoo cell, variable lengths, both directions, stacked bidirectional layers; f32 against f64.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "frontend/zoo.h"
#include "runtime/reference_executor.h"

namespace rnnc {
namespace {

using runtime::IntTensor;
using runtime::ReferenceExecutor;
using runtime::Tensor;
using Vec = std::vector<double>;
using Params = std::map<std::string, Tensor<double>>;

double sigm(double x) { return 1 / (1 + std::exp(-x)); }

// W x (+ b) with W stored [out, in].
Vec affine(const Params& p, const std::string& w, const std::string& b, const Vec& x) {
  const Tensor<double>& W = p.at(w);
  int64_t out = W.shape[0], in = W.shape[1];
  Vec y(out, 0.0);
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t j = 0; j < in; ++j) y[i] += W[i * in + j] * x[j];
    if (!b.empty()) y[i] += p.at(b)[i];
  }
  return y;
}

Vec add(const Vec& a, const Vec& b) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Vec layer_norm(const Vec& x, const Tensor<double>& g, const Tensor<double>& b) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  for (double v : x) var += (v - mean) * (v - mean);
  var /= x.size();
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + 1e-5) * g[i] + b[i];
  return y;
}

// One step of each cell for one batch row, written from the textbook equations. state = {h} or {h, c}.
std::vector<Vec> step(const std::string& cell, const Params& p, const std::string& l, const Vec& x, const std::vector<Vec>& s) {
  const Vec& h = s[0];
  size_t H = h.size();
  auto gate = [&](const std::string& g) {
    return add(affine(p, l + ".W_i" + g, l + ".b_i" + g, x), affine(p, l + ".W_h" + g, l + ".b_h" + g, h));
  };
  if (cell == "rnn-tanh" || cell == "rnn-relu") {
    Vec pre = gate("h"), y(H);
    for (size_t i = 0; i < H; ++i) y[i] = cell == "rnn-tanh" ? std::tanh(pre[i]) : std::max(pre[i], 0.0);
    return {y};
  }
  if (cell == "gru") {
    Vec r = gate("r"), z = gate("z"), xn = affine(p, l + ".W_in", l + ".b_in", x), hn = affine(p, l + ".W_hn", l + ".b_hn", h), y(H);
    for (size_t i = 0; i < H; ++i) {
      double n = std::tanh(xn[i] + sigm(r[i]) * hn[i]);
      y[i] = (1 - sigm(z[i])) * n + sigm(z[i]) * h[i];
    }
    return {y};
  }
  const Vec& c = s[1];
  Vec h1(H), c1(H);
  if (cell == "layernorm-lstm") {
    Vec pre = add(layer_norm(affine(p, l + ".W_ih", "", x), p.at(l + ".ln_ih.gamma"), p.at(l + ".ln_ih.beta")),
                  layer_norm(affine(p, l + ".W_hh", "", h), p.at(l + ".ln_hh.gamma"), p.at(l + ".ln_hh.beta")));
    Vec craw(H);
    for (size_t i = 0; i < H; ++i) craw[i] = sigm(pre[H + i]) * c[i] + sigm(pre[i]) * std::tanh(pre[2 * H + i]);
    c1 = layer_norm(craw, p.at(l + ".ln_c.gamma"), p.at(l + ".ln_c.beta"));
    for (size_t i = 0; i < H; ++i) h1[i] = sigm(pre[3 * H + i]) * std::tanh(c1[i]);
    return {h1, c1};
  }
  bool peep = cell == "peephole-lstm";
  Vec gi = gate("i"), gf = gate("f"), gg = gate("g"), go = gate("o");
  for (size_t k = 0; k < H; ++k) {
    double i = sigm(gi[k] + (peep ? p.at(l + ".p_i")[k] * c[k] : 0));
    double f = sigm(gf[k] + (peep ? p.at(l + ".p_f")[k] * c[k] : 0));
    c1[k] = f * c[k] + i * std::tanh(gg[k]);
    double o = sigm(go[k] + (peep ? p.at(l + ".p_o")[k] * c1[k] : 0));
    h1[k] = o * std::tanh(c1[k]);
  }
  return {h1, c1};
}

struct LayerOut {
  std::vector<std::vector<Vec>> y;      // [t][b]
  std::vector<std::vector<Vec>> final;  // [state][b]
};

// One layer in one direction, packed-sequence semantics: row b runs over its first len[b] steps only.
LayerOut run_layer(const std::string& cell, const Params& p, const std::string& l, const std::vector<std::vector<Vec>>& x,
                   const std::vector<int64_t>& len, bool reverse, size_t H) {
  size_t T = x.size(), B = x[0].size();
  size_t states = (cell.find("lstm") != std::string::npos) ? 2 : 1;
  LayerOut out;
  out.y.assign(T, std::vector<Vec>(B, Vec(H, 0.0)));
  out.final.assign(states, std::vector<Vec>(B, Vec(H, 0.0)));
  for (size_t b = 0; b < B; ++b) {
    std::vector<Vec> s(states, Vec(H, 0.0));
    for (int64_t k = 0; k < len[b]; ++k) {
      size_t t = reverse ? len[b] - 1 - k : k;
      s = step(cell, p, l, x[t][b], s);
      out.y[t][b] = s[0];
    }
    for (size_t i = 0; i < states; ++i) out.final[i][b] = s[i];
  }
  return out;
}

std::vector<std::vector<Vec>> unpack(const Tensor<double>& t) {
  std::vector<std::vector<Vec>> out(t.shape[0], std::vector<Vec>(t.shape[1], Vec(t.shape[2])));
  for (int64_t i = 0; i < t.size(); ++i) out[i / (t.shape[1] * t.shape[2])][(i / t.shape[2]) % t.shape[1]][i % t.shape[2]] = t[i];
  return out;
}

double max_diff(const std::vector<std::vector<Vec>>& a, const Tensor<double>& b) {
  double worst = 0;
  std::vector<std::vector<Vec>> u = unpack(b);
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j)
      for (size_t k = 0; k < a[i][j].size(); ++k) worst = std::max(worst, std::abs(a[i][j][k] - u[i][j][k]));
  return worst;
}

double max_diff(const std::vector<Vec>& a, const Tensor<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, std::abs(a[i][k] - b[i * a[i].size() + k]));
  return worst;
}

struct Case {
  std::string cell;
  int64_t T, B, I, H;
  int layers;
  bool bidirectional;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.cell << " T=" << c.T << " B=" << c.B << " I=" << c.I << " H=" << c.H << " layers=" << c.layers
      << (c.bidirectional ? " bidirectional" : "");
}

class ReferenceScanTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceScanTest, MatchesHandWrittenLoops) {
  const Case c = GetParam();
  ir::Module m = zoo::build_cell_model(c.cell, {.input_size = c.I, .hidden_size = c.H, .num_layers = c.layers,
                                                .bidirectional = c.bidirectional});
  ReferenceExecutor<double> ex(m);
  ex.init_params(7);
  std::mt19937 gen(42);
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor<double> x({c.T, c.B, c.I});
  for (auto& v : x.data) v = u(gen);
  IntTensor lengths({c.B});
  for (int64_t b = 0; b < c.B; ++b) lengths[b] = b == 0 ? c.T : 1 + static_cast<int64_t>(gen() % c.T);
  std::vector<runtime::Value<double>> out = ex.run("forward", {x, lengths});

  const ir::Function& f = ex.module().functions()[0];
  std::map<std::string, const Tensor<double>*> by_name;
  for (size_t i = 0; i < out.size(); ++i) by_name[f.result_names()[i]] = &std::get<Tensor<double>>(out[i]);

  std::vector<int64_t> len(lengths.data.begin(), lengths.data.end());
  std::vector<std::vector<Vec>> layer_in = unpack(x);
  std::vector<std::vector<Vec>> y;
  for (int l = 0; l < c.layers; ++l) {
    std::vector<LayerOut> dirs;
    for (int d = 0; d < (c.bidirectional ? 2 : 1); ++d) {
      std::string name = "rnn.l" + std::to_string(l) + (d ? "_reverse" : "");
      dirs.push_back(run_layer(c.cell, ex.params(), name, layer_in, len, d == 1, c.H));
      std::string suffix = ".l" + std::to_string(l) + (d ? "_reverse" : "");
      EXPECT_LT(max_diff(dirs.back().final[0], *by_name.at("h_n" + suffix)), 1e-12) << suffix;
      if (dirs.back().final.size() > 1) {
        EXPECT_LT(max_diff(dirs.back().final[1], *by_name.at("c_n" + suffix)), 1e-12);
      }
    }
    y = dirs[0].y;
    if (dirs.size() == 2) {
      for (size_t t = 0; t < y.size(); ++t)
        for (size_t b = 0; b < y[t].size(); ++b) y[t][b].insert(y[t][b].end(), dirs[1].y[t][b].begin(), dirs[1].y[t][b].end());
    }
    layer_in = y;
  }
  EXPECT_LT(max_diff(y, *by_name.at("y")), 1e-12);

  // The same model in float32 agrees to float precision.
  ReferenceExecutor<float> ex32(m);
  for (const auto& [name, t] : ex.params()) ex32.set_param(name, Tensor<float>(t.shape, std::vector<float>(t.data.begin(), t.data.end())));
  Tensor<float> x32(x.shape, std::vector<float>(x.data.begin(), x.data.end()));
  std::vector<runtime::Value<float>> out32 = ex32.run("forward", {x32, lengths});
  for (size_t i = 0; i < out.size(); ++i) {
    const auto& a = std::get<Tensor<double>>(out[i]);
    const auto& b = std::get<Tensor<float>>(out32[i]);
    for (int64_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 2e-5 * (1 + std::abs(a[k])));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cells, ReferenceScanTest,
    ::testing::Values(Case{"rnn-tanh", 5, 3, 4, 6, 1, false}, Case{"rnn-relu", 4, 2, 3, 5, 1, true},
                      Case{"lstm", 6, 3, 4, 5, 1, false}, Case{"lstm", 5, 4, 3, 7, 2, true},
                      Case{"gru", 6, 3, 4, 5, 2, true}, Case{"peephole-lstm", 5, 3, 2, 4, 1, true},
                      Case{"layernorm-lstm", 5, 3, 4, 6, 2, false}, Case{"lstm", 1, 1, 1, 1, 1, true}),
    [](const auto& info) {
      const Case& c = info.param;
      std::string n = c.cell + "_T" + std::to_string(c.T) + "_L" + std::to_string(c.layers) + (c.bidirectional ? "_bi" : "");
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

}  // namespace
}  // namespace rnnc
