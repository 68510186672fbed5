#include "frontend/onnx/test_case.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "ir/error.h"

namespace rnnc::onnx_import {

namespace fs = std::filesystem;

namespace {

// input_0.pb, input_1.pb, ... until the first gap.
std::vector<onnx_io::TensorFile> read_numbered(const std::string& dir, const std::string& prefix,
                                               const std::vector<onnx_io::ValueInfo>& graph_values) {
  std::vector<onnx_io::TensorFile> files;
  for (size_t k = 0;; ++k) {
    std::string path = dir + "/" + prefix + std::to_string(k) + ".pb";
    if (!fs::exists(path)) break;
    onnx_io::TensorFile f = onnx_io::read_tensor(path);
    if (f.name.empty()) {
      RNNC_USER_CHECK(k < graph_values.size()) << path << ": an unnamed tensor beyond the graph's "
                                               << graph_values.size() << " " << prefix.substr(0, prefix.size() - 1) << "s";
      f.name = graph_values[k].name;
    }
    files.push_back(std::move(f));
  }
  return files;
}

}  // namespace

TestCase load_test_case(const std::string& dir) {
  RNNC_USER_CHECK(fs::is_directory(dir)) << "'" << dir << "' is not a directory (an ONNX test case holds model.onnx "
                                         << "and test_data_set_*/)";
  TestCase tc;
  tc.dir = dir;
  tc.graph = onnx_io::read_graph(dir + "/model.onnx");
  std::vector<std::string> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path().string());
  }
  std::sort(sets.begin(), sets.end());
  RNNC_USER_CHECK(!sets.empty()) << dir << ": no test_data_set_* directory";
  for (const std::string& s : sets) {
    DataSet ds;
    ds.dir = s;
    for (onnx_io::TensorFile& f : read_numbered(s, "input_", tc.graph.inputs)) {
      RNNC_USER_CHECK(!ds.inputs.count(f.name)) << f.path << ": a second input named '" << f.name << "'";
      ds.inputs.emplace(f.name, std::move(f));
    }
    std::vector<onnx_io::TensorFile> outs = read_numbered(s, "output_", tc.graph.outputs);
    for (const onnx_io::ValueInfo& o : tc.graph.outputs) {
      auto it = std::find_if(outs.begin(), outs.end(), [&](const onnx_io::TensorFile& f) { return f.name == o.name; });
      RNNC_USER_CHECK(it != outs.end()) << s << ": no output_*.pb holds graph output '" << o.name << "'";
      ds.outputs.push_back(*it);
    }
    RNNC_USER_CHECK(outs.size() == ds.outputs.size()) << s << ": output files name tensors that are not graph outputs";
    tc.data_sets.push_back(std::move(ds));
  }
  return tc;
}

OutputCheck compare_output(const std::string& name, const HostTensor& got, const onnx_io::TensorFile& expected,
                           double rtol, double atol) {
  OutputCheck c;
  c.name = name;
  c.shape = expected.dims();
  const runtime::Dims& gd = host_dims(got);
  std::ostringstream w;
  w.precision(9);
  if (gd != c.shape) {
    c.shape_mismatch = true;
    w << name << ": got shape " << runtime::dims_str(gd) << ", expected " << runtime::dims_str(c.shape);
    c.worst = w.str();
    return c;
  }
  auto value = [](const HostTensor& t, int64_t i) {
    if (const auto* f = std::get_if<runtime::Tensor<double>>(&t)) return (*f)[i];
    return static_cast<double>(std::get<runtime::IntTensor>(t)[i]);
  };
  auto expected_value = [&](int64_t i) {
    if (expected.is_float()) return static_cast<double>(std::get<runtime::Tensor<float>>(expected.value)[i]);
    return static_cast<double>(std::get<runtime::IntTensor>(expected.value)[i]);
  };
  c.count = runtime::num_elements(c.shape);
  int64_t worst_i = -1;
  for (int64_t i = 0; i < c.count; ++i) {
    double g = value(got, i), e = expected_value(i);
    double err = std::fabs(g - e);
    double ratio = err / (atol + rtol * std::fabs(e));
    bool bad = !(ratio <= 1.0);  // NaN counts as bad
    if (std::isnan(e) && std::isnan(g)) bad = false, ratio = 0;
    if (bad) ++c.violations;
    if (std::isnan(ratio)) ratio = INFINITY;
    if (std::isfinite(err)) c.max_abs_error = std::max(c.max_abs_error, err);
    if (worst_i < 0 || ratio > c.worst_ratio) {
      c.worst_ratio = ratio;
      worst_i = i;
    }
  }
  if (worst_i >= 0) {
    runtime::Dims idx(c.shape.size());
    int64_t rest = worst_i;
    for (size_t k = c.shape.size(); k-- > 0;) {
      idx[k] = rest % c.shape[k];
      rest /= c.shape[k];
    }
    w << name << runtime::dims_str(idx) << ": got " << value(got, worst_i) << " expected " << expected_value(worst_i);
    c.worst = w.str();
  }
  return c;
}

}  // namespace rnnc::onnx_import
