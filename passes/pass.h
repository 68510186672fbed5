// A pass transforms a module in place. Each pass lives in its own file and names itself; the pass
// manager runs them in order, prints the IR around them on request and verifies after each one.
//
// A pass that meets IR it cannot handle throws a UserError naming itself and the node (e.g. "autodiff:
// cannot differentiate fused %3 in @forward"); the pass manager adds which pass of the pipeline it was.
#pragma once

#include <memory>
#include <string>

#include "ir/function.h"

namespace rnnc::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  // The name used in pipelines, --passes= lists and `// IR after <name>` headers.
  virtual std::string name() const = 0;
  virtual void run(ir::Module& module) = 0;
};

using PassPtr = std::unique_ptr<Pass>;

// "@forward, node 12 (matmul, %gates)": how passes name a node in their messages.
std::string describe_node(const ir::Function& f, ir::NodeId n);

}  // namespace rnnc::passes
