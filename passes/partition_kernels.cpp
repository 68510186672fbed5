// partition-kernels: decides which ops codegen turns into which kernel, and writes it into the IR as
// `{kernel = kN}` on each op:
//   - a scan is one kernel: the time loop around its step (the recurrent matmul and the fused gate math
//     of the body, which carry the scan's kernel name too);
//   - a matmul whose only user is a fused group (or another elementwise op) shares its kernel: the
//     group is the matmul's epilogue;
//   - every other op with work to do is a kernel of its own. Arguments, parameters and constants are
//     not kernels.
#include "passes/pass.h"
#include "passes/passes.h"

namespace rnnc::passes {
namespace {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

void label_body(Function& body, const std::string& kernel) {
  for (NodeId n = 0; n < body.num_nodes(); ++n) {
    OpKind op = body.op(n);
    if (op == OpKind::Arg || op == OpKind::Return || op == OpKind::Param || op == OpKind::Constant) continue;
    body.mutable_node(n).attrs.set("kernel", kernel);
    if (body.body(n)) label_body(*body.body(n), kernel);
  }
}

void partition(Function& f) {
  int next = 0;
  std::vector<NodeId> order = f.topological_order();
  std::vector<std::string> kernel(f.num_nodes());
  for (NodeId n : order) {
    OpKind op = f.op(n);
    if (op == OpKind::Arg || op == OpKind::Return || op == OpKind::Param || op == OpKind::Constant) continue;
    if (!kernel[n].empty()) continue;
    kernel[n] = "k";
    kernel[n] += std::to_string(next++);
    if (op == OpKind::MatMul) {
      std::vector<ir::Use> users = f.users(Value{n, 0});
      if (users.size() == 1) {
        OpKind user = f.op(users[0].user);
        bool free = kernel[users[0].user].empty();
        if (free && (user == OpKind::Fused || ir::is_unary_elementwise(user) || ir::is_binary_elementwise(user))) {
          kernel[users[0].user] = kernel[n];
        }
      }
    }
  }
  for (NodeId n : order) {
    if (kernel[n].empty()) continue;
    f.mutable_node(n).attrs.set("kernel", kernel[n]);
    if (f.body(n)) label_body(*f.body(n), kernel[n]);
  }
}

class PartitionKernels : public Pass {
 public:
  std::string name() const override { return "partition-kernels"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) partition(f);
  }
};

}  // namespace

PassPtr create_partition_kernels() { return std::make_unique<PartitionKernels>(); }

}  // namespace rnnc::passes
