#include "support/gradcheck.h"

#include <cmath>

#include "ir/error.h"
#include "passes/autodiff.h"

namespace rnnc::testing {

using runtime::IntTensor;
using runtime::Tensor;

Values random_inputs(const ir::Function& forward, const std::map<std::string, int64_t>& dims, std::mt19937& gen,
                     int64_t vocab, int64_t classes) {
  Values out;
  std::normal_distribution<double> normal;
  for (size_t i = 0; i < forward.args().size(); ++i) {
    const ir::TensorType& t = forward.type(forward.arg(i));
    const std::string& name = forward.value_name(forward.arg(i));
    runtime::Dims shape;
    for (const ir::Dim& d : t.shape) shape.push_back(d.is_symbolic() ? dims.at(d.symbol) : d.size);
    if (ir::is_float(t.dtype)) {
      Tensor<double> x(shape);
      for (double& v : x.data) v = normal(gen);
      out.push_back(x);
      continue;
    }
    IntTensor x(shape);
    int64_t time = dims.count("time") ? dims.at("time") : 1;
    for (int64_t k = 0; k < x.size(); ++k) {
      if (name == "lengths") {
        x[k] = k == 0 || time == 0 ? time : 1 + static_cast<int64_t>(gen() % time);  // no steps: all 0
      } else if (name == "labels") {
        x[k] = static_cast<int64_t>(gen() % classes);
      } else if (name == "seed") {
        x[k] = 12345;
      } else {
        x[k] = static_cast<int64_t>(gen() % vocab);
      }
    }
    out.push_back(x);
  }
  return out;
}

std::vector<runtime::Value<float>> to_f32(const Values& values) {
  std::vector<runtime::Value<float>> out;
  for (const auto& v : values) {
    if (const auto* t = std::get_if<Tensor<double>>(&v)) {
      out.push_back(Tensor<float>(t->shape, std::vector<float>(t->data.begin(), t->data.end())));
    } else {
      out.push_back(std::get<runtime::IntTensor>(v));
    }
  }
  return out;
}

Values random_cotangents(const Values& results, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  Values out;
  for (const auto& r : results) {
    if (const auto* t = std::get_if<Tensor<double>>(&r)) {
      Tensor<double> c(t->shape);
      for (double& v : c.data) v = normal(gen);
      out.push_back(c);
    } else {
      out.push_back(IntTensor(std::get<IntTensor>(r).shape));
    }
  }
  return out;
}

double weighted_loss(const Values& results, const Values& cotangents) {
  double sum = 0;
  for (size_t i = 0; i < cotangents.size(); ++i) {
    const auto* y = std::get_if<Tensor<double>>(&results[i]);
    if (!y) continue;
    const auto& c = std::get<Tensor<double>>(cotangents[i]);
    for (int64_t k = 0; k < y->size(); ++k) sum += (*y)[k] * c[k];
  }
  return sum;
}

std::map<std::string, Tensor<double>> run_backward(const runtime::ReferenceExecutor<double>& ex, const Values& inputs,
                                                   const Values& cotangents) {
  const ir::Function& fwd = *ex.module().find_function("forward");
  const ir::Function& bwd = *ex.module().find_function("backward");
  Values results = ex.run("forward", inputs);
  Values args;
  size_t next_cotangent = 0;
  for (size_t i = 0; i < fwd.result_names().size(); ++i) {
    bool saved = fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0;
    if (!saved && std::holds_alternative<Tensor<double>>(results[i])) args.push_back(cotangents.at(next_cotangent));
    if (!saved) ++next_cotangent;
  }
  for (size_t i = 0; i < fwd.result_names().size(); ++i) {
    if (fwd.result_names()[i].rfind(passes::kSavedPrefix, 0) == 0) args.push_back(results[i]);
  }
  Values grads = ex.run("backward", args);
  std::map<std::string, Tensor<double>> out;
  for (size_t i = 0; i < grads.size(); ++i) out[bwd.result_names()[i]] = std::get<Tensor<double>>(grads[i]);
  return out;
}

GradCheck check_gradients(runtime::ReferenceExecutor<double>& ex, const ir::Module& original, Values inputs,
                          const Values& cotangents, int per_tensor, double eps) {
  std::map<std::string, Tensor<double>> grads = run_backward(ex, inputs, cotangents);
  runtime::ReferenceExecutor<double> plain(original);
  for (const auto& [name, t] : ex.params()) plain.set_param(name, t);
  auto loss = [&]() { return weighted_loss(plain.run("forward", inputs), cotangents); };

  // Padding rows of embedding tables: parameter name -> row.
  std::map<std::string, int64_t> padding_rows;
  const ir::Function& forward = *original.find_function("forward");
  for (ir::NodeId n = 0; n < forward.num_nodes(); ++n) {
    if (forward.op(n) != ir::OpKind::Embedding || !forward.node(n).attrs.has("padding_idx")) continue;
    ir::Value table = forward.operands(n)[0];
    if (forward.op(table.node) == ir::OpKind::Param) {
      padding_rows[forward.node(table.node).attrs.get_word("name")] = forward.node(n).attrs.get_int("padding_idx");
    }
  }

  GradCheck result;
  std::mt19937 pick(7);
  auto check_tensor = [&](const std::string& name, Tensor<double>& value, auto set) {
    const Tensor<double>& g = grads.at(std::string(passes::kGradPrefix) + name);
    RNNC_INTERNAL_CHECK(g.shape == value.shape) << "gradient of " << name << " has the wrong shape";
    std::vector<int64_t> elements;
    auto pad = padding_rows.find(name);
    int64_t row = value.rank() > 0 && value.shape[0] ? value.size() / value.shape[0] : 0;
    for (int64_t k = 0; k < value.size(); ++k) {
      if (pad != padding_rows.end() && k / row == pad->second) {
        RNNC_INTERNAL_CHECK(g[k] == 0) << "the padding row of " << name << " has a non-zero gradient";
        continue;
      }
      elements.push_back(k);
    }
    if (static_cast<int64_t>(elements.size()) > per_tensor) {
      std::shuffle(elements.begin(), elements.end(), pick);
      elements.resize(per_tensor);
    }
    double diff = 0, norm_g = 0, norm_fd = 0;
    for (int64_t k : elements) {
      double keep = value[k];
      value[k] = keep + eps;
      set(value);
      double up = loss();
      value[k] = keep - eps;
      set(value);
      double down = loss();
      value[k] = keep;
      set(value);
      double fd = (up - down) / (2 * eps);
      diff += (g[k] - fd) * (g[k] - fd);
      norm_g += g[k] * g[k];
      norm_fd += fd * fd;
      ++result.checked;
    }
    double scale = std::sqrt(std::max(norm_g, norm_fd));
    double rel = scale > 1e-12 ? std::sqrt(diff) / scale : std::sqrt(diff);
    if (rel >= result.worst_relative_error) {
      result.worst_relative_error = rel;
      result.worst_name = name;
    }
  };
  for (const auto& [name, t] : ex.params()) {
    Tensor<double> value = t;
    check_tensor(name, value, [&, n = name](const Tensor<double>& v) { plain.set_param(n, v); });
  }
  const ir::Function& fwd = *original.find_function("forward");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!std::holds_alternative<Tensor<double>>(inputs[i])) continue;
    Tensor<double> value = std::get<Tensor<double>>(inputs[i]);
    check_tensor(fwd.value_name(fwd.arg(i)), value, [&, i](const Tensor<double>& v) { inputs[i] = v; });
  }
  return result;
}

}  // namespace rnnc::testing
