// autodiff: see autodiff.h for what it produces. The shape of the code:
//   Sweep        walks one function (the forward, or one scan body) backwards, applying each op's
//                vector-Jacobian rule; where the forward values come from and where gradients of
//                operands go are the two things its subclasses decide
//   OuterSweep   @forward -> @backward: forward values are stored as `saved.*` results
//   BodySweep    a forward scan body -> the backward scan body: forward values become step outputs of
//                the forward scan (stacked activations) or bindings of the backward scan, and gradients
//                of invariants are deferred to one reduction after the scan
#include "passes/autodiff.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/error.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

namespace rnnc::passes {
namespace {

using ir::Attrs;
using ir::DType;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

// A gradient contribution to one operand, in the form that lets a scan defer its sum over time.
struct Grad {
  enum class Kind {
    Dense,       // a: the gradient itself, of the operand's type
    SumLeading,  // a: the gradient before summing away a's extra leading dims
    MatmulTA,    // matmul {transpose_a} of a and b: a sum of row products over all leading dims
  };
  Kind kind;
  Value a, b;
  static Grad dense(Value a) { return {Kind::Dense, a, {}}; }
  static Grad sum_leading(Value a) { return {Kind::SumLeading, a, {}}; }
  static Grad matmul_ta(Value a, Value b) { return {Kind::MatmulTA, a, b}; }
};

// Where argument node n stands among f's arguments.
size_t arg_index(const Function& f, NodeId n) {
  return static_cast<size_t>(std::find(f.args().begin(), f.args().end(), n) - f.args().begin());
}

[[noreturn]] void unsupported(const Function& f, NodeId n, const std::string& why) {
  throw_user_error("autodiff: cannot differentiate " + describe_node(f, n) + ": " + why);
}

// The values that depend on something being differentiated: parameters and float arguments (of
// @forward), or every float argument (of a scan body).
std::vector<bool> varying_nodes(const Function& f, bool body) {
  std::vector<bool> varying(f.num_nodes(), false);
  for (NodeId n : f.topological_order()) {
    const ir::NodeData& d = f.node(n);
    bool has_float = false;
    for (const TensorType& t : d.types) has_float |= ir::is_float(t.dtype);
    if (!has_float) continue;
    if (d.op == OpKind::Param) varying[n] = true;
    if (d.op == OpKind::Arg) varying[n] = true;
    if (d.op == OpKind::Arg && !body) varying[n] = ir::is_float(d.types[0].dtype);
    for (const Value& v : f.operands(n)) varying[n] = varying[n] || varying[v.node];
  }
  return varying;
}

class Sweep {
 public:
  Sweep(Function& fwd, Function& out, bool body) : fwd_(fwd), out_(out), varying_(varying_nodes(fwd, body)) {}
  virtual ~Sweep() = default;

  // Adds `g` to the cotangent of forward value v (which must be of v's type by then).
  void seed(Value v, Value g) { accumulate(v, g); }

  void run() {
    std::vector<NodeId> order = fwd_.topological_order();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      NodeId n = *it;
      OpKind op = fwd_.op(n);
      if (op == OpKind::Arg || op == OpKind::Return || op == OpKind::Param || op == OpKind::Constant) continue;
      bool has_cotangent = false;
      for (int r = 0; r < static_cast<int>(fwd_.node(n).types.size()); ++r) has_cotangent |= ct_.count(Value{n, r}) > 0;
      if (!has_cotangent || !varying_[n]) continue;
      vjp(n);
    }
  }

  std::optional<Value> cotangent(Value v) const {
    auto it = ct_.find(v);
    if (it == ct_.end()) return std::nullopt;
    return it->second;
  }

 protected:
  // The forward value v, usable in the function being built.
  virtual Value primal(Value v) = 0;
  // Routes a contribution to operand `target`; the default materialises and accumulates it.
  virtual void contribute(Value target, const Grad& g) { accumulate(target, materialize(g, fwd_.type(target))); }
  // A scan inside the function being differentiated.
  virtual void scan_vjp(NodeId n) { unsupported(fwd_, n, "a scan inside a scan body"); }

  Value emit(OpKind op, const std::vector<Value>& operands, Attrs attrs = {}, std::vector<TensorType> declared = {}) {
    return out_.add(op, operands, std::move(attrs), std::move(declared));
  }
  Value zeros(const TensorType& t) { return emit(OpKind::Constant, {}, Attrs().set("value", 0.0), {t}); }
  Value scalar(double v, DType dtype) { return emit(OpKind::Constant, {}, Attrs().set("value", v), {TensorType{dtype, {}}}); }

