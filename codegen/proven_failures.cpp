#include "codegen/proven_failures.h"

#include <Halide.h>

#include <iostream>
#include <mutex>
#include <set>
#include <string_view>

namespace rnnc::codegen {
namespace {

constexpr std::string_view kProvenFailure = "guaranteed to fail an assertion at runtime";

// Where this thread's ProvenFailures collects; null outside one.
thread_local std::vector<std::string>* t_collecting = nullptr;

// Installed once, for the process: Halide's reporter is global. Warnings print as Halide's default
// does, except those collected; errors throw what Halide's default throws (an internal error or a
// compile error: the message says which; a runtime error of Halide's JIT would be thrown as a compile
// error, but rnnc never runs Halide's JIT), so callers catching Halide::Error see no difference.
class Reporter : public Halide::CompileTimeErrorReporter {
 public:
  void warning(const char* msg) override {
    const std::string m = msg;
    if (t_collecting && m.find(kProvenFailure) != std::string::npos) {
      t_collecting->push_back(m);
      return;
    }
    std::cerr << m;
  }
  void error(const char* msg) override {
    // Always throws: Halide aborts if error() returns. (Halide's default drops an error raised while
    // another exception unwinds; here that throw ends in std::terminate, no worse than the abort.)
    const std::string m = msg;
    if (m.find("Internal Error") != std::string::npos) throw Halide::InternalError(m);
    throw Halide::CompileError(m);
  }
};

void install_reporter() {
  static std::once_flag once;
  // Never freed: Halide keeps the pointer for the life of the process, static destructors included.
  std::call_once(once, [] { Halide::set_custom_compile_time_error_reporter(new Reporter); });
}

// Halide's warning, from the assertion on: "halide_error_…(…)" without the banner and line breaks.
std::string assertion_of(const std::string& warning) {
  size_t at = warning.find(kProvenFailure);
  at = warning.find_first_not_of(": \n", at + kProvenFailure.size());
  std::string a = at == std::string::npos ? warning : warning.substr(at);
  while (!a.empty() && (a.back() == '\n' || a.back() == ' ')) a.pop_back();
  return a;
}

}  // namespace

ProvenFailures::ProvenFailures() : outer_(t_collecting) {
  install_reporter();
  t_collecting = &found_;
}

ProvenFailures::~ProvenFailures() { t_collecting = outer_; }

std::string ProvenFailures::assertions() const {
  std::string out;
  std::set<std::string> seen;  // Halide repeats one per lowering step
  for (const std::string& w : found_) {
    const std::string a = assertion_of(w);
    if (!seen.insert(a).second) continue;
    if (!out.empty()) out += "\n";
    out += a;
  }
  return out;
}

}  // namespace rnnc::codegen
