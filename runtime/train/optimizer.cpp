#include "runtime/train/optimizer.h"

#include <cmath>

#include "ir/error.h"

namespace rnnc::train {
namespace {

const Tensor<float>& state_tensor(const std::map<std::string, Tensor<float>>& state, const std::string& key,
                                  const Tensor<float>& like) {
  auto it = state.find(key);
  RNNC_USER_CHECK(it != state.end()) << "optimizer state has no tensor '" << key << "'";
  RNNC_USER_CHECK(it->second.shape == like.shape)
      << "optimizer state '" << key << "' has shape " << runtime::dims_str(it->second.shape) << ", the parameter "
      << runtime::dims_str(like.shape);
  return it->second;
}

void check_grad(const std::string& name, const Tensor<float>& p, const GradView& g) {
  RNNC_USER_CHECK(g.size == p.size()) << "gradient of @" << name << " has " << g.size << " elements, the parameter "
                                      << p.size();
}

// torch.optim.Adam (L2 weight decay folded into the gradient, bias-corrected moments).
class Adam final : public Optimizer {
 public:
  explicit Adam(const AdamOptions& o) : Optimizer(o.lr), o_(o) {}
  std::string name() const override { return "adam"; }

  void step(ParamMap& params, const GradMap& grads, float scale) override {
    ++steps_;
    const double bc1 = 1 - std::pow(o_.beta1, static_cast<double>(steps_));
    const double bc2 = 1 - std::pow(o_.beta2, static_cast<double>(steps_));
    const float step_size = static_cast<float>(lr_ / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(bc2));
    const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
    const float eps = static_cast<float>(o_.eps), wd = static_cast<float>(o_.weight_decay);
    for (auto& [name, p] : params) {
      auto g = grads.find(name);
      if (g == grads.end()) continue;
      check_grad(name, p, g->second);
      Tensor<float>& m = moment(m_, name, p);
      Tensor<float>& v = moment(v_, name, p);
      float* pd = p.data.data();
      float* md = m.data.data();
      float* vd = v.data.data();
      const float* gd = g->second.data;
      for (int64_t i = 0, n = p.size(); i < n; ++i) {
        float gi = gd[i] * scale + wd * pd[i];
        md[i] = b1 * md[i] + (1 - b1) * gi;
        vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
        pd[i] -= step_size * md[i] / (std::sqrt(vd[i]) * inv_sqrt_bc2 + eps);
      }
    }
  }

  std::map<std::string, Tensor<float>> state() const override {
    std::map<std::string, Tensor<float>> s;
    s["adam.steps"] = Tensor<float>({1}, {static_cast<float>(steps_)});
    for (const auto& [name, t] : m_) s["adam.m/" + name] = t;
    for (const auto& [name, t] : v_) s["adam.v/" + name] = t;
    return s;
  }

  void load_state(const std::map<std::string, Tensor<float>>& s) override {
    auto it = s.find("adam.steps");
    RNNC_USER_CHECK(it != s.end() && it->second.size() == 1) << "optimizer state has no Adam step count";
    steps_ = static_cast<int64_t>(it->second[0]);
    m_.clear();
    v_.clear();
    for (const auto& [key, t] : s) {
      if (key.rfind("adam.m/", 0) == 0) m_[key.substr(7)] = t;
      if (key.rfind("adam.v/", 0) == 0) v_[key.substr(7)] = t;
    }
    for (const auto& [name, t] : m_) state_tensor(s, "adam.v/" + name, t);
  }

 private:
  static Tensor<float>& moment(std::map<std::string, Tensor<float>>& moments, const std::string& name,
                               const Tensor<float>& p) {
    auto it = moments.find(name);
    if (it == moments.end()) it = moments.emplace(name, Tensor<float>(p.shape)).first;
    RNNC_USER_CHECK(it->second.shape == p.shape) << "Adam state of @" << name << " does not match its shape";
    return it->second;
  }

  AdamOptions o_;
  int64_t steps_ = 0;
  std::map<std::string, Tensor<float>> m_, v_;
};

// torch.optim.SGD: momentum buffers start as the first gradient (dampening 0, no Nesterov).
class Sgd final : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& o) : Optimizer(o.lr), o_(o) {}
  std::string name() const override { return "sgd"; }

  void step(ParamMap& params, const GradMap& grads, float scale) override {
    const float lr = static_cast<float>(lr_), mu = static_cast<float>(o_.momentum);
    const float wd = static_cast<float>(o_.weight_decay);
    for (auto& [name, p] : params) {
      auto g = grads.find(name);
      if (g == grads.end()) continue;
      check_grad(name, p, g->second);
      float* pd = p.data.data();
      const float* gd = g->second.data;
      if (mu == 0) {
        for (int64_t i = 0, n = p.size(); i < n; ++i) pd[i] -= lr * (gd[i] * scale + wd * pd[i]);
        continue;
      }
      auto [it, fresh] = velocity_.try_emplace(name, Tensor<float>(p.shape));
      float* vd = it->second.data.data();
      for (int64_t i = 0, n = p.size(); i < n; ++i) {
        float gi = gd[i] * scale + wd * pd[i];
        vd[i] = fresh ? gi : mu * vd[i] + gi;
        pd[i] -= lr * vd[i];
      }
    }
  }

  std::map<std::string, Tensor<float>> state() const override {
    std::map<std::string, Tensor<float>> s;
    for (const auto& [name, t] : velocity_) s["sgd.velocity/" + name] = t;
    return s;
  }
  void load_state(const std::map<std::string, Tensor<float>>& s) override {
    velocity_.clear();
    for (const auto& [key, t] : s) {
      if (key.rfind("sgd.velocity/", 0) == 0) velocity_[key.substr(13)] = t;
    }
  }

 private:
  SgdOptions o_;
  std::map<std::string, Tensor<float>> velocity_;
};

}  // namespace

Optimizer::Optimizer(double lr) : lr_(lr) { set_learning_rate(lr); }

void Optimizer::set_learning_rate(double lr) {
  RNNC_USER_CHECK(std::isfinite(lr) && lr > 0) << "learning rate must be a positive number, got " << lr;
  lr_ = lr;
}

std::unique_ptr<Optimizer> make_adam(const AdamOptions& options) { return std::make_unique<Adam>(options); }
std::unique_ptr<Optimizer> make_sgd(const SgdOptions& options) { return std::make_unique<Sgd>(options); }

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double lr) {
  if (name == "adam") return make_adam({.lr = lr});
  if (name == "sgd") return make_sgd({.lr = lr});
  throw_user_error("unknown optimizer '" + name + "' (expected adam or sgd)");
}

ClipResult clip_grad_norm(const GradMap& grads, double max_norm) {
  double sum = 0;
  for (const auto& [name, g] : grads) {
    double s = 0;
    for (int64_t i = 0; i < g.size; ++i) s += static_cast<double>(g.data[i]) * g.data[i];
    sum += s;
  }
  ClipResult r;
  r.total_norm = std::sqrt(sum);
  if (max_norm > 0) {
    double coef = max_norm / (r.total_norm + 1e-6);
    if (coef < 1) r.scale = static_cast<float>(coef);
  }
  return r;
}

}  // namespace rnnc::train
