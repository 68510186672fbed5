// Runs a named, ordered list of passes, in the manner of LLVM's and MLIR's pass managers: the verifier
// runs after every pass (a pass that breaks an invariant is named), and the IR can be printed before
// or after any pass, each dump headed by `// IR after <pass-name>` (or `before`).
#pragma once

#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace rnnc::passes {

struct PrintOptions {
  bool before_all = false;
  bool after_all = false;
  std::set<std::string> before;  // pass names
  std::set<std::string> after;
};

class PassManager {
 public:
  PassManager& add(PassPtr pass);
  void set_printing(PrintOptions options, std::ostream* out);
  std::vector<std::string> names() const;
  bool empty() const { return passes_.empty(); }

  // Runs every pass in order; a pass's own error and a verifier failure after it both name the pass.
  void run(ir::Module& module) const;

 private:
  std::vector<PassPtr> passes_;
  PrintOptions print_;
  std::ostream* out_ = nullptr;
};

}  // namespace rnnc::passes
