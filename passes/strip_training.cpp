// strip-training: turns @forward into the inference function. Dropout becomes the identity, results
// that are losses (cross_entropy, mse) go, and so do the arguments only they needed (labels, the
// dropout seed): what is left is the model a caller runs to predict.
#include "passes/pass.h"
#include "passes/passes.h"

namespace rnnc::passes {
namespace {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

void strip_dropout(Function& f) {
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) == OpKind::Dropout) f.replace_all_uses(Value{n, 0}, f.operands(n)[0]);
    if (f.body(n)) strip_dropout(*f.body(n));
  }
}

class StripTraining : public Pass {
 public:
  std::string name() const override { return "strip-training"; }
  void run(ir::Module& m) override {
    Function* f = m.find_function("forward");
    if (!f) return;
    strip_dropout(*f);
    std::vector<Value> results = f->results();
    for (size_t i = results.size(); i-- > 0;) {
      OpKind op = f->op(results[i].node);
      if (op == OpKind::CrossEntropy || op == OpKind::Mse) f->remove_function_result(i);
    }
    eliminate_dead_code(*f);
    std::vector<NodeId> unused;
    for (NodeId a : f->args()) {
      if (f->users(Value{a, 0}).empty()) unused.push_back(a);
    }
    f->erase_nodes(unused);
  }
};

}  // namespace

PassPtr create_strip_training() { return std::make_unique<StripTraining>(); }

}  // namespace rnnc::passes
