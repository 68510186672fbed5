// The oneDNN anchor: one oneDNN RNN primitive per layer (oneDNN's multi-layer primitive needs equal input and
// hidden sizes), f32 on the CPU engine. See anchors.h for what is timed.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <random>
#include <stdexcept>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/alternating_timer.h"
#include "bench/anchors.h"

namespace rnnc::bench {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;
using dims = memory::dims;

enum class Kind { lstm, gru, rnn };

struct CellSpec {
  Kind kind;
  dnnl::algorithm activation = dnnl::algorithm::eltwise_tanh;  // vanilla RNN only
  int gates = 1;       // G in ldigo
  int bias_gates = 1;  // G in ldgo (linear-before-reset GRU has one more)
};

// Throws std::invalid_argument for a cell oneDNN has no primitive for.
CellSpec cell_spec(const std::string& cell) {
  if (cell == "lstm") return {Kind::lstm, dnnl::algorithm::undef, 4, 4};
  if (cell == "gru") return {Kind::gru, dnnl::algorithm::undef, 3, 4};
  if (cell == "rnn-tanh") return {Kind::rnn, dnnl::algorithm::eltwise_tanh, 1, 1};
  if (cell == "rnn-relu") return {Kind::rnn, dnnl::algorithm::eltwise_relu, 1, 1};
  throw std::invalid_argument("oneDNN has no primitive for cell '" + cell + "'");
}

size_t bytes_of(const memory& m) { return m.get_desc().get_size(); }
void zero(memory& m) { std::memset(m.get_data_handle(), 0, bytes_of(m)); }
void fill(memory& m, const std::vector<float>& v) {
  if (v.size() * sizeof(float) != bytes_of(m)) throw std::logic_error("onednn anchor: fill size mismatch");
  std::memcpy(m.get_data_handle(), v.data(), bytes_of(m));
}
std::vector<float> read(const memory& m) {
  std::vector<float> v(bytes_of(m) / sizeof(float));
  std::memcpy(v.data(), m.get_data_handle(), bytes_of(m));
  return v;
}

// Memory in `want`'s layout holding `user` (reordered if the layouts differ).
memory to_layout(const memory& user, const memory::desc& want, const dnnl::engine& eng, dnnl::stream& s) {
  if (user.get_desc() == want) return user;
  memory m(want, eng);
  dnnl::reorder(user, m).execute(s, const_cast<memory&>(user), m);
  s.wait();
  return m;
}

// The primitives and buffers of one layer.
struct Layer {
  int64_t in = 0;
  // User weights in oneDNN's plain layouts: ldigo, ldigo, ldgo.
  memory w_layer_user, w_iter_user, bias;
  memory src_iter, src_iter_c;  // explicit zeros (an empty src_iter gives a wrong diff_weights_iter in 2.6.3)
  memory dst;                   // [T, N, H] tnc
  // Inference.
  dnnl::primitive fwd_inf;
  memory inf_w_layer, inf_w_iter;
  // Training.
  dnnl::primitive fwd_train, bwd;
  memory tr_w_layer, tr_w_iter, bwd_w_layer, bwd_w_iter, workspace;
  memory diff_src, diff_src_iter, diff_src_iter_c;  // diff_src: [T, N, in] tnc
  memory diff_w_layer, diff_w_iter, diff_bias;
};

struct DnnlNet {
  Workload w;
  CellSpec spec;
  bool training;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream s{eng};
  memory x;        // [T, N, I] tnc
  memory diff_top; // [T, N, H] tnc, the upstream gradient
  std::vector<Layer> layers;

