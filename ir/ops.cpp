#include "ir/ops.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "ir/error.h"
#include "ir/function.h"

namespace rnnc::ir {
namespace {

using Types = std::vector<TensorType>;

// Every type-rule failure names the op and shows the types involved.
#define TYPE_CHECK(cond) RNNC_USER_CHECK(cond) << op_name(sig.op) << ": "

std::string with_article(const std::string& noun) {
  return (std::string("aeiou").find(noun[0]) != std::string::npos ? "an " : "a ") + noun;
}

std::string types_str(const Types& types) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i) s += (i ? ", " : "") + types[i].str();
  return s;
}

int normalize_axis(const OpSignature& sig, int64_t axis, int rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  TYPE_CHECK(a >= 0 && a < rank) << "axis " << axis << " out of range for rank " << rank;
  return static_cast<int>(a);
}

Types declared_type(const OpSignature& sig) {
  TYPE_CHECK(sig.declared.size() == 1) << "needs exactly one declared type";
  return sig.declared;
}

Types unary_float(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  TYPE_CHECK(is_float(x.dtype)) << "operand must be a float tensor, got " << x;
  return {x};
}

bool is_suffix(const Shape& shorter, const Shape& longer) {
  if (shorter.size() > longer.size()) return false;
  return std::equal(shorter.begin(), shorter.end(), longer.end() - shorter.size());
}

Types binary_broadcast(const OpSignature& sig) {
  const TensorType& a = sig.operands[0];
  const TensorType& b = sig.operands[1];
  TYPE_CHECK(is_float(a.dtype) && a.dtype == b.dtype) << "operands must be float tensors of one element type, got "
                                                      << a << " and " << b;
  if (is_suffix(b.shape, a.shape)) return {a};
  if (is_suffix(a.shape, b.shape)) return {b};
  TYPE_CHECK(false) << "shapes do not match: " << a << " and " << b
                    << " (equal shapes, or one a suffix of the other)";
  return {};
}

Types matmul(const OpSignature& sig) {
  const TensorType& a = sig.operands[0];
  const TensorType& b = sig.operands[1];
  bool ta = sig.attrs.has_flag("transpose_a");
  bool tb = sig.attrs.has_flag("transpose_b");
  TYPE_CHECK(is_float(a.dtype) && a.dtype == b.dtype) << "operands must be float tensors of one element type, got "
                                                      << a << " and " << b;
  if (ta) {
    TYPE_CHECK(!tb) << "transpose_a and transpose_b together are not supported";
    TYPE_CHECK(a.rank() >= 2 && b.rank() == a.rank()) << "transpose_a needs two operands of one rank >= 2, got "
                                                      << a << " and " << b;
    Shape lead_a(a.shape.begin(), a.shape.end() - 1), lead_b(b.shape.begin(), b.shape.end() - 1);
    TYPE_CHECK(lead_a == lead_b) << "contracted dimensions differ: " << a << " and " << b;
    return {TensorType{a.dtype, {a.shape.back(), b.shape.back()}}};
  }
  TYPE_CHECK(a.rank() >= 1 && b.rank() == 2) << "needs a[..., K] and a matrix b, got " << a << " and " << b;
  const Dim& k_b = tb ? b.shape[1] : b.shape[0];
  const Dim& n = tb ? b.shape[0] : b.shape[1];
  TYPE_CHECK(a.shape.back() == k_b) << "inner dimensions differ: " << a << " and " << b
                                     << (tb ? " (b transposed)" : "");
  Shape out(a.shape.begin(), a.shape.end() - 1);
  out.push_back(n);
  return {TensorType{a.dtype, out}};
}

Types concat(const OpSignature& sig) {
  const TensorType& first = sig.operands[0];
  int axis = normalize_axis(sig, sig.attrs.get_int("axis"), first.rank());
  TensorType out = first;
  int64_t total = 0;
  for (const TensorType& t : sig.operands) {
    TYPE_CHECK(t.dtype == first.dtype && t.rank() == first.rank())
        << "operands differ in element type or rank: " << types_str(sig.operands);
    for (int d = 0; d < t.rank(); ++d) {
      if (d == axis) continue;
      TYPE_CHECK(t.shape[d] == first.shape[d]) << "dimension " << d << " differs: " << types_str(sig.operands);
    }
    TYPE_CHECK(!t.shape[axis].is_symbolic()) << "cannot concatenate along symbolic dimension "
                                             << t.shape[axis] << ": " << types_str(sig.operands);
    total += t.shape[axis].size;
  }
  out.shape[axis] = Dim::fixed(total);
  return {out};
}

