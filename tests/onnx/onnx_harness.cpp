#include "onnx_harness.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "frontend/onnx/importer.h"
#include "frontend/onnx/test_case.h"
#include "ir/error.h"
#include "runtime/reference_executor.h"

namespace rnnc::onnx_test {

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

template <typename T>
CaseResult run_case(const std::string& case_dir, const Mapping* mapping) {
  onnx_import::TestCase tc = onnx_import::load_test_case(case_dir);
  RNNC_USER_CHECK(tc.graph.nodes.size() == 1) << tc.graph.path << ": a node test has one node, this graph has "
                                              << tc.graph.nodes.size();
  const std::string op = tc.graph.nodes[0].op_type;
  RNNC_USER_CHECK(op == "LSTM" || op == "GRU" || op == "RNN") << tc.graph.nodes[0].source << ": not an LSTM, GRU or RNN node";
  onnx_import::ImportOptions options;
  if (mapping) options.mappings[op] = *mapping;
  onnx_import::ImportedModel m = onnx_import::import_graph(tc.graph, options);

  CaseResult res;
  res.case_dir = case_dir;
  res.op_type = op;
  int64_t scans = 0;
  const ir::Function& f = *m.module.find_function("forward");
  for (size_t n = 0; n < f.num_nodes(); ++n) scans += f.op(n) == ir::OpKind::Scan ? 1 : 0;
  res.cells = counted(scans, "scan");

  runtime::ReferenceExecutor<T> exec(m.module);
  for (const onnx_import::DataSet& ds : tc.data_sets) {
    onnx_import::check_inputs(m.bindings, ds.inputs);
    for (auto& [name, value] : onnx_import::bind_params<T>(m.bindings, ds.inputs)) exec.set_param(name, value);
    std::vector<runtime::Value<T>> results = exec.run("forward", onnx_import::bind_args<T>(m.bindings, f, ds.inputs));
    std::vector<onnx_import::HostTensor> got = onnx_import::unbind_outputs<T>(m.bindings, f, results);
    for (size_t k = 0; k < got.size(); ++k) {
      onnx_import::OutputCheck c = onnx_import::compare_output(tc.graph.outputs[k].name, got[k], ds.outputs[k], kRelTol, kAbsTol);
      RNNC_USER_CHECK(!c.shape_mismatch) << c.worst;
      res.outputs.push_back(OutputCheck{c.name, c.shape, c.count, c.violations, c.max_abs_error, c.worst_ratio, c.worst});
    }
  }
  return res;
}

template CaseResult run_case<float>(const std::string&, const Mapping*);
template CaseResult run_case<double>(const std::string&, const Mapping*);

}  // namespace rnnc::onnx_test