  Value materialize(const Grad& g, const TensorType& target) {
    switch (g.kind) {
      case Grad::Kind::Dense: return g.a;
      case Grad::Kind::SumLeading: {
        int extra = out_.type(g.a).rank() - target.rank();
        if (extra == 0) return g.a;
        std::vector<int64_t> axes;
        for (int i = 0; i < extra; ++i) axes.push_back(i);
        return emit(OpKind::ReduceSum, {g.a}, Attrs().set("axes", axes));
      }
      case Grad::Kind::MatmulTA: return emit(OpKind::MatMul, {g.a, g.b}, Attrs().set_flag("transpose_a"));
    }
    return g.a;
  }

  void accumulate(Value target, Value g) {
    RNNC_INTERNAL_CHECK(out_.type(g) == fwd_.type(target))
        << "autodiff: gradient " << out_.type(g) << " for a value of type " << fwd_.type(target);
    auto it = ct_.find(target);
    if (it == ct_.end()) {
      ct_[target] = g;
    } else {
      it->second = emit(OpKind::Add, {it->second, g});
    }
  }

  bool wants(Value operand) const {
    return varying_[operand.node] && ir::is_float(fwd_.type(operand).dtype);
  }

  Function& fwd_;
  Function& out_;
  std::vector<bool> varying_;
  std::map<Value, Value> ct_;

 private:
  // Gradient of an elementwise operand that may have been broadcast along leading dims.
  Grad unbroadcast(Value g, Value operand) {
    return out_.type(g).shape == fwd_.type(operand).shape ? Grad::dense(g) : Grad::sum_leading(g);
  }

  void give(Value operand, const Grad& g) {
    if (wants(operand)) contribute(operand, g);
  }

