// The op list of the rnnc IR: what every op means, its operands, attributes and type rule.
//
// Values are tensors (see types.h). Elementwise binary ops broadcast in one restricted way: the operand
// shapes are equal, or one is a suffix of the other (a scalar `[]`, a bias `[n]` against `[batch, n]`,
// `[batch, n]` against `[time, batch, n]`). The result has the longer shape. No size-1 stretching, which
// keeps every gradient a plain sum over leading dimensions.
//
//   arg            the function's argument number `index`; type as declared in the signature
//   param          the module parameter @name (a trainable weight); type as declared in the module
//   constant       a tensor of the given (possibly symbolic) shape filled with `value`
//   neg exp log sigmoid tanh relu
//                  unary elementwise math on a float tensor; result type = operand type
//   add sub mul div
//                  binary elementwise math, suffix broadcasting as above
//   matmul a, b    matrix product. a[..., K] · b[K, N] -> [..., N] (leading dims of a are rows);
//                  {transpose_b}: b is [N, K] (a weight stored as [out, in], as `linear` keeps it);
//                  {transpose_a}: a[L..., M], b[L..., N] -> [M, N], contracting all leading dims (the
//                  weight gradient of a hoisted projection)
//   concat a, b, … along `axis`; all other dims equal
//   slice a        `size` elements from `start` along `axis` (a static dim)
//   layer_norm x[, gamma, beta]
//                  normalise over the last dim (mean 0, variance 1, `eps` added to the variance), then
//                  scale by gamma[D] and shift by beta[D] when given
//   embedding table, ids
//                  table[V, E] gathered at integer ids[...] -> [..., E]; `padding_idx` (optional) names
//                  the row whose gradient is always zero
//   dropout x, seed
//                  training-time dropout: zero an element with probability `p`, scale the rest by
//                  1/(1-p). The mask is a pure hash of (seed, salt, element index), so every executor
//                  and the backward pass reproduce it exactly; seed is an i64[] scalar
//   softmax x      softmax over the last dim
//   reduce_sum x   sum over the dims listed in `axes`; they are removed from the shape
//   cross_entropy logits[N, C], labels[N]
//                  mean over N of -log softmax(logits)[label] -> scalar
//   mse pred, target
//                  mean of (pred - target)^2 over all elements -> scalar
//   scan           the recurrence. Operands: [lengths], carry inits…, sequences…, invariants…; attrs
//                  `direction` (forward | reverse), `carries`, `sequences`, `invariants` (the counts)
//                  and the flag `lengths`. The body is a function of (carry…, sequence step…,
//                  invariant…) returning (next carry…, step output…). Sequences are sliced along their
//                  first (time) dim, the same for all. Results: final carries, then step outputs
//                  stacked along a new leading time dim. With lengths[batch] (integers), step t only
//                  updates row b of the carries when t < lengths[b]; other rows keep their carry and get
//                  zero outputs, so each row's final carry is the one at its own last step (in both
//                  directions), as PyTorch's packed sequences give.
//                  {unroll = k} (k > 1, never with lengths): the body runs k consecutive steps. Its
//                  arguments are the carries, then k groups of sequence steps (step-major: all sequences
//                  of sub-step 0, then of sub-step 1, …), then the invariants; it yields the next carries,
//                  then k groups of step outputs. Steps past the time dimension (the last, partial
//                  chunk) read zeros and their outputs are dropped; the body masks them itself (see
//                  step_mask), as the unroll pass writes it
//   fused          a group of elementwise ops that codegen turns into one kernel. Operands bind the
//                  body's arguments one to one; the results are what the body yields. The body holds
//                  only elementwise ops, constants, slices, concats, broadcast_like and select_rows
//   return         the function's results (printed `yield` in a scan or fused body)
//
// Every op may carry `kernel = <word>`: the kernel partitioning's name for the kernel the op belongs to.
//
// Ops the passes introduce (autodiff, unrolling):
//   relu_mask x    1 where x > 0, else 0 (relu's derivative)
//   broadcast_like x, like
//                  x repeated over like's leading dims: x's shape is a suffix of like's; result has
//                  like's shape and x's element type
//   layer_norm_grad dy, x[, gamma]
//                  the gradient of layer_norm with respect to x, given the output gradient dy; `eps`
//   softmax_grad dy, y
//                  the gradient of softmax with respect to its input, given its output y
//   cross_entropy_grad dloss, logits, labels
//                  dloss[] · (softmax(logits) - onehot(labels)) / N -> [N, C]
//   mse_grad dloss, pred, target
//                  dloss[] · 2 (pred - target) / numel -> pred's type
//   embedding_grad dy, ids
//                  scatter-add of dy[..., E] into a zero [vocab, E] table at rows ids[...]; the row
//                  `padding_idx` (optional) stays zero
//   step_mask seq[, lengths]
//                  i32[time, batch]: 1 where step t is inside row b's sequence (t < lengths[b], or
//                  every step without lengths); seq is [time, batch, …]
//   transpose x    a matrix [M, N] -> [N, M] (weights laid out for codegen, see transpose-weights)
//   select_rows mask, a, b
//                  row r of a where mask[r] != 0, else row r of b; mask is an integer [batch], a and b
//                  one type with a leading batch dim
#pragma once

#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/types.h"

namespace rnnc::ir {

class Function;

enum class OpKind {
  Arg,
  Param,
  Constant,
  Neg,
  Exp,
  Log,
  Sigmoid,
  Tanh,
  Relu,
  Add,
  Sub,
  Mul,
  Div,
  MatMul,
  Concat,
  Slice,
  LayerNorm,
  Embedding,
  Dropout,
  Softmax,
  ReduceSum,
  CrossEntropy,
  Mse,
  Scan,
  Fused,
  Return,
  ReluMask,
  BroadcastLike,
  LayerNormGrad,
  SoftmaxGrad,
  CrossEntropyGrad,
  MseGrad,
  EmbeddingGrad,
  StepMask,
  SelectRows,
  Transpose,
};

// What a type rule sees: the op's attributes, its operand types, the types written down for ops that
// declare them (arg, param, constant) and the body of a scan.
struct OpSignature {
  OpKind op;
  const Attrs& attrs;
  const std::vector<TensorType>& operands;
  const std::vector<TensorType>& declared;
  const Function* body;
};

using TypeRule = std::vector<TensorType> (*)(const OpSignature&);

struct AttrSpec {
  const char* name;
  AttrKind kind;
  bool required;
};

struct OpInfo {
  OpKind kind;
  const char* name;
  int min_operands;
  int max_operands;  // -1: any number
  std::vector<AttrSpec> attrs;
  TypeRule infer;
  bool declares_type;  // arg, param, constant: the result type is written down, not inferred
};

const OpInfo& op_info(OpKind kind);
const char* op_name(OpKind kind);
bool op_from_name(const std::string& name, OpKind* out);
bool is_unary_elementwise(OpKind kind);
bool is_binary_elementwise(OpKind kind);
// Ops a fused group may hold (see `fused`).
bool is_fusible(OpKind kind);
// Ops that own a body: scan and fused.
inline bool has_body(OpKind kind) { return kind == OpKind::Scan || kind == OpKind::Fused; }

// Runs the op's type rule. Throws UserError naming the op and the shapes involved.
std::vector<TensorType> infer_types(const OpSignature& sig);

// Checks attribute names and kinds against the op's spec; returns "" or the first problem.
std::string check_attrs(OpKind kind, const Attrs& attrs);

}  // namespace rnnc::ir