  // Builds the primitives. Weights: per layer ldigo / ldigo / ldgo vectors (empty: random, PyTorch's init range).
  DnnlNet(const Workload& wl, bool train, const std::vector<float>* x_data = nullptr,
      const std::vector<std::vector<float>>* wl_data = nullptr,
      const std::vector<std::vector<float>>* wi_data = nullptr,
      const std::vector<std::vector<float>>* b_data = nullptr, const std::vector<float>* dy_data = nullptr)
      : w(wl), spec(cell_spec(wl.cell)), training(train) {
    if (w.layers < 1 || w.batch < 1 || w.seq < 1 || w.input < 1 || w.hidden < 1)
      throw std::invalid_argument("onednn anchor: bad workload sizes");
    const int64_t T = w.seq, N = w.batch, H = w.hidden, G = spec.gates, BG = spec.bias_gates;
    std::mt19937 rng(42);
    auto random_vec = [&](size_t n, float bound) {
      std::uniform_real_distribution<float> u(-bound, bound);
      std::vector<float> v(n);
      for (auto& e : v) e = u(rng);
      return v;
    };
    const float k = 1.0f / std::sqrt(static_cast<float>(H));

    x = memory({{T, N, w.input}, dt::f32, tag::tnc}, eng);
    fill(x, x_data ? *x_data : random_vec(T * N * w.input, 1.0f));
    if (training) {
      diff_top = memory({{T, N, H}, dt::f32, tag::tnc}, eng);
      fill(diff_top, dy_data ? *dy_data : std::vector<float>(T * N * H, 1.0f));
    }

    layers.resize(w.layers);
    for (int l = 0; l < w.layers; ++l) {
      Layer& L = layers[l];
      L.in = l == 0 ? w.input : H;
      memory::desc src_md({T, N, L.in}, dt::f32, tag::tnc), dst_md({T, N, H}, dt::f32, tag::tnc);
      memory::desc iter_md({1, 1, N, H}, dt::f32, tag::ldnc);
      memory::desc wl_user_md({1, 1, L.in, G, H}, dt::f32, tag::ldigo), wi_user_md({1, 1, H, G, H}, dt::f32, tag::ldigo);
      memory::desc wl_any({1, 1, L.in, G, H}, dt::f32, tag::any), wi_any({1, 1, H, G, H}, dt::f32, tag::any);
      memory::desc bias_md({1, 1, BG, H}, dt::f32, tag::ldgo);  // a bias has one layout; `any` picks it too
      memory::desc none;  // dst_iter / dst_iter_c: not needed

      L.w_layer_user = memory(wl_user_md, eng);
      L.w_iter_user = memory(wi_user_md, eng);
      L.bias = memory(bias_md, eng);
      fill(L.w_layer_user, wl_data ? (*wl_data)[l] : random_vec(L.in * G * H, k));
      fill(L.w_iter_user, wi_data ? (*wi_data)[l] : random_vec(H * G * H, k));
      // PyTorch has two biases per gate (b_ih + b_hh); their sum is one bias here, so its range doubles.
      fill(L.bias, b_data ? (*b_data)[l] : random_vec(BG * H, 2 * k));
      L.src_iter = memory(iter_md, eng);
      zero(L.src_iter);
      if (spec.kind == Kind::lstm) {
        L.src_iter_c = memory(iter_md, eng);
        zero(L.src_iter_c);
      }
      L.dst = memory(dst_md, eng);

      const memory::desc c_md = spec.kind == Kind::lstm ? iter_md : none;
      const auto dir = dnnl::rnn_direction::unidirectional_left2right;
      const auto bwd = dnnl::prop_kind::backward;
      dnnl::rnn_primitive_desc_base inf_pd, fwd_pd, bwd_pd;
      switch (spec.kind) {
        case Kind::lstm: {
          lstm_like<dnnl::lstm_forward, dnnl::lstm_backward>(
              L, inf_pd, fwd_pd, bwd_pd, [&](dnnl::prop_kind p) {
                return dnnl::lstm_forward::desc(p, dir, src_md, iter_md, c_md, wl_any, wi_any, bias_md, dst_md, none,
                                                none);
              },
              [&] {
                return dnnl::lstm_backward::desc(bwd, dir, src_md, iter_md, c_md, wl_any, wi_any, bias_md, dst_md, none,
                                                 none, src_md, iter_md, c_md, wl_any, wi_any, bias_md, dst_md, none,
                                                 none);
              });
          break;
        }
        case Kind::gru: {
          lstm_like<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
              L, inf_pd, fwd_pd, bwd_pd, [&](dnnl::prop_kind p) {
                return dnnl::lbr_gru_forward::desc(p, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, none);
              },
              [&] {
                return dnnl::lbr_gru_backward::desc(bwd, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, none,
                                                    src_md, iter_md, wl_any, wi_any, bias_md, dst_md, none);
              });
          break;
        }
        case Kind::rnn: {
          const auto act = spec.activation;
          lstm_like<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
              L, inf_pd, fwd_pd, bwd_pd, [&](dnnl::prop_kind p) {
                return dnnl::vanilla_rnn_forward::desc(p, act, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md,
                                                       none);
              },
              [&] {
                return dnnl::vanilla_rnn_backward::desc(bwd, act, dir, src_md, iter_md, wl_any, wi_any, bias_md,
                                                        dst_md, none, src_md, iter_md, wl_any, wi_any, bias_md, dst_md,
                                                        none);
              });
          break;
        }
      }
      // Weights in each primitive's preferred layout, reordered once here (outside any timed region).
      if (!training) {
        L.inf_w_layer = to_layout(L.w_layer_user, inf_pd.weights_layer_desc(), eng, s);
        L.inf_w_iter = to_layout(L.w_iter_user, inf_pd.weights_iter_desc(), eng, s);
      } else {
        L.tr_w_layer = to_layout(L.w_layer_user, fwd_pd.weights_layer_desc(), eng, s);
        L.tr_w_iter = to_layout(L.w_iter_user, fwd_pd.weights_iter_desc(), eng, s);
        L.bwd_w_layer = to_layout(L.w_layer_user, bwd_pd.weights_layer_desc(), eng, s);
        L.bwd_w_iter = to_layout(L.w_iter_user, bwd_pd.weights_iter_desc(), eng, s);
        L.workspace = memory(fwd_pd.workspace_desc(), eng);
        L.diff_src = memory(src_md, eng);
        L.diff_src_iter = memory(iter_md, eng);
        if (spec.kind == Kind::lstm) L.diff_src_iter_c = memory(iter_md, eng);
        L.diff_w_layer = memory(bwd_pd.diff_weights_layer_desc(), eng);
        L.diff_w_iter = memory(bwd_pd.diff_weights_iter_desc(), eng);
        L.diff_bias = memory(bwd_pd.diff_bias_desc(), eng);
      }
    }
  }

  // Creates inference, training-forward and backward primitive descriptors and primitives for one layer.
  template <class Fwd, class Bwd, class MakeFwd, class MakeBwd>
  void lstm_like(Layer& L, dnnl::rnn_primitive_desc_base& inf_pd, dnnl::rnn_primitive_desc_base& fwd_pd,
                 dnnl::rnn_primitive_desc_base& bwd_pd, MakeFwd make_fwd, MakeBwd make_bwd) {
    if (!training) {
      typename Fwd::primitive_desc pd(make_fwd(dnnl::prop_kind::forward_inference), eng);
      L.fwd_inf = Fwd(pd);
      inf_pd = pd;
    } else {
      typename Fwd::primitive_desc fpd(make_fwd(dnnl::prop_kind::forward_training), eng);
      typename Bwd::primitive_desc bpd(make_bwd(), eng, fpd);
      L.fwd_train = Fwd(fpd);
      L.bwd = Bwd(bpd);
      fwd_pd = fpd;
      bwd_pd = bpd;
    }
  }

  const memory& layer_input(int l) const { return l == 0 ? x : layers[l - 1].dst; }

  void forward() {
    for (int l = 0; l < w.layers; ++l) {
      Layer& L = layers[l];
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, layer_input(l)},
                                           {DNNL_ARG_SRC_ITER, L.src_iter},
                                           {DNNL_ARG_BIAS, L.bias},
                                           {DNNL_ARG_DST_LAYER, L.dst}};
      if (spec.kind == Kind::lstm) args[DNNL_ARG_SRC_ITER_C] = L.src_iter_c;
      if (training) {
        args[DNNL_ARG_WEIGHTS_LAYER] = L.tr_w_layer;
        args[DNNL_ARG_WEIGHTS_ITER] = L.tr_w_iter;
        args[DNNL_ARG_WORKSPACE] = L.workspace;
        L.fwd_train.execute(s, args);
      } else {
        args[DNNL_ARG_WEIGHTS_LAYER] = L.inf_w_layer;
        args[DNNL_ARG_WEIGHTS_ITER] = L.inf_w_iter;
        L.fwd_inf.execute(s, args);
      }
    }
    s.wait();
  }

  // One training step: forward (training) and backward. oneDNN accumulates weight gradients, so they are zeroed
  // first (part of the step, as a user has to do it too).
  void train_step() {
    for (Layer& L : layers) {
      zero(L.diff_w_layer);
      zero(L.diff_w_iter);
      zero(L.diff_bias);
    }
    forward();
    for (int l = w.layers - 1; l >= 0; --l) {
      Layer& L = layers[l];
      const memory& diff_dst = l == w.layers - 1 ? diff_top : layers[l + 1].diff_src;
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, layer_input(l)},
                                           {DNNL_ARG_SRC_ITER, L.src_iter},
                                           {DNNL_ARG_WEIGHTS_LAYER, L.bwd_w_layer},
                                           {DNNL_ARG_WEIGHTS_ITER, L.bwd_w_iter},
                                           {DNNL_ARG_BIAS, L.bias},
                                           {DNNL_ARG_DST_LAYER, L.dst},
                                           {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                                           {DNNL_ARG_DIFF_SRC_LAYER, L.diff_src},
                                           {DNNL_ARG_DIFF_SRC_ITER, L.diff_src_iter},
                                           {DNNL_ARG_DIFF_WEIGHTS_LAYER, L.diff_w_layer},
                                           {DNNL_ARG_DIFF_WEIGHTS_ITER, L.diff_w_iter},
                                           {DNNL_ARG_DIFF_BIAS, L.diff_bias},
                                           {DNNL_ARG_WORKSPACE, L.workspace}};
      if (spec.kind == Kind::lstm) {
        args[DNNL_ARG_SRC_ITER_C] = L.src_iter_c;
        args[DNNL_ARG_DIFF_SRC_ITER_C] = L.diff_src_iter_c;
      }
      L.bwd.execute(s, args);
    }
    s.wait();
  }

  // A weight gradient back in the user's plain layout (ldigo / ldgo).
  std::vector<float> plain(const memory& m, const memory& user_like) {
    memory out(user_like.get_desc(), eng);
    dnnl::reorder(m, out).execute(s, const_cast<memory&>(m), out);
    s.wait();
    return read(out);
  }
};

}  // namespace