  void vjp(NodeId n) {
    const ir::NodeData& d = fwd_.node(n);
    const Attrs& a = d.attrs;
    std::vector<Value> x = fwd_.operands(n);
    Value y{n, 0};
    if (d.op == OpKind::Scan) return scan_vjp(n);
    Value g = ct_.at(y);
    DType dt = fwd_.type(y).dtype;
    switch (d.op) {
      case OpKind::Neg: return give(x[0], Grad::dense(emit(OpKind::Neg, {g})));
      case OpKind::Exp: return give(x[0], Grad::dense(emit(OpKind::Mul, {g, primal(y)})));
      case OpKind::Log: return give(x[0], Grad::dense(emit(OpKind::Div, {g, primal(x[0])})));
      case OpKind::Sigmoid: {
        Value s = primal(y);
        Value one_minus = emit(OpKind::Sub, {scalar(1, dt), s});
        return give(x[0], Grad::dense(emit(OpKind::Mul, {emit(OpKind::Mul, {g, s}), one_minus})));
      }
      case OpKind::Tanh: {
        Value t = primal(y);
        Value one_minus = emit(OpKind::Sub, {scalar(1, dt), emit(OpKind::Mul, {t, t})});
        return give(x[0], Grad::dense(emit(OpKind::Mul, {g, one_minus})));
      }
      case OpKind::Relu: return give(x[0], Grad::dense(emit(OpKind::Mul, {g, emit(OpKind::ReluMask, {primal(y)})})));
      case OpKind::Add:
        give(x[0], unbroadcast(g, x[0]));
        return give(x[1], unbroadcast(g, x[1]));
      case OpKind::Sub:
        give(x[0], unbroadcast(g, x[0]));
        if (wants(x[1])) give(x[1], unbroadcast(emit(OpKind::Neg, {g}), x[1]));
        return;
      case OpKind::Mul:
        if (wants(x[0])) give(x[0], unbroadcast(emit(OpKind::Mul, {g, primal(x[1])}), x[0]));
        if (wants(x[1])) give(x[1], unbroadcast(emit(OpKind::Mul, {g, primal(x[0])}), x[1]));
        return;
      case OpKind::Div:
        if (wants(x[0])) give(x[0], unbroadcast(emit(OpKind::Div, {g, primal(x[1])}), x[0]));
        if (wants(x[1])) {
          Value gy_over_b = emit(OpKind::Div, {emit(OpKind::Mul, {g, primal(y)}), primal(x[1])});
          give(x[1], unbroadcast(emit(OpKind::Neg, {gy_over_b}), x[1]));
        }
        return;
      case OpKind::MatMul: return matmul_vjp(n, x, g);
      case OpKind::Concat: {
        int64_t axis = a.get_int("axis"), offset = 0;
        if (axis < 0) axis += fwd_.type(y).rank();
        for (const Value& part : x) {
          int64_t size = fwd_.type(part).shape[axis].size;
          if (wants(part)) {
            give(part, Grad::dense(emit(OpKind::Slice, {g}, Attrs().set("axis", axis).set("start", offset).set("size", size))));
          }
          offset += size;
        }
        return;
      }
      case OpKind::Slice: {
        // The slice's gradient, zero-padded back to the operand's shape.
        const TensorType& in = fwd_.type(x[0]);
        int64_t axis = a.get_int("axis"), start = a.get_int("start"), size = a.get_int("size");
        if (axis < 0) axis += in.rank();
        std::vector<Value> parts;
        auto pad = [&](int64_t len) {
          TensorType t = in;
          t.shape[axis] = ir::Dim::fixed(len);
          parts.push_back(zeros(t));
        };
        if (start > 0) pad(start);
        parts.push_back(g);
        if (start + size < in.shape[axis].size) pad(in.shape[axis].size - start - size);
        Value full = parts.size() == 1 ? g : emit(OpKind::Concat, parts, Attrs().set("axis", axis));
        return give(x[0], Grad::dense(full));
      }
      case OpKind::LayerNorm: {
        double eps = a.get_float("eps");
        std::vector<Value> grad_operands{g, primal(x[0])};
        if (x.size() == 3) grad_operands.push_back(primal(x[1]));
        if (wants(x[0])) give(x[0], Grad::dense(emit(OpKind::LayerNormGrad, grad_operands, Attrs().set("eps", eps))));
        if (x.size() == 3) {
          if (wants(x[1])) {
            Value normalized = emit(OpKind::LayerNorm, {primal(x[0])}, Attrs().set("eps", eps));
            give(x[1], Grad::sum_leading(emit(OpKind::Mul, {g, normalized})));
          }
          give(x[2], Grad::sum_leading(g));
        }
        return;
      }
      case OpKind::Embedding: {
        Attrs grad_attrs;
        grad_attrs.set("vocab", fwd_.type(x[0]).shape[0].size);
        if (a.has("padding_idx")) grad_attrs.set("padding_idx", a.get_int("padding_idx"));
        return give(x[0], Grad::dense(emit(OpKind::EmbeddingGrad, {g, primal(x[1])}, grad_attrs)));
      }
      case OpKind::Dropout:
        // The same mask, from the same seed and salt, scales the gradient.
        return give(x[0], Grad::dense(emit(OpKind::Dropout, {g, primal(x[1])}, a)));
      case OpKind::Softmax: return give(x[0], Grad::dense(emit(OpKind::SoftmaxGrad, {g, primal(y)})));
      case OpKind::ReduceSum: {
        const std::vector<int64_t>& axes = a.get_int_list("axes");
        std::set<int64_t> set;
        for (int64_t ax : axes) set.insert(ax < 0 ? ax + fwd_.type(x[0]).rank() : ax);
        bool leading = set.empty() || (*set.begin() == 0 && *set.rbegin() == static_cast<int64_t>(set.size()) - 1);
        if (!leading) unsupported(fwd_, n, "reduce_sum over axes that are not the leading ones");
        return give(x[0], Grad::dense(emit(OpKind::BroadcastLike, {g, primal(x[0])})));
      }
      case OpKind::CrossEntropy:
        return give(x[0], Grad::dense(emit(OpKind::CrossEntropyGrad, {g, primal(x[0]), primal(x[1])})));
      case OpKind::Mse: {
        Value dpred = emit(OpKind::MseGrad, {g, primal(x[0]), primal(x[1])});
        give(x[0], Grad::dense(dpred));
        if (wants(x[1])) give(x[1], Grad::dense(emit(OpKind::Neg, {dpred})));
        return;
      }
      case OpKind::BroadcastLike: return give(x[0], unbroadcast(g, x[0]));
      case OpKind::Transpose: return give(x[0], Grad::dense(emit(OpKind::Transpose, {g})));
      case OpKind::SelectRows: {
        Value mask = primal(x[0]);
        Value zero = zeros(fwd_.type(y));
        if (wants(x[1])) give(x[1], Grad::dense(emit(OpKind::SelectRows, {mask, g, zero})));
        if (wants(x[2])) give(x[2], Grad::dense(emit(OpKind::SelectRows, {mask, zero, g})));
        return;
      }
      case OpKind::ReluMask:
      case OpKind::StepMask:
        return;  // piecewise constant: no gradient
      case OpKind::Fused:
        unsupported(fwd_, n, "a fused group (run autodiff before fuse-elementwise)");
      default:
        unsupported(fwd_, n, std::string("no gradient rule for ") + ir::op_name(d.op));
    }
  }

