#include "tools/onnx_command.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <sstream>

#include "codegen/jit.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/test_case.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
#include "runtime/reference_executor.h"
#include "tools/output.h"
#include "tools/pass_flags.h"

namespace rnnc::cli {

const std::set<std::string> kOnnxValuedFlags = {"executor", "rtol", "atol"};
const char* kOnnxHelp = R"(options of 'onnx-import' (prints the IR; the pass options apply):
  -o FILE              (as --output FILE) write to FILE instead of standard output
options of 'onnx-test':
  --executor E         reference (the reference executor, float64), compiled (the inference pipeline,
                       JIT-compiled CPU kernels, float32) or both (default)
  --rtol R, --atol A   tolerance |got - expected| <= A + R |expected| (default 1e-4, 1e-5)
)";

namespace {

using onnx_import::HostTensor;
using onnx_import::ImportedModel;

const std::string& one_path(const Args& args, const std::string& command, const std::string& what) {
  if (args.positional().size() != 2) throw UsageError("'" + command + "' needs exactly one " + what);
  return args.positional()[1];
}

struct Executor {
  std::string name;
  std::function<std::vector<HostTensor>(const onnx_import::InputTensors&)> run;
};

Executor reference_executor(const ImportedModel& m) {
  auto exec = std::make_shared<runtime::ReferenceExecutor<double>>(m.module);
  return {"reference", [exec, &m](const onnx_import::InputTensors& inputs) {
            for (auto& [name, t] : onnx_import::bind_params<double>(m.bindings, inputs)) exec->set_param(name, t);
            const ir::Function& f = *exec->module().find_function("forward");
            auto results = exec->run("forward", onnx_import::bind_args<double>(m.bindings, f, inputs));
            return onnx_import::unbind_outputs<double>(m.bindings, f, results);
          }};
}

Executor compiled_executor(const ImportedModel& m) {
  ir::Module optimized = m.module;
  passes::PassManager pm;
  passes::add_inference_pipeline(pm);
  pm.run(optimized);
  auto compiled = std::make_shared<runtime::CompiledModule>(std::move(optimized));
  compiled->load(codegen::jit_compile(compiled->plan()));
  return {"compiled", [compiled, &m](const onnx_import::InputTensors& inputs) {
            std::map<std::string, runtime::Tensor<float>> values = onnx_import::bind_params<float>(m.bindings, inputs);
            for (const ir::ParamDecl& p : compiled->module().params()) {
              auto it = values.find(p.name);
              RNNC_USER_CHECK(it != values.end()) << "parameter @" << p.name << " of the optimised module has no ONNX value";
              compiled->set_param(p.name, it->second);
            }
            const ir::Function& f = *compiled->module().find_function("forward");
            auto results = compiled->run("forward", onnx_import::bind_args<float>(m.bindings, f, inputs));
            return onnx_import::unbind_outputs<float>(m.bindings, f, results);
          }};
}

std::string format_double(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

}  // namespace

int onnx_import_command(const Args& args) {
  ImportedModel m = onnx_import::import_model(one_path(args, "onnx-import", "MODEL.onnx"));
  Output output(args);
  std::ostream* out = &output.stream();
  passes::PassManager pm;
  configure_passes(args, pm, out);
  pm.run(m.module);
  ir::print_module(*out, m.module);
  output.commit();
  return 0;
}

int onnx_test_command(const Args& args) {
  const std::string dir = one_path(args, "onnx-test", "test case DIR");
  const std::string which = args.get("executor", "both");
  if (which != "reference" && which != "compiled" && which != "both") {
    throw UsageError("--executor must be reference, compiled or both, got '" + which + "'");
  }
  const double rtol = args.get_double("rtol", 1e-4), atol = args.get_double("atol", 1e-5);
  // A negative or nan tolerance passes or fails everything: a mistake, not a choice.
  if (!(rtol >= 0 && std::isfinite(rtol)) || !(atol >= 0 && std::isfinite(atol))) {
    throw UsageError("--rtol and --atol must be finite and >= 0, got " + args.get("rtol", "1e-4") + " and " +
                     args.get("atol", "1e-5"));
  }
  onnx_import::TestCase tc = onnx_import::load_test_case(dir);
  ImportedModel m = onnx_import::import_graph(tc.graph);
  std::vector<Executor> executors;
  if (which != "compiled") executors.push_back(reference_executor(m));
  if (which != "reference") executors.push_back(compiled_executor(m));

  const std::string name = std::filesystem::path(dir).lexically_normal().filename().string();
  std::cout << "onnx-test " << (name.empty() ? dir : name) << ": " << counted(static_cast<int64_t>(tc.graph.nodes.size()), "node")
            << ", " << counted(static_cast<int64_t>(tc.data_sets.size()), "data set") << ", tolerance |got - expected| <= "
            << atol << " + " << rtol << " |expected|\n";
  bool all_passed = true;
  std::string worst;  // the worst failing element over executors, data sets and outputs
  double worst_ratio = -1;
  for (const Executor& e : executors) {
    for (const onnx_import::DataSet& ds : tc.data_sets) {
      onnx_import::check_inputs(m.bindings, ds.inputs);
      std::vector<HostTensor> got = e.run(ds.inputs);
      const std::string set = std::filesystem::path(ds.dir).filename().string();
      for (size_t k = 0; k < got.size(); ++k) {
        const onnx_import::OutputCheck c =
            onnx_import::compare_output(tc.graph.outputs[k].name, got[k], ds.outputs[k], rtol, atol);
        all_passed = all_passed && c.passed();
        if (!c.passed() && (c.shape_mismatch || c.worst_ratio > worst_ratio)) {
          worst = e.name + " " + set + " " + c.worst;
          worst_ratio = c.shape_mismatch ? INFINITY : c.worst_ratio;
        }
        std::cout << "  " << e.name << " " << set << " " << c.name << " " << runtime::dims_str(c.shape) << ": ";
        if (c.passed()) {
          std::cout << "ok, max |error| " << format_double(c.max_abs_error) << "\n";
        } else if (c.shape_mismatch) {
          std::cout << "MISMATCH " << c.worst << "\n";
        } else {
          std::cout << "MISMATCH " << c.violations << " of " << c.count << " elements outside the tolerance; worst "
                    << c.worst << " (error/tolerance " << format_double(c.worst_ratio) << ")\n";
        }
      }
    }
  }
  if (all_passed) std::cout << "PASS\n";
  else std::cout << "FAIL: worst mismatch: " << worst << "\n";
  return all_passed ? 0 : 1;
}

}  // namespace rnnc::cli