Types slice(const OpSignature& sig) {
  TensorType x = sig.operands[0];
  int axis = normalize_axis(sig, sig.attrs.get_int("axis"), x.rank());
  int64_t start = sig.attrs.get_int("start"), size = sig.attrs.get_int("size");
  const Dim& d = x.shape[axis];
  TYPE_CHECK(!d.is_symbolic()) << "cannot slice symbolic dimension " << d << " of " << x;
  TYPE_CHECK(start >= 0 && size >= 1 && start + size <= d.size)
      << "range [" << start << ", " << start + size << ") out of bounds for dimension " << axis << " of " << x;
  x.shape[axis] = Dim::fixed(size);
  return {x};
}

Types layer_norm(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  TYPE_CHECK(is_float(x.dtype) && x.rank() >= 1) << "operand must be a float tensor of rank >= 1, got " << x;
  TYPE_CHECK(sig.operands.size() == 1 || sig.operands.size() == 3) << "takes x, or x, gamma and beta";
  const TensorType affine{x.dtype, {x.shape.back()}};
  for (size_t i = 1; i < sig.operands.size(); ++i) {
    TYPE_CHECK(sig.operands[i] == affine)
        << (i == 1 ? "gamma" : "beta") << " must be " << affine << ", got "
        << sig.operands[i] << " (x is " << x << ")";
  }
  return {x};
}

Types embedding(const OpSignature& sig) {
  const TensorType& table = sig.operands[0];
  const TensorType& ids = sig.operands[1];
  TYPE_CHECK(is_float(table.dtype) && table.rank() == 2) << "table must be a float matrix, got " << table;
  TYPE_CHECK(is_int(ids.dtype)) << "ids must be integers, got " << ids;
  if (sig.attrs.has("padding_idx")) {
    int64_t pad = sig.attrs.get_int("padding_idx");
    TYPE_CHECK(pad >= 0 && (table.shape[0].is_symbolic() || pad < table.shape[0].size))
        << "padding_idx " << pad << " outside the table " << table;
  }
  TensorType out{table.dtype, ids.shape};
  out.shape.push_back(table.shape[1]);
  return {out};
}

Types dropout(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  const TensorType& seed = sig.operands[1];
  TYPE_CHECK(is_float(x.dtype)) << "operand must be a float tensor, got " << x;
  TYPE_CHECK(seed.dtype == DType::I64 && seed.rank() == 0) << "seed must be i64[], got " << seed;
  double p = sig.attrs.get_float("p");
  TYPE_CHECK(p >= 0 && p < 1) << "p must be in [0, 1), got " << p;
  return {x};
}

Types softmax(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  TYPE_CHECK(is_float(x.dtype) && x.rank() >= 1) << "operand must be a float tensor of rank >= 1, got " << x;
  return {x};
}

Types reduce_sum(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  TYPE_CHECK(is_float(x.dtype)) << "operand must be a float tensor, got " << x;
  std::set<int> axes;
  for (int64_t a : sig.attrs.get_int_list("axes")) {
    TYPE_CHECK(axes.insert(normalize_axis(sig, a, x.rank())).second) << "axis " << a << " listed twice";
  }
  TensorType out{x.dtype, {}};
  for (int d = 0; d < x.rank(); ++d) {
    if (!axes.count(d)) out.shape.push_back(x.shape[d]);
  }
  return {out};
}

Types cross_entropy(const OpSignature& sig) {
  const TensorType& logits = sig.operands[0];
  const TensorType& labels = sig.operands[1];
  // Logits [..., C] with labels [...]: the loss is the mean over every position (a sequence model's
  // per-step predictions [time, batch, C] need no reshape).
  TYPE_CHECK(is_float(logits.dtype) && logits.rank() >= 2) << "logits must be a float [..., C] tensor of rank >= 2, got "
                                                           << logits;
  bool match = is_int(labels.dtype) && labels.rank() == logits.rank() - 1;
  for (int d = 0; match && d < labels.rank(); ++d) match = labels.shape[d] == logits.shape[d];
  TYPE_CHECK(match) << "labels must be integers [...] matching the leading dimensions of logits " << logits << ", got "
                    << labels;
  return {TensorType{logits.dtype, {}}};
}