  void matmul_vjp(NodeId n, const std::vector<Value>& x, Value g) {
    const Attrs& a = fwd_.node(n).attrs;
    if (a.has_flag("transpose_a")) {
      // y[M, N] = sum over rows of a[…, M]ᵀ b[…, N]
      if (wants(x[0])) give(x[0], Grad::dense(emit(OpKind::MatMul, {primal(x[1]), g}, Attrs().set_flag("transpose_b"))));
      if (wants(x[1])) give(x[1], Grad::dense(emit(OpKind::MatMul, {primal(x[0]), g})));
      return;
    }
    bool tb = a.has_flag("transpose_b");
    if (wants(x[0])) {
      Attrs back;
      if (!tb) back.set_flag("transpose_b");
      give(x[0], Grad::dense(emit(OpKind::MatMul, {g, primal(x[1])}, back)));
    }
    if (wants(x[1])) give(x[1], tb ? Grad::matmul_ta(g, primal(x[0])) : Grad::matmul_ta(primal(x[0]), g));
  }
};

class OuterSweep;

// The backward of one forward scan: builds the reverse scan's body by sweeping the forward body.
class BodySweep : public Sweep {
 public:
  // A dry sweep builds a throwaway body and stores nothing: it only records which forward values the
  // backward body would read (requested()), so that the real sweep can choose what to recompute.
  enum class Mode { Build, Dry };
  BodySweep(OuterSweep& outer, Function& forward_fn, NodeId scan, Function& bwd_body, Mode mode = Mode::Build)
      : Sweep(*forward_fn.body(scan), bwd_body, /*body=*/true),
        outer_(outer),
        forward_fn_(forward_fn),
        scan_(scan),
        layout_(ScanLayout::of(forward_fn, scan)),
        dry_(mode == Mode::Dry) {}

  const std::set<Value>& requested() const { return requested_; }
  // Of those, the factors of invariants' gradients that the sum after the scan would read straight from
  // the stacked forward values (Factor::outside): recomputed, they would be stored by the backward scan.
  const std::set<Value>& read_after_scan() const { return read_after_scan_; }
  // Values the backward body computes again from others it reads, instead of reading them stored.
  void recompute(std::set<Value> values) { recomputed_ = std::move(values); }

  // Body arguments of the backward scan, with the outer values (in @backward) they bind.
  Value add_carry(const TensorType& t, const std::string& name) {
    Value v = out_.insert_arg(carries_, name, t);
    ++carries_;
    return v;
  }
  Value add_sequence(Value outer_value, const TensorType& step, const std::string& name) {
    Value v = out_.insert_arg(carries_ + sequences_.size(), name, step);
    sequences_.push_back(outer_value);
    return v;
  }
  Value add_invariant(Value outer_value, const TensorType& t, const std::string& name) {
    Value v = out_.insert_arg(out_.args().size(), name, t);
    invariants_.push_back(outer_value);
    return v;
  }
  const std::vector<Value>& sequences() const { return sequences_; }
  const std::vector<Value>& invariants() const { return invariants_; }

  // A deferred invariant gradient: per-step factors and how to sum them after the scan. A factor that
  // is just a sequence the backward scan reads (an input x_t, a stored h_t) is taken from outside
  // directly instead of being copied out again: the other factor, the gradient, is zero in finished
  // rows, so the product needs no mask from this one.
  struct Factor {
    bool outside;  // `value` is the stacked sequence in @backward; otherwise `output` indexes step_outputs
    Value value;
    size_t output;
  };
  struct Deferred {
    int64_t invariant;  // forward invariant index
    Grad::Kind kind;
    std::vector<Factor> factors;
  };
  std::vector<Value> step_outputs;  // in the backward body
  std::vector<Deferred> deferred;

 protected:
  Value primal(Value v) override;
  bool recomputed_from_carry(Value v) const;

  void contribute(Value target, const Grad& g) override {
    for (int64_t k = 0; k < layout_.invariants; ++k) {
      if (target != fwd_.arg(layout_.invariant_arg(k))) continue;
      // With lengths, finished rows are masked by zeroing the scan's step outputs row by row, so a
      // per-step gradient must have the batch rows as its leading dim.
      const TensorType& inv = fwd_.type(target);
      if (g.kind == Grad::Kind::Dense && layout_.lengths) {
        const ir::Dim& batch = forward_fn_.type(forward_fn_.operands(scan_)[0]).shape[0];
        if (inv.rank() == 0 || inv.shape[0] != batch) {
          throw_user_error("autodiff: the gradient of scan invariant " + std::to_string(k) + " (" + inv.str() +
                           ") inside " + describe_node(forward_fn_, scan_) +
                           " has no batch rows to mask with the lengths; compute that value outside the cell");
        }
      }
      Deferred d{k, g.kind, {factor(g.a, g.kind == Grad::Kind::MatmulTA)}};
      if (g.kind == Grad::Kind::MatmulTA) d.factors.push_back(factor(g.b, true));
      deferred.push_back(d);
      return;
    }
    Sweep::contribute(target, g);
  }

