#include "passes/pass_manager.h"

#include <ostream>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace rnnc::passes {

std::string describe_node(const ir::Function& f, ir::NodeId n) {
  std::string s = "@" + f.name() + ", node " + std::to_string(n) + " (" + ir::op_name(f.op(n));
  const auto& names = f.node(n).names;
  if (!names.empty() && !names[0].empty()) s += ", %" + names[0];
  return s + ")";
}

PassManager& PassManager::add(PassPtr pass) {
  passes_.push_back(std::move(pass));
  return *this;
}

void PassManager::set_printing(PrintOptions options, std::ostream* out) {
  print_ = std::move(options);
  out_ = out;
}

std::vector<std::string> PassManager::names() const {
  std::vector<std::string> out;
  for (const PassPtr& p : passes_) out.push_back(p->name());
  return out;
}

void PassManager::run(ir::Module& module) const {
  for (const PassPtr& pass : passes_) {
    const std::string name = pass->name();
    if (out_ && (print_.before_all || print_.before.count(name))) {
      *out_ << "// IR before " << name << "\n" << ir::print_module(module) << "\n";
    }
    try {
      pass->run(module);
    } catch (const Error& e) {
      throw_user_error("pass '" + name + "' failed: " + e.what());
    }
    std::vector<ir::Violation> violations = ir::verify(module);
    if (!violations.empty()) {
      std::string msg = "pass '" + name + "' broke the IR:";
      for (const ir::Violation& v : violations) msg += "\n  " + v.str();
      throw InternalError(msg);
    }
    if (out_ && (print_.after_all || print_.after.count(name))) {
      *out_ << "// IR after " << name << "\n" << ir::print_module(module) << "\n";
    }
  }
}

}  // namespace rnnc::passes