Types mse(const OpSignature& sig) {
  const TensorType& pred = sig.operands[0];
  const TensorType& target = sig.operands[1];
  TYPE_CHECK(is_float(pred.dtype) && pred == target) << "prediction and target must be float tensors of one type, got "
                                                     << pred << " and " << target;
  return {TensorType{pred.dtype, {}}};
}

Types scan(const OpSignature& sig) {
  const std::string& direction = sig.attrs.get_word("direction");
  TYPE_CHECK(direction == "forward" || direction == "reverse")
      << "direction must be forward or reverse, got " << direction;
  int64_t carries = sig.attrs.get_int("carries"), sequences = sig.attrs.get_int("sequences"),
          invariants = sig.attrs.get_int("invariants"), unroll = sig.attrs.get_int_or("unroll", 1);
  TYPE_CHECK(carries >= 0 && sequences >= 1 && invariants >= 0)
      << "needs carries >= 0, sequences >= 1, invariants >= 0; got " << carries << ", " << sequences << ", "
      << invariants;
  bool has_lengths = sig.attrs.has_flag("lengths");
  TYPE_CHECK(unroll >= 1) << "unroll must be >= 1, got " << unroll;
  TYPE_CHECK(unroll == 1 || !has_lengths) << "an unrolled scan takes no lengths: its body masks steps itself";
  size_t first = has_lengths ? 1 : 0;
  TYPE_CHECK(sig.operands.size() == first + carries + sequences + invariants)
      << "has " << sig.operands.size() << " operands, expected " << first + carries + sequences + invariants
      << " (lengths " << first << " + carries " << carries << " + sequences " << sequences << " + invariants "
      << invariants << ")";
  TYPE_CHECK(sig.body != nullptr) << "has no body";
  const Function& body = *sig.body;
  Types body_args = body.arg_types();
  const int64_t step_args = unroll * sequences;
  TYPE_CHECK(body_args.size() == static_cast<size_t>(carries + step_args + invariants))
      << "body takes " << body_args.size() << " arguments, expected " << carries + step_args + invariants;
  TYPE_CHECK(body.has_return()) << "body has no yield";
  Types body_results = body.result_types();
  TYPE_CHECK(body_results.size() >= static_cast<size_t>(carries))
      << "body yields " << counted(body_results.size(), "value") << ", fewer than its " << counted(carries, "carry");
  const int64_t step_results = static_cast<int64_t>(body_results.size()) - carries;
  TYPE_CHECK(step_results % unroll == 0) << "body yields " << counted(step_results, "step output")
                                         << ", not a multiple of unroll " << unroll;
  const int64_t outputs = step_results / unroll;

  auto operand = [&](int64_t i) -> const TensorType& { return sig.operands[first + i]; };
  const Dim time = operand(carries).rank() >= 1 ? operand(carries).shape[0] : Dim::fixed(0);
  Types out;
  for (int64_t i = 0; i < carries; ++i) {
    TYPE_CHECK(body_args[i] == operand(i)) << "carry " << i << " starts as " << operand(i)
                                           << " but the body takes " << body_args[i];
    TYPE_CHECK(body_results[i] == operand(i)) << "carry " << i << " is " << operand(i)
                                              << " but the body's next value is " << body_results[i];
    out.push_back(operand(i));
  }
  for (int64_t j = 0; j < sequences; ++j) {
    const TensorType& seq = operand(carries + j);
    TYPE_CHECK(seq.rank() >= 1 && seq.shape[0] == time)
        << "sequence " << j << " is " << seq << ", expected a leading time dimension " << time;
    TensorType step{seq.dtype, Shape(seq.shape.begin() + 1, seq.shape.end())};
    for (int64_t u = 0; u < unroll; ++u) {
      const TensorType& arg = body_args[carries + u * sequences + j];
      TYPE_CHECK(arg == step) << "sequence " << j << " " << seq << " steps as " << step << " but the body takes "
                              << arg;
    }
  }
  for (int64_t k = 0; k < invariants; ++k) {
    const TensorType& inv = operand(carries + sequences + k);
    TYPE_CHECK(body_args[carries + step_args + k] == inv)
        << "invariant " << k << " is " << inv << " but the body takes " << body_args[carries + step_args + k];
  }
  for (int64_t o = 0; o < outputs; ++o) {
    for (int64_t u = 1; u < unroll; ++u) {
      TYPE_CHECK(body_results[carries + u * outputs + o] == body_results[carries + o])
          << "step output " << o << " is " << body_results[carries + o] << " in sub-step 0 but "
          << body_results[carries + u * outputs + o] << " in sub-step " << u;
    }
  }
  if (has_lengths) {
    const TensorType& lengths = sig.operands[0];
    TYPE_CHECK(is_int(lengths.dtype) && lengths.rank() == 1) << "lengths must be an integer vector, got " << lengths;
    const Dim& batch = lengths.shape[0];
    for (int64_t i = 0; i < carries; ++i) {
      TYPE_CHECK(operand(i).rank() >= 1 && operand(i).shape[0] == batch)
          << "with lengths " << lengths << " every carry needs a leading batch dimension, carry " << i << " is "
          << operand(i);
    }
    for (size_t r = carries; r < body_results.size(); ++r) {
      TYPE_CHECK(body_results[r].rank() >= 1 && body_results[r].shape[0] == batch)
          << "with lengths " << lengths << " every step output needs a leading batch dimension, output "
          << r - carries << " is " << body_results[r];
    }
  }
  for (int64_t o = 0; o < outputs; ++o) {
    TensorType stacked = body_results[carries + o];
    stacked.shape.insert(stacked.shape.begin(), time);
    out.push_back(stacked);
  }
  return out;
}