 private:
  Factor factor(Value v, bool may_read_outside) {
    if (dry_ && may_read_outside) {
      if (auto it = dry_stand_ins_.find(v); it != dry_stand_ins_.end()) read_after_scan_.insert(it->second);
    }
    if (may_read_outside && out_.op(v.node) == OpKind::Arg) {
      const size_t index = arg_index(out_, v.node);
      if (index >= carries_ && index < carries_ + sequences_.size()) return {true, sequences_[index - carries_], 0};
    }
    step_outputs.push_back(v);
    return {false, {}, step_outputs.size() - 1};
  }

  OuterSweep& outer_;
  Function& forward_fn_;
  NodeId scan_;
  ScanLayout layout_;
  bool dry_;
  std::set<Value> requested_, read_after_scan_, recomputed_;
  std::map<Value, Value> dry_stand_ins_;  // dry: the stand-in in the scratch body -> the forward value
  size_t carries_ = 0;
  std::vector<Value> sequences_, invariants_;
  std::map<Value, Value> memo_;
};

class OuterSweep : public Sweep {
 public:
  OuterSweep(ir::Module& m, Function& fwd, Function& bwd) : Sweep(fwd, bwd, /*body=*/false), module_(m) {}

  Value primal(Value v) override {
    if (auto it = memo_.find(v); it != memo_.end()) return it->second;
    const ir::NodeData& d = fwd_.node(v.node);
    Value p;
    if (d.op == OpKind::Param || d.op == OpKind::Constant) {
      p = emit(d.op, {}, d.attrs, {d.types[0]});
      out_.set_value_name(p, d.names[0]);
    } else {
      std::string base = fwd_.value_name(v).empty() ? std::to_string(saved_count_) : fwd_.value_name(v);
      std::string name = kSavedPrefix + base;
      while (used_names_.count(name)) name += "_";
      used_names_.insert(name);
      ++saved_count_;
      fwd_.append_function_result(v, name);
      p = out_.add_arg(name, fwd_.type(v));
    }
    memo_[v] = p;
    return p;
  }

  Function& forward() { return fwd_; }
  Function& backward() { return out_; }
  Value backward_zeros(const TensorType& t) { return zeros(t); }
  Value backward_emit(OpKind op, const std::vector<Value>& operands, Attrs attrs = {}) {
    return emit(op, operands, std::move(attrs));
  }
  bool wants_operand(Value v) const { return wants(v); }
  void give_dense(Value target, Value g) { contribute(target, Grad::dense(g)); }
  const std::map<Value, Value>& cotangents() const { return ct_; }

 protected:
  void scan_vjp(NodeId scan) override;

