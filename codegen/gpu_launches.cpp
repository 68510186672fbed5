#include "codegen/gpu_launches.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "ir/error.h"

namespace rnnc::codegen {

namespace {

using namespace Halide::Internal;

bool is_launch(const Call* op) {
  for (const char* api : {"cuda", "opencl", "metal", "d3d12compute", "openglcompute"}) {
    if (op->name == std::string("halide_") + api + "_run") return true;
  }
  return false;
}

// Walks a host function, keeping the value of every let in scope; at each launch, its shared-memory
// argument with the lets substituted and whatever is still unknown taken as 0.
class SharedBytes : public IRVisitor {
 public:
  int64_t largest = 0;

 private:
  using IRVisitor::visit;
  // Halide's argument order: state, kernel name, blocks x y z, threads x y z, shared memory bytes, …
  static constexpr size_t kSharedArg = 8;
  std::map<std::string, Halide::Expr> lets_;

  template <typename LetOrLetStmt>
  void visit_let(const LetOrLetStmt* op) {
    op->value.accept(this);
    auto shadowed = lets_.find(op->name);
    std::optional<Halide::Expr> outer;
    if (shadowed != lets_.end()) outer = shadowed->second;
    lets_[op->name] = op->value;
    op->body.accept(this);
    if (outer) {
      lets_[op->name] = *outer;
    } else {
      lets_.erase(op->name);
    }
  }
  void visit(const LetStmt* op) override { visit_let(op); }
  void visit(const Let* op) override { visit_let(op); }
  void visit(const Call* op) override {
    IRVisitor::visit(op);
    if (!is_launch(op) || op->args.size() <= kSharedArg) return;
    Halide::Expr bytes = op->args[kSharedArg];
    for (int depth = 0; depth < 64 && expr_uses_vars(bytes, lets_); ++depth) bytes = substitute(lets_, bytes);
    bytes = simplify(UnknownsAreZero().mutate(bytes));
    if (const int64_t* b = as_const_int(bytes)) largest = std::max(largest, *b);
  }

  class UnknownsAreZero : public IRMutator {
    using IRMutator::visit;
    Halide::Expr visit(const Variable* op) override { return make_zero(op->type); }
    Halide::Expr visit(const Load* op) override { return make_zero(op->type); }
    // A buffer's field or any other call: known only at run time.
    Halide::Expr visit(const Call* op) override { return op->type.is_int() ? make_zero(op->type) : IRMutator::visit(op); }
  };

  static bool expr_uses_vars(const Halide::Expr& e, const std::map<std::string, Halide::Expr>& names) {
    struct Find : IRVisitor {
      using IRVisitor::visit;
      const std::map<std::string, Halide::Expr>* names = nullptr;
      bool found = false;
      void visit(const Variable* v) override { found |= names->count(v->name) > 0; }
    } find;
    find.names = &names;
    e.accept(&find);
    return find.found;
  }
};

}  // namespace

int64_t largest_launch_shared_bytes(const Halide::Module& module) {
  SharedBytes sb;
  for (const LoweredFunc& f : module.functions()) f.body.accept(&sb);
  return sb.largest;
}

int64_t cuda_block_shared_bytes(const Halide::Target& target) {
  // The least that a GPU of the target's capability or any newer one allows a block that opts in: 99
  // KiB from 8.0 on, since 8.6, 8.9 and 12.x GPUs allow no more (an A100 163, an H100 227).
  const int capability = target.get_cuda_capability_lower_bound();
  if (capability >= 80) return 99 * 1024;
  if (capability >= 70) return 64 * 1024;
  return 48 * 1024;
}

int64_t gpu_block_shared_bytes(const Halide::Target& target) {
  if (target.has_feature(Halide::Target::CUDA)) return cuda_block_shared_bytes(target);
  return (target.has_feature(Halide::Target::OpenCL) ? 48 : 32) * 1024;
}

void check_launch_limits(const Halide::Module& module, const Halide::Target& target, const std::string& kernel) {
  if (!target.has_feature(Halide::Target::CUDA)) return;  // OpenCL devices differ; the driver says
  const int64_t bytes = largest_launch_shared_bytes(module);
  const int64_t limit = cuda_block_shared_bytes(target);
  const int capability = target.get_cuda_capability_lower_bound();
  RNNC_USER_CHECK(bytes <= limit)
      << "codegen: kernel " << kernel << " would ask for " << (bytes + 1023) / 1024
      << " KiB of shared memory per GPU block, more than the " << limit / 1024
      << " KiB a block may use on GPUs of CUDA capability " << capability / 10 << "." << capability % 10
      << " and newer: a step that keeps whole rows in shared memory (a small recurrent product read within the "
         "step, an unrolled step) is too wide at this hidden size";
}

}  // namespace rnnc::codegen
