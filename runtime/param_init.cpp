#include "runtime/param_init.h"

#include <algorithm>
#include <random>

namespace rnnc::runtime {

template <typename T>
std::map<std::string, Tensor<T>> draw_params(const ir::Module& module, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::map<std::string, Tensor<T>> out;
  for (const ir::ParamDecl& p : module.params()) {
    Dims shape;
    for (const ir::Dim& d : p.type.shape) shape.push_back(d.size);
    Tensor<T> t(shape);
    const ir::InitSpec& init = p.init;
    for (int64_t i = 0; i < t.size(); ++i) {
      switch (init.kind) {
        case ir::InitSpec::Kind::Zeros: t[i] = 0; break;
        case ir::InitSpec::Kind::Ones: t[i] = 1; break;
        case ir::InitSpec::Kind::Uniform:
          t[i] = static_cast<T>(std::uniform_real_distribution<double>(init.a, init.b)(gen));
          break;
        case ir::InitSpec::Kind::Normal: t[i] = static_cast<T>(std::normal_distribution<double>(init.a, init.b)(gen)); break;
      }
    }
    if (init.zero_row >= 0 && !shape.empty() && init.zero_row < shape[0]) {
      int64_t row = t.size() / shape[0];
      std::fill(t.data.begin() + init.zero_row * row, t.data.begin() + (init.zero_row + 1) * row, T(0));
    }
    out[p.name] = std::move(t);
  }
  return out;
}

template std::map<std::string, Tensor<float>> draw_params(const ir::Module&, uint64_t);
template std::map<std::string, Tensor<double>> draw_params(const ir::Module&, uint64_t);

}  // namespace rnnc::runtime