 private:
  ir::Module& module_;
  std::map<Value, Value> memo_;
  std::set<std::string> used_names_;
  int saved_count_ = 0;
};

Value BodySweep::primal(Value v) {
  if (auto it = memo_.find(v); it != memo_.end()) return it->second;
  const ir::NodeData& d = fwd_.node(v.node);
  const std::string& name = d.names[v.result];
  Value p;
  auto stored = [&]() {
    // Stack the value over time as a new step output of the forward scan, and read it back per step.
    Value stacked = add_scan_output(forward_fn_, scan_, v, name);
    return add_sequence(outer_.primal(stacked), fwd_.type(v), name);
  };
  if (d.op == OpKind::Constant) {
    p = emit(d.op, {}, d.attrs, {d.types[0]});
  } else if (dry_ && !recomputed_from_carry(v)) {
    requested_.insert(v);
    p = zeros(fwd_.type(v));
    dry_stand_ins_[p] = v;
  } else if (d.op == OpKind::Arg) {
    const size_t index = arg_index(fwd_, v.node);
    std::vector<Value> operands = forward_fn_.operands(scan_);
    if (index < static_cast<size_t>(layout_.carries)) {
      p = stored();  // the carry at the start of each step
    } else if (index < layout_.invariant_arg(0)) {
      int64_t j = static_cast<int64_t>(index) - layout_.carries;
      p = add_sequence(outer_.primal(operands[layout_.sequence_operand(j)]), fwd_.type(v), name);
    } else {
      int64_t k = static_cast<int64_t>(index - layout_.invariant_arg(0));
      p = add_invariant(outer_.primal(operands[layout_.invariant_operand(k)]), fwd_.type(v), name);
    }
  } else if (recomputed_from_carry(v)) {
    p = emit(OpKind::Tanh, {primal(fwd_.operands(v.node)[0])});
  } else if (recomputed_.count(v)) {
    std::vector<Value> operands;
    for (const Value& u : fwd_.operands(v.node)) operands.push_back(primal(u));
    p = emit(d.op, operands, d.attrs, {d.types[0]});
  } else {
    p = stored();
  }
  memo_[v] = p;
  return p;
}

// tanh of a carry's next value (an LSTM's tanh(c_t)) is recomputed by the backward step rather than
// stored: the forward scan keeps a carry's values in one time-stacked buffer that its saved outputs are
// views of (compiled_executor.cpp, stack_carries: forward direction, no lengths, CPU), so reading c_t
// back stores nothing, where tanh(c_t) was a [batch, H] store per forward step and a read per backward
// step. (With lengths, or on a GPU, c_t would be stored instead of tanh(c_t): the same bytes.)
bool BodySweep::recomputed_from_carry(Value v) const {
  if (fwd_.op(v.node) != OpKind::Tanh || layout_.lengths) return false;
  if (forward_fn_.node(scan_).attrs.get_word("direction") == "reverse") return false;
  const Value x = fwd_.operands(v.node)[0];
  const std::vector<Value> yields = fwd_.results();
  for (int64_t i = 0; i < layout_.carries; ++i) {
    if (yields[layout_.carry_result(i)] == x) return true;
  }
  return false;
}

// Forward-body values that the backward body recomputes rather than reading them stored (a [batch, …]
// store in every forward step and a load in every backward one): values the backward reads
// (`requested`) that a few cheap ops make from what it reads anyway: stored values, the step's
// sequences and invariants, constants. A GRU's 1 - z (the backward reads z) and a layer-norm LSTM's c_t
// before its norm (f·c + i·g, all four read) are such values (ab-bench, GRU training 0.982 and 0.985,
// 4 of 4 and 4 of 5 pairs). Cheap means arithmetic, slices, concats and layer norms, not activations:
// with its four gates recomputed from its products' norms (which the backward reads), the layer-norm
// LSTM's backward step took 50-57 us instead of 43 (kernel_bench, 32 rows), more than their loads cost.
// A value made through a product (a plain LSTM's gates, from h·W_hh) stays stored. So do a carry's
// next value (the forward scan keeps it in the carry's history, compiled_executor.cpp, stack_carries;
// an LSTM recomputing c_t instead of reading it back trained slower, ab-bench S 1.034), a step output
// (yielded anyway), and a weight gradient's factor that the sum after the scan reads stacked
// (recomputed, it would be stored by the backward scan instead).
std::set<Value> values_to_recompute(const Function& body, const ScanLayout& l, const std::set<Value>& requested,
                                    const std::set<Value>& read_after_scan) {
  constexpr size_t kMaxOps = 8;  // new ops per recomputed value: a few passes over a step's rows
  auto cheap = [&](Value u) {
    const OpKind op = body.op(u.node);
    return body.node(u.node).types.size() == 1 &&
           (op == OpKind::Neg || op == OpKind::Relu || ir::is_binary_elementwise(op) || op == OpKind::Slice ||
            op == OpKind::Concat || op == OpKind::LayerNorm || op == OpKind::BroadcastLike);
  };
  // Stored whatever they are made of: what the forward scan yields anyway (carries' next values, step
  // outputs) and what the sum after the scan reads stacked.
  std::set<Value> kept = read_after_scan;
  for (const Value& y : body.results()) kept.insert(y);
  std::set<Value> stored = requested, recomputed;
  // Read without a store of its own: a constant, a sequence or an invariant, a stored or recomputed value.
  auto available = [&](Value u) {
    const OpKind op = body.op(u.node);
    if (op == OpKind::Constant) return true;
    if (op == OpKind::Arg && arg_index(body, u.node) >= static_cast<size_t>(l.carries)) return true;
    return stored.count(u) > 0 || recomputed.count(u) > 0;
  };
  // In topological order: when a value is considered, what it is made of is settled.
  for (NodeId n : body.topological_order()) {
    const Value v{n, 0};
    if (!requested.count(v) || kept.count(v) || !cheap(v)) continue;
    std::set<Value> ops{v};
    std::vector<Value> todo{v};
    bool ok = true;
    while (ok && !todo.empty()) {
      const Value w = todo.back();
      todo.pop_back();
      for (const Value& u : body.operands(w.node)) {
        if (available(u) || ops.count(u)) continue;
        ok = cheap(u) && ops.size() < kMaxOps;
        if (!ok) break;
        ops.insert(u);
        todo.push_back(u);
      }
    }
    if (!ok) continue;
    stored.erase(v);
    recomputed.insert(ops.begin(), ops.end());
  }
  return recomputed;
}

void OuterSweep::scan_vjp(NodeId scan) {
  ScanLayout l = ScanLayout::of(fwd_, scan);
  if (l.unroll != 1) unsupported(fwd_, scan, "an unrolled scan (unroll after autodiff)");
  for (NodeId n = 0; n < fwd_.body(scan)->num_nodes(); ++n) {
    OpKind inner = fwd_.body(scan)->op(n);
    if (inner == OpKind::Fused) unsupported(fwd_, scan, "its body holds a fused group (run autodiff before fuse-elementwise)");
    if (inner == OpKind::Scan) unsupported(fwd_, scan, "its body holds another scan");
  }
  const ir::Attrs& attrs = fwd_.node(scan).attrs;
  std::vector<Value> operands = fwd_.operands(scan);
  const int64_t original_outputs = l.outputs;

  auto body = std::make_unique<Function>("body");
  BodySweep sweep(*this, fwd_, scan, *body);
  Function& fbody = *fwd_.body(scan);
  std::vector<Value> fresults = fbody.results();

  // Carries of the backward scan: the cotangents of the forward carries, starting from those of the
  // final carries.
  std::vector<Value> carry_inits;
  for (int64_t i = 0; i < l.carries; ++i) {
    auto c = cotangent(Value{scan, l.carry_result(i)});
    carry_inits.push_back(c ? *c : zeros(fwd_.type(Value{scan, l.carry_result(i)})));
  }
  // A body sweep starts from the cotangents of the carries and of the step outputs that have one.
  auto seed = [&](BodySweep& s) {
    for (int64_t i = 0; i < l.carries; ++i) {
      s.seed(fresults[i], s.add_carry(fwd_.type(Value{scan, l.carry_result(i)}), "d_" + fbody.value_name(fbody.arg(i))));
    }
    for (int64_t o = 0; o < original_outputs; ++o) {
      auto c = cotangent(Value{scan, l.output_result(o)});
      if (!c) continue;
      const Value y = fresults[l.body_output(o)];
      s.seed(y, s.add_sequence(*c, fbody.type(y), "d_out" + std::to_string(o)));
    }
  };
  {
    // What the backward body reads decides what it can recompute from what it reads anyway.
    Function scratch("dry");
    BodySweep dry(*this, fwd_, scan, scratch, BodySweep::Mode::Dry);
    seed(dry);
    dry.run();
    sweep.recompute(values_to_recompute(fbody, l, dry.requested(), dry.read_after_scan()));
  }
  seed(sweep);
  sweep.run();

  // Yield: the carries' cotangents at the start of each step, then the sequences' cotangents, then the
  // per-step terms of the invariants' gradients.
  Function& bbody = *body;
  std::vector<Value> next;
  for (int64_t i = 0; i < l.carries; ++i) {
    auto c = sweep.cotangent(fbody.arg(l.carry_arg(i)));
    next.push_back(c ? *c : bbody.add(OpKind::Constant, {}, Attrs().set("value", 0.0), {fbody.type(fbody.arg(i))}));
  }
  std::vector<int64_t> sequence_outputs;
  std::vector<Value> outs;
  for (int64_t j = 0; j < l.sequences; ++j) {
    if (!wants(operands[l.sequence_operand(j)])) continue;
    auto c = sweep.cotangent(fbody.arg(l.sequence_arg(j)));
    if (!c) continue;
    sequence_outputs.push_back(j);
    outs.push_back(*c);
  }
  for (const Value& v : sweep.step_outputs) outs.push_back(v);
  if (outs.empty() && next.empty()) return;
  std::vector<Value> yields = next;
  yields.insert(yields.end(), outs.begin(), outs.end());
  bbody.set_results(yields);

  std::vector<Value> bwd_operands;
  Attrs bwd_attrs;
  bwd_attrs.set("direction", std::string(attrs.get_word("direction") == "forward" ? "reverse" : "forward"));
  if (l.lengths) {
    bwd_operands.push_back(primal(operands[0]));
    bwd_attrs.set_flag("lengths");
  }
  for (const Value& v : carry_inits) bwd_operands.push_back(v);
  // A scan needs a sequence to know its length: if the body read none, give it the forward's first.
  if (sweep.sequences().empty()) sweep.add_sequence(primal(operands[l.sequence_operand(0)]), fbody.type(fbody.arg(l.sequence_arg(0))), "unused");
  for (const Value& v : sweep.sequences()) bwd_operands.push_back(v);
  for (const Value& v : sweep.invariants()) bwd_operands.push_back(v);
  bwd_attrs.set("carries", l.carries);
  bwd_attrs.set("sequences", static_cast<int64_t>(sweep.sequences().size()));
  bwd_attrs.set("invariants", static_cast<int64_t>(sweep.invariants().size()));
  NodeId bscan = out_.add_node(OpKind::Scan, bwd_operands, bwd_attrs, {}, std::move(body));
  // The backward scan's carries end as the gradients of the forward's initial carries.
  for (int64_t i = 0; i < l.carries; ++i) {
    const std::string& init = fwd_.value_name(operands[l.carry_operand(i)]);
    if (!init.empty()) out_.set_value_name(Value{bscan, static_cast<int>(i)}, "d." + init);
  }

  // Route the results: initial-carry gradients, sequence gradients, invariant gradients (summed now).
  for (int64_t i = 0; i < l.carries; ++i) {
    if (wants(operands[l.carry_operand(i)])) give_dense(operands[l.carry_operand(i)], Value{bscan, static_cast<int>(i)});
  }
  int result = static_cast<int>(l.carries);
  for (int64_t j : sequence_outputs) give_dense(operands[l.sequence_operand(j)], Value{bscan, result++});
  for (const BodySweep::Deferred& d : sweep.deferred) {
    Value target = operands[l.invariant_operand(d.invariant)];
    std::vector<Value> f;
    for (const BodySweep::Factor& x : d.factors) f.push_back(x.outside ? x.value : Value{bscan, result + static_cast<int>(x.output)});
    // Summed over time (and over the rows of a broadcast), or one matmul over all steps and rows.
    Grad g = d.kind == Grad::Kind::MatmulTA ? Grad::matmul_ta(f[0], f[1]) : Grad::sum_leading(f[0]);
    if (wants(target)) contribute(target, g);
  }

}

class Autodiff : public Pass {
 public:
  std::string name() const override { return "autodiff"; }