Types fused(const OpSignature& sig) {
  TYPE_CHECK(sig.body != nullptr) << "has no body";
  const Function& body = *sig.body;
  TYPE_CHECK(body.arg_types() == sig.operands) << "body takes (" << types_str(body.arg_types())
                                               << ") but the operands are (" << types_str(sig.operands) << ")";
  TYPE_CHECK(body.has_return()) << "body has no yield";
  for (NodeId n = 0; n < body.num_nodes(); ++n) {
    OpKind k = body.op(n);
    TYPE_CHECK(k == OpKind::Arg || k == OpKind::Return || is_fusible(k))
        << "body holds a " << op_name(k) << ", which is not elementwise";
  }
  return body.result_types();
}

Types relu_mask(const OpSignature& sig) { return unary_float(sig); }

Types broadcast_like(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  const TensorType& like = sig.operands[1];
  TYPE_CHECK(is_suffix(x.shape, like.shape)) << "shape of " << x << " is not a suffix of " << like;
  return {TensorType{x.dtype, like.shape}};
}

Types same_as_operand(const OpSignature& sig, size_t i, size_t j) {
  TYPE_CHECK(is_float(sig.operands[i].dtype) && sig.operands[i] == sig.operands[j])
      << "operands " << i << " and " << j << " must be float tensors of one type, got " << sig.operands[i] << " and "
      << sig.operands[j];
  return {sig.operands[j]};
}

Types layer_norm_grad(const OpSignature& sig) {
  Types out = same_as_operand(sig, 0, 1);
  const TensorType& x = sig.operands[1];
  TYPE_CHECK(x.rank() >= 1) << "x must have rank >= 1, got " << x;
  if (sig.operands.size() == 3) {
    TYPE_CHECK(sig.operands[2] == (TensorType{x.dtype, {x.shape.back()}}))
        << "gamma must be " << TensorType{x.dtype, {x.shape.back()}} << ", got " << sig.operands[2];
  }
  return out;
}

Types softmax_grad(const OpSignature& sig) { return same_as_operand(sig, 0, 1); }

Types cross_entropy_grad(const OpSignature& sig) {
  const TensorType& dloss = sig.operands[0];
  TYPE_CHECK(is_float(dloss.dtype) && dloss.rank() == 0) << "dloss must be a float scalar, got " << dloss;
  OpSignature forward{OpKind::CrossEntropy, sig.attrs, {sig.operands[1], sig.operands[2]}, sig.declared, nullptr};
  cross_entropy(forward);
  return {sig.operands[1]};
}

Types mse_grad(const OpSignature& sig) {
  const TensorType& dloss = sig.operands[0];
  TYPE_CHECK(is_float(dloss.dtype) && dloss.rank() == 0) << "dloss must be a float scalar, got " << dloss;
  return same_as_operand(sig, 1, 2);
}

Types embedding_grad(const OpSignature& sig) {
  const TensorType& dy = sig.operands[0];
  const TensorType& ids = sig.operands[1];
  TYPE_CHECK(is_int(ids.dtype)) << "ids must be integers, got " << ids;
  TYPE_CHECK(is_float(dy.dtype) && dy.rank() == ids.rank() + 1 &&
             Shape(dy.shape.begin(), dy.shape.end() - 1) == ids.shape)
      << "dy must be ids' shape plus an embedding dimension: dy " << dy << ", ids " << ids;
  int64_t vocab = sig.attrs.get_int("vocab");
  TYPE_CHECK(vocab >= 1) << "vocab must be positive, got " << vocab;
  return {TensorType{dy.dtype, {Dim::fixed(vocab), dy.shape.back()}}};
}

