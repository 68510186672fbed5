#include "frontend/onnx/input_layouts.h"

#include <set>

namespace rnnc::onnx_import::detail {

namespace {

bool keeps_axes(const std::string& op) {
  static const std::set<std::string> ops{"Identity", "Cast", "Dropout", "Relu", "Tanh", "Sigmoid", "Exp", "Log",
                                         "Neg", "Abs", "LeakyRelu", "ThresholdedRelu", "HardSigmoid", "Elu",
                                         "Softsign", "Softplus", "Clip", "Add", "Sub", "Mul", "Div"};
  return ops.count(op) != 0;
}

}  // namespace

std::map<std::string, std::vector<int>> preferred_input_layouts(const onnx_io::GraphInfo& graph) {
  std::map<std::string, const onnx_io::NodeInfo*> producer;
  for (const onnx_io::NodeInfo& n : graph.nodes) {
    for (const std::string& o : n.outputs) {
      if (!o.empty()) producer[o] = &n;
    }
  }
  std::set<std::string> inputs;
  for (const onnx_io::ValueInfo& v : graph.inputs) inputs.insert(v.name);

  std::map<std::string, std::vector<int>> out;
  // `order`: IR axis j should hold axis order[j] of tensor `name`.
  std::vector<std::pair<std::string, std::vector<int>>> work;
  for (const onnx_io::NodeInfo& n : graph.nodes) {
    if (n.op_type != "RNN" && n.op_type != "LSTM" && n.op_type != "GRU") continue;
    bool batch_major = n.has("layout") && n.attributes.at("layout").kind == onnx_io::Attribute::Kind::Int &&
                       n.attributes.at("layout").i == 1;
    work.push_back({n.input(0), batch_major ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 1, 2}});
  }
  std::set<std::string> seen;
  while (!work.empty()) {
    auto [name, order] = work.back();
    work.pop_back();
    if (name.empty() || !seen.insert(name).second) continue;
    if (inputs.count(name)) {
      out.emplace(name, order);
      continue;
    }
    auto it = producer.find(name);
    if (it == producer.end()) continue;
    const onnx_io::NodeInfo& n = *it->second;
    const int r = static_cast<int>(order.size());
    if (n.op_type == "Transpose") {
      std::vector<int> perm;
      if (n.has("perm") && n.attributes.at("perm").kind == onnx_io::Attribute::Kind::Ints) {
        for (int64_t p : n.attributes.at("perm").ints) perm.push_back(static_cast<int>(p));
      } else {
        for (int k = r - 1; k >= 0; --k) perm.push_back(k);
      }
      if (static_cast<int>(perm.size()) != r) continue;
      std::vector<int> in;
      bool ok = true;
      for (int o : order) {
        ok = ok && perm[static_cast<size_t>(o)] >= 0 && perm[static_cast<size_t>(o)] < r;
        if (ok) in.push_back(perm[static_cast<size_t>(o)]);
      }
      if (ok) work.push_back({n.input(0), in});
    } else if (keeps_axes(n.op_type)) {
      // Elementwise: the operands of the same rank (a broadcast one may be shorter; that is not known here).
      for (size_t k = 0; k < n.inputs.size() && k < 2; ++k) work.push_back({n.input(k), order});
    } else if ((n.op_type == "MatMul" || n.op_type == "Gemm") && !order.empty() && order.back() == r - 1) {
      work.push_back({n.input(0), order});  // rows keep their order; the contracted axis stays last
    } else if (n.op_type == "Gather" && !order.empty() && order.back() == r - 1) {
      std::vector<int> ids(order.begin(), order.end() - 1);  // an embedding: out = ids axes + [dim]
      work.push_back({n.input(1), ids});
    }
  }
  return out;
}

}  // namespace rnnc::onnx_import::detail