  void run(ir::Module& m) override {
    Function* fwd = m.find_function("forward");
    RNNC_USER_CHECK(fwd) << "autodiff: module @" << m.name() << " has no @forward";
    RNNC_USER_CHECK(!m.find_function("backward")) << "autodiff: module @" << m.name() << " already has a @backward";
    std::vector<Value> results = fwd->results();
    std::vector<std::string> result_names = fwd->result_names();
    for (const std::string& n : result_names) {
      RNNC_USER_CHECK(n.rfind(kSavedPrefix, 0) != 0) << "autodiff: @forward already returns saved activations (" << n << ")";
    }
    Function bwd("backward");
    OuterSweep sweep(m, *fwd, bwd);
    for (size_t i = 0; i < results.size(); ++i) {
      const TensorType& t = fwd->type(results[i]);
      if (!ir::is_float(t.dtype)) continue;
      std::string name = result_names[i].empty() ? std::to_string(i) : result_names[i];
      sweep.seed(results[i], bwd.add_arg(kCotangentPrefix + name, t));
    }
    sweep.run();

    // Every parameter gets a gradient (zero where it does not matter), then every float argument.
    std::map<std::string, std::vector<Value>> by_param;
    for (const auto& [v, g] : sweep.cotangents()) {
      if (fwd->op(v.node) == OpKind::Param) by_param[fwd->node(v.node).attrs.get_word("name")].push_back(g);
    }
    std::vector<Value> grads;
    std::vector<std::string> names;
    auto total = [&](const std::vector<Value>& parts, const TensorType& t) {
      if (parts.empty()) return sweep.backward_zeros(t);
      Value sum = parts[0];
      for (size_t i = 1; i < parts.size(); ++i) sum = sweep.backward_emit(OpKind::Add, {sum, parts[i]});
      return sum;
    };
    for (const ir::ParamDecl& p : m.params()) {
      grads.push_back(total(by_param[p.name], p.type));
      names.push_back(kGradPrefix + p.name);
    }
    for (size_t i = 0; i < fwd->args().size(); ++i) {
      Value a = fwd->arg(i);
      if (!ir::is_float(fwd->type(a).dtype)) continue;
      auto it = sweep.cotangents().find(a);
      grads.push_back(it == sweep.cotangents().end() ? sweep.backward_zeros(fwd->type(a)) : it->second);
      names.push_back(kGradPrefix + fwd->value_name(a));
    }
    for (size_t i = 0; i < grads.size(); ++i) {
      if (bwd.value_name(grads[i]).empty()) bwd.set_value_name(grads[i], names[i]);
    }
    bwd.set_results(grads, names);
    eliminate_dead_code(bwd);
    m.add_function(std::move(bwd));
  }
};

}  // namespace

PassPtr create_autodiff() { return std::make_unique<Autodiff>(); }

}  // namespace rnnc::passes
