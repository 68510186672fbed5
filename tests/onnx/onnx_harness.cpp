#include "onnx_harness.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "frontend/cells.h"
#include "frontend/model.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/error.h"
#include "runtime/reference_executor.h"

namespace rnnc::onnx_test {

using onnx_io::NodeInfo;
using onnx_io::TensorFile;
using runtime::Dims;
using runtime::IntTensor;
using runtime::Tensor;

Mapping spec_mapping(const std::string& op_type) {
  Mapping m;
  if (op_type == "LSTM") m.gates = {"i", "o", "f", "g"};
  else if (op_type == "GRU") m.gates = {"z", "r", "n"};
  else if (op_type == "RNN") m.gates = {"h"};
  else throw_user_error("no ONNX mapping for op type '" + op_type + "' (LSTM, GRU and RNN have one)");
  m.bias_gates = m.gates;
  m.peepholes = {"p_i", "p_o", "p_f"};
  return m;
}

bool CaseResult::passed() const {
  if (outputs.empty()) return false;
  for (const OutputCheck& o : outputs) {
    if (o.violations != 0) return false;
  }
  return true;
}

double CaseResult::max_abs_error() const {
  double m = 0;
  for (const OutputCheck& o : outputs) m = std::max(m, o.max_abs_error);
  return m;
}

std::string CaseResult::summary() const {
  std::ostringstream s;
  s << std::filesystem::path(case_dir).filename().string() << " (" << op_type << " as " << cells << ")";
  if (outputs.empty()) s << ": no outputs compared";
  for (const OutputCheck& o : outputs) {
    s << "\n  " << o.name << " " << runtime::dims_str(o.shape) << ": max |error| " << o.max_abs_error
      << ", worst error/tolerance " << o.worst_ratio << ", " << o.violations << " of " << o.count
      << " outside tolerance; worst at " << o.worst;
  }
  return s.str();
}

namespace {

// Everything the node test provides, by role.
struct NodeData {
  NodeInfo node;
  std::string op;
  std::map<std::string, TensorFile> inputs;   // by tensor name
  std::map<std::string, TensorFile> outputs;  // by tensor name
};

std::vector<TensorFile> read_numbered(const std::string& data_dir, const std::string& prefix,
                                      const std::vector<std::string>& graph_names) {
  std::vector<TensorFile> files;
  for (size_t k = 0;; ++k) {
    std::string path = data_dir + "/" + prefix + std::to_string(k) + ".pb";
    if (!std::filesystem::exists(path)) break;
    TensorFile f = onnx_io::read_tensor(path);
    if (f.name.empty() && k < graph_names.size()) f.name = graph_names[k];  // unnamed: the k-th graph input
    files.push_back(std::move(f));
  }
  return files;
}

NodeData load(const std::string& case_dir) {
  NodeData d;
  onnx_io::ModelInfo model = onnx_io::read_model(case_dir + "/model.onnx");
  RNNC_USER_CHECK(model.num_nodes == 1) << model.path << ": a node test has one node, this graph has " << model.num_nodes;
  d.node = model.node;
  d.op = d.node.op_type;
  RNNC_USER_CHECK(d.node.domain.empty() || d.node.domain == "ai.onnx") << d.node.source << ": domain '" << d.node.domain << "'";
  std::string data_dir = case_dir + "/test_data_set_0";
  for (TensorFile& f : read_numbered(data_dir, "input_", model.graph_inputs)) {
    RNNC_USER_CHECK(!d.inputs.count(f.name)) << f.path << ": a second input named '" << f.name << "'";
    d.inputs.emplace(f.name, std::move(f));
  }
  for (TensorFile& f : read_numbered(data_dir, "output_", model.graph_outputs)) {
    RNNC_USER_CHECK(!d.outputs.count(f.name)) << f.path << ": a second output named '" << f.name << "'";
    d.outputs.emplace(f.name, std::move(f));
  }
  RNNC_USER_CHECK(!d.inputs.empty()) << data_dir << ": no input_0.pb";
  RNNC_USER_CHECK(!d.outputs.empty()) << data_dir << ": no output_0.pb";
  return d;
}

// The tensor the node takes at `position`, or nullptr where the node leaves that input out.
const TensorFile* node_input(const NodeData& d, size_t position, const char* role) {
  std::string name = d.node.input(position);
  if (name.empty()) return nullptr;
  auto it = d.inputs.find(name);
  RNNC_USER_CHECK(it != d.inputs.end()) << d.node.source << ": input " << position << " (" << role << ") is '"
                                        << name << "' but no input_*.pb holds a tensor of that name";
  return &it->second;
}

const Tensor<float>& float_tensor(const TensorFile& f, const std::vector<int64_t>& want, const char* role) {
  RNNC_USER_CHECK(f.is_float()) << f.path << ": " << role << " must be a float tensor, found "
                                << onnx_io::data_type_name(f.data_type);
  RNNC_USER_CHECK(f.dims() == want) << f.path << ": " << role << " has shape " << runtime::dims_str(f.dims())
                                    << ", expected " << runtime::dims_str(want);
  return std::get<Tensor<float>>(f.value);
}

// Row-major offset of `index` in a tensor of shape `dims`.
int64_t offset(const Dims& dims, std::initializer_list<int64_t> index) {
  int64_t off = 0;
  size_t k = 0;
  for (int64_t i : index) off = off * dims[k++] + i;
  return off;
}

template <typename T>
Tensor<T> block(const Tensor<float>& src, int64_t start, int64_t rows, int64_t cols) {
  // rows x cols elements of src's flat data from `start` on (a slice of ONNX's packed weights).
  Tensor<T> t(cols > 0 ? Dims{rows, cols} : Dims{rows});
  int64_t n = rows * std::max<int64_t>(cols, 1);
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<T>(src[start + i]);
  return t;
}

// The activations a node may name (per direction) and the cell each choice gives.
dsl::CellDef choose_cell(const NodeData& d, int dir, bool peepholes, bool linear_before_reset, std::string* cell_name) {
  std::vector<std::string> defaults;
  if (d.op == "LSTM") defaults = {"Sigmoid", "Tanh", "Tanh"};
  if (d.op == "GRU") defaults = {"Sigmoid", "Tanh"};
  if (d.op == "RNN") defaults = {"Tanh"};
  std::vector<std::string> acts = defaults;
  if (d.node.has("activations")) {
    std::vector<std::string> all = d.node.get_strings("activations");
    size_t per = defaults.size();
    RNNC_USER_CHECK(all.size() >= per * static_cast<size_t>(dir + 1))
        << d.node.source << ": activations lists " << all.size() << " names, too few for direction " << dir;
    acts.assign(all.begin() + static_cast<long>(per * dir), all.begin() + static_cast<long>(per * (dir + 1)));
  }
  dsl::CellDef cell;
  if (d.op == "RNN" && acts == std::vector<std::string>{"Relu"}) {
    cell = cells::rnn_relu();
  } else {
    RNNC_USER_CHECK(acts == defaults) << d.node.source << ": activations other than ONNX's defaults (and Relu for RNN) "
                                      << "have no built-in cell";
    if (d.op == "LSTM") cell = peepholes ? cells::peephole_lstm() : cells::lstm();
    if (d.op == "GRU") cell = cells::gru(linear_before_reset);
    if (d.op == "RNN") cell = cells::rnn_tanh();
  }
  *cell_name = cell.name;
  return cell;
}

}  // namespace

template <typename T>
CaseResult run_case(const std::string& case_dir, const Mapping* mapping_override) {
  NodeData d = load(case_dir);
  const NodeInfo& node = d.node;
  const std::string& op = d.op;
  RNNC_USER_CHECK(op == "LSTM" || op == "GRU" || op == "RNN") << node.source << ": not an LSTM, GRU or RNN node";
  const Mapping mapping = mapping_override ? *mapping_override : spec_mapping(op);
  const int64_t G = static_cast<int64_t>(spec_mapping(op).gates.size());
  RNNC_USER_CHECK(static_cast<int64_t>(mapping.gates.size()) == G && static_cast<int64_t>(mapping.bias_gates.size()) == G)
      << "mapping for " << op << " must name " << G << " gates";

  // --- attributes -----------------------------------------------------------------------------------
  std::set<std::string> known{"hidden_size", "layout", "direction", "activations", "activation_alpha",
                              "activation_beta", "clip"};
  if (op == "LSTM") known.insert("input_forget");
  if (op == "GRU") known.insert("linear_before_reset");
  for (const auto& [name, attr] : node.attributes) {
    RNNC_USER_CHECK(known.count(name)) << node.source << ": unknown attribute '" << name << "'";
  }
  RNNC_USER_CHECK(!node.has("clip")) << node.source << ": clip has no equivalent in our cells";
  RNNC_USER_CHECK(!node.has("activation_alpha") && !node.has("activation_beta"))
      << node.source << ": activation_alpha/beta (parametric activations) have no equivalent in our cells";
  RNNC_USER_CHECK(node.get_int("input_forget", 0) == 0) << node.source << ": input_forget has no equivalent";
  const int64_t H = node.get_int("hidden_size");
  RNNC_USER_CHECK(H > 0) << node.source << ": hidden_size " << H;
  const int64_t layout = node.get_int("layout", 0);
  RNNC_USER_CHECK(layout == 0 || layout == 1) << node.source << ": layout " << layout;
  const std::string direction = node.get_string("direction", "forward");
  RNNC_USER_CHECK(direction == "forward" || direction == "reverse" || direction == "bidirectional")
      << node.source << ": direction '" << direction << "'";
  const int64_t D = direction == "bidirectional" ? 2 : 1;
  bool lbr = node.get_int("linear_before_reset", 0) != 0;
  if (mapping.linear_before_reset) lbr = *mapping.linear_before_reset;

  // --- inputs ---------------------------------------------------------------------------------------
  const TensorFile* X_file = node_input(d, 0, "X");
  const TensorFile* W_file = node_input(d, 1, "W");
  const TensorFile* R_file = node_input(d, 2, "R");
  RNNC_USER_CHECK(X_file && W_file && R_file) << node.source << ": X, W and R are required";
  const TensorFile* B_file = node_input(d, 3, "B");
  const TensorFile* lens_file = node_input(d, 4, "sequence_lens");
  const TensorFile* h0_file = node_input(d, 5, "initial_h");
  const TensorFile* c0_file = op == "LSTM" ? node_input(d, 6, "initial_c") : nullptr;
  const TensorFile* P_file = op == "LSTM" ? node_input(d, 7, "P") : nullptr;
  if (mapping.drop_bias) B_file = nullptr;
  if (mapping.drop_initial_states) h0_file = c0_file = nullptr;
  if (mapping.drop_sequence_lens) lens_file = nullptr;

  RNNC_USER_CHECK(X_file->dims().size() == 3) << X_file->path << ": X must have rank 3";
  const int64_t S = X_file->dims()[layout == 0 ? 0 : 1];
  const int64_t batch = X_file->dims()[layout == 0 ? 1 : 0];
  const int64_t I = X_file->dims()[2];
  const Tensor<float>& X = float_tensor(*X_file, layout == 0 ? Dims{S, batch, I} : Dims{batch, S, I}, "X");
  const Tensor<float>& W = float_tensor(*W_file, {D, G * H, I}, "W");
  const Tensor<float>& R = float_tensor(*R_file, {D, G * H, H}, "R");
  const Tensor<float>* B = B_file ? &float_tensor(*B_file, {D, 2 * G * H}, "B") : nullptr;
  const Tensor<float>* P = P_file ? &float_tensor(*P_file, {D, 3 * H}, "P") : nullptr;
  const Dims state_dims = layout == 0 ? Dims{D, batch, H} : Dims{batch, D, H};
  const Tensor<float>* h0 = h0_file ? &float_tensor(*h0_file, state_dims, "initial_h") : nullptr;
  const Tensor<float>* c0 = c0_file ? &float_tensor(*c0_file, state_dims, "initial_c") : nullptr;
  const IntTensor* lens = nullptr;
  if (lens_file) {
    RNNC_USER_CHECK(!lens_file->is_float()) << lens_file->path << ": sequence_lens must be an integer tensor";
    lens = &std::get<IntTensor>(lens_file->value);
    RNNC_USER_CHECK(lens->shape == Dims{batch}) << lens_file->path << ": sequence_lens has shape "
                                                << runtime::dims_str(lens->shape) << ", expected [" << batch << "]";
  }
  auto state_at = [&](const Tensor<float>& s, int64_t dir, int64_t b, int64_t j) {
    return layout == 0 ? s[offset(s.shape, {dir, b, j})] : s[offset(s.shape, {b, dir, j})];
  };

  // --- the model ------------------------------------------------------------------------------------
  dsl::Model m("onnx-" + op);
  dsl::Expr x = m.input("x", ir::DType::F32, {ir::time_dim(), ir::batch_dim(), ir::Dim::fixed(I)});
  dsl::Expr lengths;
  if (lens) lengths = m.input("lengths", ir::DType::I32, {ir::batch_dim()});
  std::vector<std::map<std::string, dsl::Expr>> initial(static_cast<size_t>(D));
  for (int64_t dir = 0; dir < D; ++dir) {
    const ir::Shape st{ir::batch_dim(), ir::Dim::fixed(H)};
    if (h0) initial[dir]["h"] = m.input("h0_d" + std::to_string(dir), ir::DType::F32, st);
    if (c0) initial[dir]["c"] = m.input("c0_d" + std::to_string(dir), ir::DType::F32, st);
  }
  std::vector<std::string> layer_names;
  std::set<std::string> cell_names;
  for (int64_t dir = 0; dir < D; ++dir) {
    std::string cell_name;
    dsl::CellDef cell = choose_cell(d, static_cast<int>(dir), P != nullptr, lbr, &cell_name);
    cell_names.insert(cell_name);
    std::string layer = "onnx.d" + std::to_string(dir);
    layer_names.push_back(layer);
    bool reverse = direction == "reverse" || dir == 1;
    dsl::LayerResult r = m.recurrent_layer(layer, cell, x, H, reverse, lengths, initial[dir]);
    m.output("y_d" + std::to_string(dir), r.sequence);
    m.output("h_d" + std::to_string(dir), r.final.at("h"));
    if (op == "LSTM") m.output("c_d" + std::to_string(dir), r.final.at("c"));
  }
  runtime::ReferenceExecutor<T> exec(m.finish());

  // --- parameters, by name --------------------------------------------------------------------------
  std::set<std::string> set_names;
  auto set = [&](const std::string& name, Tensor<T> value) {
    RNNC_USER_CHECK(set_names.insert(name).second) << "parameter @" << name << " set twice (mapping maps two blocks to it)";
    exec.set_param(name, std::move(value));
  };
  for (int64_t dir = 0; dir < D; ++dir) {
    const std::string& p = layer_names[dir];
    for (int64_t k = 0; k < G; ++k) {
      const std::string& g = mapping.gates[k];
      set(p + ".W_i" + g, block<T>(W, offset(W.shape, {dir, k * H, 0}), H, I));
      set(p + ".W_h" + g, block<T>(R, offset(R.shape, {dir, k * H, 0}), H, H));
      const std::string& bg = mapping.bias_gates[k];
      if (B) {
        int64_t wb = offset(B->shape, {dir, k * H}), rb = offset(B->shape, {dir, G * H + k * H});
        if (mapping.swap_bias_halves) std::swap(wb, rb);
        set(p + ".b_i" + bg, block<T>(*B, wb, H, 0));
        set(p + ".b_h" + bg, block<T>(*B, rb, H, 0));
      } else {  // ONNX: B defaults to 0
        set(p + ".b_i" + bg, Tensor<T>(Dims{H}));
        set(p + ".b_h" + bg, Tensor<T>(Dims{H}));
      }
    }
    if (P) {
      for (int64_t k = 0; k < 3; ++k) set(p + "." + mapping.peepholes[k], block<T>(*P, offset(P->shape, {dir, k * H}), H, 0));
    }
  }
  for (const ir::ParamDecl& decl : exec.module().params()) {
    RNNC_USER_CHECK(set_names.count(decl.name)) << "parameter @" << decl.name << " got no value from the ONNX data";
  }

  // --- run ------------------------------------------------------------------------------------------
  std::vector<runtime::Value<T>> args;
  Tensor<T> xt(Dims{S, batch, I});
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < I; ++i)
        xt[offset(xt.shape, {t, b, i})] = static_cast<T>(X[layout == 0 ? offset(X.shape, {t, b, i}) : offset(X.shape, {b, t, i})]);
  args.push_back(std::move(xt));
  if (lens) args.push_back(*lens);
  for (int64_t dir = 0; dir < D; ++dir) {
    for (const Tensor<float>* s : {h0, c0}) {
      if (!s) continue;
      Tensor<T> v(Dims{batch, H});
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t j = 0; j < H; ++j) v[b * H + j] = static_cast<T>(state_at(*s, dir, b, j));
      args.push_back(std::move(v));
    }
  }
  std::vector<runtime::Value<T>> results = exec.run("forward", args);
  const size_t per_dir = op == "LSTM" ? 3 : 2;
  RNNC_INTERNAL_CHECK(results.size() == per_dir * static_cast<size_t>(D)) << "unexpected result count";
  auto result = [&](int64_t dir, size_t k) -> const Tensor<T>& {
    return std::get<Tensor<T>>(results[static_cast<size_t>(dir) * per_dir + k]);
  };

  // Ours, in ONNX's layout.
  Tensor<double> Y(layout == 0 ? Dims{S, D, batch, H} : Dims{batch, S, D, H});
  Tensor<double> Yh(state_dims), Yc(state_dims);
  for (int64_t dir = 0; dir < D; ++dir) {
    const Tensor<T>& y = result(dir, 0);
    const Tensor<T>& h = result(dir, 1);
    RNNC_INTERNAL_CHECK(y.shape == (Dims{S, batch, H}) && h.shape == (Dims{batch, H})) << "unexpected result shape";
    for (int64_t t = 0; t < S; ++t)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t j = 0; j < H; ++j)
          Y[layout == 0 ? offset(Y.shape, {t, dir, b, j}) : offset(Y.shape, {b, t, dir, j})] = y[offset(y.shape, {t, b, j})];
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        int64_t o = layout == 0 ? offset(Yh.shape, {dir, b, j}) : offset(Yh.shape, {b, dir, j});
        Yh[o] = h[b * H + j];
        if (op == "LSTM") Yc[o] = result(dir, 2)[b * H + j];
      }
    }
  }

  // --- compare --------------------------------------------------------------------------------------
  CaseResult res;
  res.case_dir = case_dir;
  res.op_type = op;
  for (const std::string& c : cell_names) res.cells += (res.cells.empty() ? "" : "+") + c;
  if (D == 2) res.cells += " x2";
  const std::vector<std::pair<std::string, const Tensor<double>*>> ours{{"Y", &Y}, {"Y_h", &Yh}, {"Y_c", &Yc}};
  std::set<std::string> compared;
  for (size_t pos = 0; pos < ours.size(); ++pos) {
    if (pos == 2 && op != "LSTM") break;
    std::string name = node.output(pos);
    if (name.empty()) continue;
    auto it = d.outputs.find(name);
    RNNC_USER_CHECK(it != d.outputs.end()) << node.source << ": output " << pos << " ('" << name
                                           << "') has no output_*.pb";
    const Tensor<float>& want = float_tensor(it->second, ours[pos].second->shape, ours[pos].first.c_str());
    const Tensor<double>& got = *ours[pos].second;
    OutputCheck check;
    check.name = ours[pos].first;
    check.shape = want.shape;
    check.count = want.size();
    int64_t worst_i = -1;
    for (int64_t i = 0; i < want.size(); ++i) {
      double e = want[i], g = got[i];
      double err = std::fabs(g - e);
      double ratio = err / (kAbsTol + kRelTol * std::fabs(e));
      bool bad = !std::isfinite(g) || !(ratio <= 1.0);
      if (bad) ++check.violations;
      if (!std::isfinite(g)) ratio = INFINITY;
      check.max_abs_error = std::max(check.max_abs_error, err);
      if (worst_i < 0 || ratio > check.worst_ratio) {
        check.worst_ratio = ratio;
        worst_i = i;
      }
    }
    if (worst_i >= 0) {
      std::ostringstream w;
      Dims idx(want.shape.size());
      int64_t rest = worst_i;
      for (size_t k = want.shape.size(); k-- > 0;) {
        idx[k] = rest % want.shape[k];
        rest /= want.shape[k];
      }
      w.precision(9);
      w << check.name << runtime::dims_str(idx) << ": ours " << got[worst_i] << " expected " << want[worst_i];
      check.worst = w.str();
    }
    compared.insert(name);
    res.outputs.push_back(std::move(check));
  }
  for (const auto& [name, f] : d.outputs) {
    RNNC_USER_CHECK(compared.count(name)) << f.path << ": output '" << name << "' is not an output of the node";
  }
  return res;
}

template CaseResult run_case<float>(const std::string&, const Mapping*);
template CaseResult run_case<double>(const std::string&, const Mapping*);

}  // namespace rnnc::onnx_test