struct OnednnAnchor::Net : DnnlNet {
  using DnnlNet::DnnlNet;
};

OnednnAnchor::OnednnAnchor(const Workload& w, bool train) {
  if (w.cell == "layernorm-lstm") throw AnchorUnavailable("oneDNN has no layer-norm LSTM primitive");
  try {
    net_ = std::make_unique<Net>(w, train);
  } catch (const std::invalid_argument& e) {
    throw AnchorUnavailable(e.what());
  } catch (const dnnl::error& e) {
    throw AnchorUnavailable(std::string("oneDNN error: ") + e.what());
  }
}

OnednnAnchor::~OnednnAnchor() = default;

void OnednnAnchor::run() { net_->training ? net_->train_step() : net_->forward(); }

Timing time_onednn(const Workload& w, int repeats) {
  Timing r;
  try {
    for (bool train : {false, true}) {
      OnednnAnchor anchor(w, train);
      (train ? r.train_ms : r.forward_ms) = median_ms_alternating({[&] { anchor.run(); }}, repeats).front();
    }
  } catch (const AnchorUnavailable& e) {
    r.note = e.what();
  }
  return r;
}

namespace detail {

OnednnRun run_onednn_once(const Workload& w, const std::vector<float>& x,
                          const std::vector<std::vector<float>>& w_layer,
                          const std::vector<std::vector<float>>& w_iter, const std::vector<std::vector<float>>& bias,
                          const std::vector<float>& dy) {
  OnednnRun r;
  {
    DnnlNet net(w, false, &x, &w_layer, &w_iter, &bias);
    net.forward();
    r.y = read(net.layers.back().dst);
  }
  DnnlNet net(w, true, &x, &w_layer, &w_iter, &bias, &dy);
  // Twice: the second step shows that gradients do not accumulate across steps.
  net.train_step();
  net.train_step();
  r.y_train = read(net.layers.back().dst);
  r.dx = read(net.layers.front().diff_src);
  for (Layer& L : net.layers) {
    r.dw_layer.push_back(net.plain(L.diff_w_layer, L.w_layer_user));
    r.dw_iter.push_back(net.plain(L.diff_w_iter, L.w_iter_user));
    r.dbias.push_back(net.plain(L.diff_bias, L.bias));
  }
  return r;
}

}  // namespace detail

std::string format_ms(double ms) {
  if (std::isnan(ms)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

}  // namespace rnnc::bench