Types step_mask(const OpSignature& sig) {
  const TensorType& seq = sig.operands[0];
  TYPE_CHECK(seq.rank() >= 2) << "needs a sequence [time, batch, ...], got " << seq;
  if (sig.operands.size() == 2) {
    const TensorType& lengths = sig.operands[1];
    TYPE_CHECK(is_int(lengths.dtype) && lengths.shape == Shape{seq.shape[1]})
        << "lengths must be integers [" << seq.shape[1] << "], got " << lengths;
  }
  return {TensorType{DType::I32, {seq.shape[0], seq.shape[1]}}};
}

Types transpose(const OpSignature& sig) {
  const TensorType& x = sig.operands[0];
  TYPE_CHECK(x.rank() == 2) << "operand must be a matrix, got " << x;
  return {TensorType{x.dtype, {x.shape[1], x.shape[0]}}};
}

Types select_rows(const OpSignature& sig) {
  const TensorType& mask = sig.operands[0];
  const TensorType& a = sig.operands[1];
  TYPE_CHECK(a == sig.operands[2]) << "both choices must have one type, got " << a << " and " << sig.operands[2];
  TYPE_CHECK(is_int(mask.dtype) && mask.rank() == 1 && a.rank() >= 1 && a.shape[0] == mask.shape[0])
      << "mask must be integers [rows] matching the rows of " << a << ", got " << mask;
  return {a};
}

Types no_results(const OpSignature&) { return {}; }

constexpr int kAny = -1;

const std::vector<OpInfo>& op_table() {
  using K = AttrKind;
  static const std::vector<OpInfo> table = {
      {OpKind::Arg, "arg", 0, 0, {{"index", K::Int, true}}, declared_type, true},
      {OpKind::Param, "param", 0, 0, {{"name", K::Word, true}}, declared_type, true},
      {OpKind::Constant, "constant", 0, 0, {{"value", K::Float, true}}, declared_type, true},
      {OpKind::Neg, "neg", 1, 1, {}, unary_float, false},
      {OpKind::Exp, "exp", 1, 1, {}, unary_float, false},
      {OpKind::Log, "log", 1, 1, {}, unary_float, false},
      {OpKind::Sigmoid, "sigmoid", 1, 1, {}, unary_float, false},
      {OpKind::Tanh, "tanh", 1, 1, {}, unary_float, false},
      {OpKind::Relu, "relu", 1, 1, {}, unary_float, false},
      {OpKind::Add, "add", 2, 2, {}, binary_broadcast, false},
      {OpKind::Sub, "sub", 2, 2, {}, binary_broadcast, false},
      {OpKind::Mul, "mul", 2, 2, {}, binary_broadcast, false},
      {OpKind::Div, "div", 2, 2, {}, binary_broadcast, false},
      {OpKind::MatMul, "matmul", 2, 2, {{"transpose_a", K::Flag, false}, {"transpose_b", K::Flag, false}}, matmul,
       false},
      {OpKind::Concat, "concat", 1, kAny, {{"axis", K::Int, true}}, concat, false},
      {OpKind::Slice, "slice", 1, 1, {{"axis", K::Int, true}, {"start", K::Int, true}, {"size", K::Int, true}},
       slice, false},
      {OpKind::LayerNorm, "layer_norm", 1, 3, {{"eps", K::Float, true}}, layer_norm, false},
      {OpKind::Embedding, "embedding", 2, 2, {{"padding_idx", K::Int, false}}, embedding, false},
      {OpKind::Dropout, "dropout", 2, 2, {{"p", K::Float, true}, {"salt", K::Int, true}}, dropout, false},
      {OpKind::Softmax, "softmax", 1, 1, {}, softmax, false},
      {OpKind::ReduceSum, "reduce_sum", 1, 1, {{"axes", K::IntList, true}}, reduce_sum, false},
      {OpKind::CrossEntropy, "cross_entropy", 2, 2, {}, cross_entropy, false},
      {OpKind::Mse, "mse", 2, 2, {}, mse, false},
      {OpKind::Scan, "scan", 1, kAny,
       {{"direction", K::Word, true},
        {"carries", K::Int, true},
        {"sequences", K::Int, true},
        {"invariants", K::Int, true},
        {"lengths", K::Flag, false},
        {"unroll", K::Int, false}},
       scan, false},
      {OpKind::Fused, "fused", 0, kAny, {}, fused, false},
      {OpKind::Return, "return", 0, kAny, {}, no_results, false},
      {OpKind::ReluMask, "relu_mask", 1, 1, {}, relu_mask, false},
      {OpKind::BroadcastLike, "broadcast_like", 2, 2, {}, broadcast_like, false},
      {OpKind::LayerNormGrad, "layer_norm_grad", 2, 3, {{"eps", K::Float, true}}, layer_norm_grad, false},
      {OpKind::SoftmaxGrad, "softmax_grad", 2, 2, {}, softmax_grad, false},
      {OpKind::CrossEntropyGrad, "cross_entropy_grad", 3, 3, {}, cross_entropy_grad, false},
      {OpKind::MseGrad, "mse_grad", 3, 3, {}, mse_grad, false},
      {OpKind::EmbeddingGrad, "embedding_grad", 2, 2, {{"vocab", K::Int, true}, {"padding_idx", K::Int, false}},
       embedding_grad, false},
      {OpKind::StepMask, "step_mask", 1, 2, {}, step_mask, false},
      {OpKind::SelectRows, "select_rows", 3, 3, {}, select_rows, false},
      {OpKind::Transpose, "transpose", 1, 1, {}, transpose, false},
  };
  return table;
}

}  // namespace

const OpInfo& op_info(OpKind kind) {
  const OpInfo& info = op_table().at(static_cast<size_t>(kind));
  RNNC_INTERNAL_CHECK(info.kind == kind) << "op table out of order at " << info.name;
  return info;
}

const char* op_name(OpKind kind) { return op_info(kind).name; }

bool op_from_name(const std::string& name, OpKind* out) {
  for (const OpInfo& info : op_table()) {
    if (name == info.name) {
      *out = info.kind;
      return true;
    }
  }
  return false;
}

bool is_unary_elementwise(OpKind k) {
  return k == OpKind::Neg || k == OpKind::Exp || k == OpKind::Log || k == OpKind::Sigmoid || k == OpKind::Tanh ||
         k == OpKind::Relu;
}

bool is_binary_elementwise(OpKind k) {
  return k == OpKind::Add || k == OpKind::Sub || k == OpKind::Mul || k == OpKind::Div;
}

bool is_fusible(OpKind k) {
  return is_unary_elementwise(k) || is_binary_elementwise(k) || k == OpKind::Constant || k == OpKind::Slice ||
         k == OpKind::Concat || k == OpKind::ReluMask || k == OpKind::BroadcastLike || k == OpKind::SelectRows;
}

std::string check_attrs(OpKind kind, const Attrs& attrs) {
  const OpInfo& info = op_info(kind);
  for (const AttrSpec& spec : info.attrs) {
    if (spec.required && !attrs.has(spec.name)) return std::string("missing attribute '") + spec.name + "'";
  }
  for (const auto& entry : attrs.values()) {
    const std::string& name = entry.first;
    if (name == "kernel") {
      if (attr_kind_of(entry.second) != AttrKind::Word) return "attribute 'kernel' must be a word";
      continue;
    }
    auto spec = std::find_if(info.attrs.begin(), info.attrs.end(), [&](const AttrSpec& s) { return name == s.name; });
    if (spec == info.attrs.end()) return "unknown attribute '" + name + "'";
    AttrKind got = attr_kind_of(entry.second);
    if (got != spec->kind) {
      return "attribute '" + name + "' must be " + with_article(attr_kind_name(spec->kind)) + ", got " +
             with_article(attr_kind_name(got));
    }
  }
  return "";
}

std::vector<TensorType> infer_types(const OpSignature& sig) {
  const OpInfo& info = op_info(sig.op);
  int n = static_cast<int>(sig.operands.size());
  RNNC_USER_CHECK(n >= info.min_operands && (info.max_operands == kAny || n <= info.max_operands))
      << info.name << ": takes "
      << (info.max_operands == info.min_operands ? counted(info.min_operands, "operand")
          : info.max_operands == kAny            ? counted(info.min_operands, "operand") + " or more"
                                                 : std::to_string(info.min_operands) + " to " +
                                                       counted(info.max_operands, "operand"))
      << ", got " << n;
  std::string problem = check_attrs(sig.op, sig.attrs);
  RNNC_USER_CHECK(problem.empty()) << info.name << ": " << problem;
  return info.infer(sig);
}

}  // namespace rnnc::ir
