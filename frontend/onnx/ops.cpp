#include "frontend/onnx/ops.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "frontend/onnx/layout.h"
#include "frontend/onnx/onnx_cells.h"
#include "frontend/onnx/recurrent.h"
#include "ir/error.h"

namespace rnnc::onnx_import::detail {

using onnx_io::NodeInfo;
using runtime::Dims;

namespace {

// --- node access ----------------------------------------------------------------------------------------

const TValue* opt_input(Context& ctx, size_t k) {
  const std::string name = ctx.node->input(k);
  if (name.empty()) return nullptr;
  auto it = ctx.values.find(name);
  RNNC_USER_CHECK(it != ctx.values.end()) << "input " << k << " ('" << name
                                          << "') is not a graph input, an initializer or an earlier node's output";
  return &it->second;
}

const TValue& input(Context& ctx, size_t k) {
  const TValue* v = opt_input(ctx, k);
  RNNC_USER_CHECK(v) << "input " << k << " is required";
  return *v;
}

void set_output(Context& ctx, size_t k, TValue v) {
  const std::string name = ctx.node->output(k);
  if (name.empty()) return;
  v.name = name;
  ctx.values[name] = std::move(v);
}

// Attributes the lowering reads; any other is a UserError (it would change the result unnoticed).
void check_attributes(const NodeInfo& node, std::initializer_list<const char*> allowed) {
  for (const auto& [name, attr] : node.attributes) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || name == a;
    RNNC_USER_CHECK(ok) << "attribute '" << name << "' of " << node.op_type << " is not supported";
  }
}

void check_arity(const NodeInfo& node, size_t min_in, size_t max_in, size_t max_out = 1) {
  RNNC_USER_CHECK(node.inputs.size() >= min_in && node.inputs.size() <= max_in)
      << node.op_type << " takes " << min_in << (max_in != min_in ? " to " + std::to_string(max_in) : "")
      << " inputs, got " << node.inputs.size();
  RNNC_USER_CHECK(!node.outputs.empty() && node.outputs.size() <= max_out)
      << node.op_type << " gives " << max_out << " output" << (max_out > 1 ? "s at most" : "") << ", the node names "
      << node.outputs.size();
}

int64_t opset(const Context& ctx) { return ctx.graph.opset; }

// A TensorProto value (Constant, ConstantOfShape) as a Const.
TValue from_tensor(const onnx_io::TensorFile& f) {
  Dims dims = f.dims();
  if (f.is_float()) {
    const auto& t = std::get<runtime::Tensor<float>>(f.value);
    return const_float(dims, std::vector<double>(t.data.begin(), t.data.end()));
  }
  const auto& t = std::get<runtime::IntTensor>(f.value);
  std::vector<ir::Dim> data;
  for (int64_t x : t.data) data.push_back(ir::Dim::fixed(x));
  TValue v = const_int(dims, std::move(data));
  v.int_dtype = f.data_type == static_cast<int32_t>(onnx_io::DataType::Int32) ? ir::DType::I32 : ir::DType::I64;
  return v;
}

std::vector<int64_t> ints_input_or_attr(Context& ctx, size_t k, const char* attr, bool* given) {
  const NodeInfo& n = *ctx.node;
  *given = true;
  if (n.has(attr)) return n.get_ints(attr);
  if (const TValue* v = opt_input(ctx, k)) return static_ints(*v, std::string("input '") + attr + "'");
  *given = false;
  return {};
}

// --- elementwise math -------------------------------------------------------------------------------------

double fold_binary(ir::OpKind op, double a, double b) {
  switch (op) {
    case ir::OpKind::Add: return a + b;
    case ir::OpKind::Sub: return a - b;
    case ir::OpKind::Mul: return a * b;
    case ir::OpKind::Div: return a / b;
    default: break;
  }
  RNNC_INTERNAL_CHECK(false) << "fold_binary: " << ir::op_name(op);
  return 0;
}

// Integer arithmetic on sizes: static sizes compute; a symbolic size survives + 0, - 0, * 1 and / 1.
ir::Dim fold_dim(ir::OpKind op, const ir::Dim& a, const ir::Dim& b) {
  if (!a.is_symbolic() && !b.is_symbolic()) {
    if (op == ir::OpKind::Div) {
      RNNC_USER_CHECK(b.size != 0) << "integer division by zero";
      return ir::Dim::fixed(a.size / b.size);
    }
    return ir::Dim::fixed(static_cast<int64_t>(fold_binary(op, static_cast<double>(a.size), static_cast<double>(b.size))));
  }
  const ir::Dim zero = ir::Dim::fixed(0), one = ir::Dim::fixed(1);
  if ((op == ir::OpKind::Add || op == ir::OpKind::Sub) && b == zero) return a;
  if (op == ir::OpKind::Add && a == zero) return b;
  if ((op == ir::OpKind::Mul || op == ir::OpKind::Div) && b == one) return a;
  if (op == ir::OpKind::Mul && a == one) return b;
  throw_user_error(std::string("integer ") + ir::op_name(op) + " of the sizes " + a.str() + " and " + b.str() +
                   " (arithmetic on a symbolic size is not supported)");
}

TValue fold_binary_const(ir::OpKind op, const TValue& a, const TValue& b) {
  ir::Shape rs = broadcast_shapes(a.shape(), b.shape());
  Dims dims;
  for (const ir::Dim& d : rs) dims.push_back(d.size);
  const int64_t n = runtime::num_elements(dims);
  auto src_index = [&](const TValue& v, const Dims& idx) {
    int64_t off = 0;
    size_t shift = dims.size() - v.dims.size();
    for (size_t k = 0; k < v.dims.size(); ++k) off = off * v.dims[k] + (v.dims[k] == 1 ? 0 : idx[k + shift]);
    return static_cast<size_t>(off);
  };
  std::vector<double> f;
  std::vector<ir::Dim> i;
  Dims idx(dims.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    size_t ia = src_index(a, idx), ib = src_index(b, idx);
    if (a.is_float) f.push_back(fold_binary(op, a.f[ia], b.f[ib]));
    else i.push_back(fold_dim(op, a.i[ia], b.i[ib]));
    for (size_t k = dims.size(); k-- > 0;) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  TValue out = a.is_float ? const_float(dims, f) : const_int(dims, i);
  out.int_dtype = a.int_dtype;
  return out;
}

// An operand that is not computed, laid out to meet a computed piece `p` of the (rank-R) result under
// the IR's broadcasting (equal shapes, or one a suffix of the other): its axes that broadcast are
// taken at index 0, the rest ordered as p's trailing IR axes.
dsl::Expr materialize_like(Context& ctx, const TValue& o, const Piece& p, int R) {
  TensorSource view = o.kind == TValue::Kind::Fill ? TensorSource::whole("", nullptr, "'" + o.name + "'", o.fill_shape)
                                                   : ctx.source_of(o, "'" + o.name + "'");
  const ir::Shape os = view.shape();
  const int offset = R - static_cast<int>(os.size());
  std::vector<std::pair<int, int>> kept;  // (IR axis of p, axis of o)
  std::vector<int> drop;
  for (int k = 0; k < static_cast<int>(os.size()); ++k) {
    int a = p.axes[static_cast<size_t>(k + offset)];
    ir::Dim pd = a < 0 ? ir::Dim::fixed(1) : p.expr.type().shape[static_cast<size_t>(a)];
    if (a < 0 || (os[static_cast<size_t>(k)] == ir::Dim::fixed(1) && pd != ir::Dim::fixed(1))) drop.push_back(k);
    else kept.push_back({a, k});
  }
  std::sort(kept.begin(), kept.end());
  const int rb = p.ir_rank(), n = static_cast<int>(kept.size());
  for (int j = 0; j < n; ++j) {
    RNNC_USER_CHECK(kept[static_cast<size_t>(j)].first == rb - n + j)
        << "'" << o.name << "' (" << o.describe() << ") broadcasts against " << p.expr.type().str()
        << " along axes that are not its trailing IR axes (the IR broadcasts over leading axes only)";
  }
  for (auto it = drop.rbegin(); it != drop.rend(); ++it) view = view.select(*it, 0);
  std::vector<int> perm;  // o's remaining axes, in p's IR order
  for (const auto& [a, k] : kept) {
    int before = 0;
    for (int d : drop) before += d < k ? 1 : 0;
    perm.push_back(k - before);
  }
  view = view.permute(perm);
  switch (o.kind) {
    case TValue::Kind::Fill: return ctx.model.constant(o.fill, view.shape(), o.dtype());
    case TValue::Kind::Const:
      if (o.is_float) return ctx.param(view, o.name);
      return ctx.arg(view, o.dtype(), o.name);
    case TValue::Kind::Input: return ctx.arg(view, o.dtype(), o.name);
    case TValue::Kind::Dynamic: break;
  }
  RNNC_INTERNAL_CHECK(false) << "materialize_like of a computed value";
  return {};
}

// small's IR axes must be big's trailing IR axes, in order, with equal sizes.
void check_aligned(const Piece& big, const Piece& small, int R, int small_rank) {
  const int rb = big.ir_rank(), rs = small.ir_rank();
  bool ok = rs <= rb;
  for (int k = 0; ok && k < small_rank; ++k) {
    int as = small.axes[static_cast<size_t>(k)];
    if (as < 0) continue;
    int ab = big.axes[static_cast<size_t>(k + R - small_rank)];
    ok = ab == rb - rs + as && small.expr.type().shape[static_cast<size_t>(as)] == big.expr.type().shape[static_cast<size_t>(ab)];
  }
  RNNC_USER_CHECK(ok) << "operands held as " << big.expr.type().str() << " and " << small.expr.type().str()
                      << " do not line up under the IR's broadcasting (equal shapes, or one a suffix of the other)";
}

TValue binary(Context& ctx, ir::OpKind op, const TValue& a, const TValue& b) {
  RNNC_USER_CHECK(a.is_float == b.is_float) << ir::op_name(op) << " of a float and an integer tensor";
  const ir::Shape R = broadcast_shapes(a.shape(), b.shape());
  if (a.kind == TValue::Kind::Const && b.kind == TValue::Kind::Const) return fold_binary_const(op, a, b);
  double sa = 0, sb = 0;
  const bool a_splat = splat_value(a, &sa), b_splat = splat_value(b, &sb);
  if (a_splat && b_splat) {
    TValue out = fill_value(R, a.is_float ? fold_binary(op, sa, sb) : fold_dim(op, ir::Dim::fixed(static_cast<int64_t>(sa)), ir::Dim::fixed(static_cast<int64_t>(sb))).size, a.is_float);
    out.int_dtype = a.int_dtype;
    return out;
  }
  // The operand that has the result's shape carries the layout; a computed one is preferred.
  const bool a_full = a.shape() == R, b_full = b.shape() == R;
  RNNC_USER_CHECK(a_full || b_full) << "shapes " << ir::shape_str(a.shape()) << " and " << ir::shape_str(b.shape())
                                    << " broadcast in both directions (the IR broadcasts one operand into the other)";
  const bool big_is_a = a_full && (a.kind == TValue::Kind::Dynamic || !b_full || b.kind != TValue::Kind::Dynamic);
  TValue big = ctx.dynamic(big_is_a ? a : b);
  const TValue& small = big_is_a ? b : a;
  const int Rr = static_cast<int>(R.size());
  auto apply = [&](const dsl::Expr& bx, const dsl::Expr& sx) {
    return big_is_a ? ctx.model.add(op, {bx, sx}) : ctx.model.add(op, {sx, bx});
  };
  double s = 0;
  TValue out = big;
  if (splat_value(small, &s)) {
    dsl::Expr c = ctx.model.constant(s, {}, small.dtype());
    for (Piece& p : out.pieces) p.expr = apply(p.expr, c);
    return out;
  }
  if (small.kind != TValue::Kind::Dynamic) {
    // Per piece of big; small narrowed to the piece's range along big's concatenation axis.
    int64_t offset = 0;
    const int small_axis = big.concat_axis - (Rr - small.rank());
    for (Piece& p : out.pieces) {
      TValue part = small;
      ir::Dim pd = p.axes[static_cast<size_t>(big.concat_axis)] < 0 ? ir::Dim::fixed(1)
                   : p.expr.type().shape[static_cast<size_t>(p.axes[static_cast<size_t>(big.concat_axis)])];
      if (big.pieces.size() > 1 && small_axis >= 0 && small.shape()[static_cast<size_t>(small_axis)] != ir::Dim::fixed(1)) {
        part = narrow(ctx, small, small_axis, offset, pd.size);
      }
      offset += pd.is_symbolic() ? 0 : pd.size;
      p.expr = apply(p.expr, materialize_like(ctx, part, p, Rr));
    }
    return out;
  }
  TValue sm = ctx.merged(small, "an operand of " + std::string(ir::op_name(op)));
  if (big.pieces.size() > 1) {
    const int small_axis = big.concat_axis - (Rr - sm.rank());
    if (small_axis >= 0 && sm.shape()[static_cast<size_t>(small_axis)] != ir::Dim::fixed(1)) {
      big = ctx.merged(big, "an operand of " + std::string(ir::op_name(op)));
      out = big;
    }
  }
  for (Piece& p : out.pieces) {
    check_aligned(p, sm.pieces[0], Rr, sm.rank());
    p.expr = apply(p.expr, sm.pieces[0].expr);
  }
  return out;
}

using ExprFn = std::function<dsl::Expr(const dsl::Expr&)>;
using FoldFn = std::function<double(double)>;

TValue unary(Context& ctx, const TValue& v, const ExprFn& fn, const FoldFn& fold) {
  RNNC_USER_CHECK(v.is_float) << ctx.node->op_type << " of an integer tensor";
  if (v.kind == TValue::Kind::Const) {
    TValue out = v;
    for (double& x : out.f) x = fold(x);
    return out;
  }
  if (v.kind == TValue::Kind::Fill) {
    TValue out = v;
    out.fill = fold(v.fill);
    return out;
  }
  TValue out = ctx.dynamic(v);
  for (Piece& p : out.pieces) p.expr = fn(p.expr);
  return out;
}

// A piece whose ONNX axis `axis` is its last IR axis, for ops that work along the last dim.
TValue last_axis_pieces(Context& ctx, const TValue& v, int axis, const std::string& what) {
  TValue d = ctx.dynamic(v);
  if (d.pieces.size() > 1 && d.concat_axis == axis) d = ctx.merged(d, what);
  for (const Piece& p : d.pieces) {
    RNNC_USER_CHECK(p.axes[static_cast<size_t>(axis)] == p.ir_rank() - 1)
        << what << " works along ONNX axis " << axis << ", which is not the last axis of its IR value "
        << p.expr.type().str() << " (the IR has no op to move it there)";
  }
  return d;
}

TValue matmul(Context& ctx, const TValue& a, const TValue& b, bool transpose_b, double scale, const std::string& what) {
  RNNC_USER_CHECK(a.is_float && b.is_float) << what << " of integer tensors";
  RNNC_USER_CHECK(b.kind != TValue::Kind::Dynamic)
      << what << ": the right operand ('" << b.name << "', " << b.describe()
      << ") must be an initializer, a Constant or a graph input (a computed right operand is not supported)";
  RNNC_USER_CHECK(b.rank() == 2) << what << ": the right operand must be a matrix, it is " << b.describe();
  RNNC_USER_CHECK(a.kind != TValue::Kind::Const && a.kind != TValue::Kind::Fill)
      << what << " of two constants is not supported";
  RNNC_USER_CHECK(a.rank() >= 1) << what << " of a scalar";
  const ir::Shape as = a.shape(), bs = b.shape();
  const ir::Dim K = bs[transpose_b ? 1 : 0];
  RNNC_USER_CHECK(as.back() == K) << what << ": inner sizes differ: " << ir::shape_str(as) << " and " << ir::shape_str(bs)
                                  << (transpose_b ? " (transposed)" : "");
  dsl::Expr w = ctx.param(ctx.source_of(b, "the right operand").scaled(scale), b.name);
  TValue out = last_axis_pieces(ctx, a, a.rank() - 1, what);
  for (Piece& p : out.pieces) p.expr = dsl::matmul(p.expr, w, transpose_b);
  return out;
}

// --- the ops --------------------------------------------------------------------------------------------

using Lowering = void (*)(Context&);

void lower_identity(Context& ctx) {
  check_attributes(*ctx.node, {});
  check_arity(*ctx.node, 1, 1);
  set_output(ctx, 0, input(ctx, 0));
}

void lower_dropout(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"ratio", "seed", "is_test"});
  check_arity(n, 1, 3, 2);
  RNNC_USER_CHECK(n.output(1).empty()) << "Dropout's mask output ('" << n.output(1) << "') is not supported";
  if (const TValue* training = opt_input(ctx, 2)) {
    double t = 0;
    RNNC_USER_CHECK(splat_value(*training, &t) && t == 0) << "Dropout in training mode is not supported (inference only)";
  }
  set_output(ctx, 0, input(ctx, 0));  // inference: the identity
}

void lower_cast(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"to", "saturate"});
  check_arity(n, 1, 1);
  using DT = onnx_io::DataType;
  int64_t to = n.get_int("to");
  bool to_float = to == static_cast<int64_t>(DT::Float) || to == static_cast<int64_t>(DT::Double) || to == 10 /* FLOAT16 */;
  bool to_int = to == static_cast<int64_t>(DT::Int32) || to == static_cast<int64_t>(DT::Int64);
  RNNC_USER_CHECK(to_float || to_int) << "Cast to " << onnx_io::data_type_name(static_cast<int32_t>(to))
                                      << " (supported: FLOAT, DOUBLE, FLOAT16 as float; INT32, INT64)";
  set_output(ctx, 0, cast(ctx, input(ctx, 0), to_float, to == static_cast<int64_t>(DT::Int32) ? ir::DType::I32 : ir::DType::I64));
}

void lower_constant(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_arity(n, 0, 0);
  RNNC_USER_CHECK(n.attributes.size() == 1) << "Constant needs exactly one attribute, it has " << n.attributes.size();
  const onnx_io::Attribute& a = n.attributes.begin()->second;
  const std::string& name = a.name;
  TValue v;
  if (name == "value" && a.kind == onnx_io::Attribute::Kind::Tensor) v = from_tensor(*a.tensor);
  else if (name == "value_float") v = const_float({}, {n.get_float(name)});
  else if (name == "value_floats") {
    std::vector<float> f = n.get_floats(name);
    v = const_float({static_cast<int64_t>(f.size())}, std::vector<double>(f.begin(), f.end()));
  } else if (name == "value_int") v = const_int({}, {ir::Dim::fixed(n.get_int(name))});
  else if (name == "value_ints") {
    std::vector<ir::Dim> d;
    for (int64_t x : n.get_ints(name)) d.push_back(ir::Dim::fixed(x));
    v = const_int({static_cast<int64_t>(d.size())}, d);
  } else {
    throw_user_error("Constant attribute '" + name + "' (" + onnx_io::attribute_kind_name(a.kind) +
                     ") is not supported (value, value_float(s), value_int(s) are)");
  }
  set_output(ctx, 0, v);
}

void lower_constant_of_shape(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"value"});
  check_arity(n, 1, 1);
  const TValue& s = input(ctx, 0);
  RNNC_USER_CHECK(s.kind == TValue::Kind::Const && !s.is_float && s.dims.size() == 1)
      << "the shape must be a 1-D integer constant (or folded shape arithmetic), got " << s.describe();
  double value = 0;
  bool is_float = true;
  ir::DType dt = ir::DType::I64;
  if (n.has("value")) {
    const onnx_io::Attribute& a = n.attributes.at("value");
    RNNC_USER_CHECK(a.kind == onnx_io::Attribute::Kind::Tensor) << "attribute 'value' must be a tensor";
    TValue t = from_tensor(*a.tensor);
    RNNC_USER_CHECK(t.numel() == 1) << "attribute 'value' must hold one element";
    is_float = t.is_float;
    dt = t.int_dtype;
    splat_value(t, &value);
  }
  TValue out = fill_value(ir::Shape(s.i.begin(), s.i.end()), value, is_float);
  out.int_dtype = dt;
  set_output(ctx, 0, out);
}

void lower_shape(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"start", "end"});
  check_arity(n, 1, 1);
  ir::Shape s = input(ctx, 0).shape();
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t start = n.get_int("start", 0), end = n.get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  std::vector<ir::Dim> dims(s.begin() + start, s.begin() + end);
  set_output(ctx, 0, const_int({static_cast<int64_t>(dims.size())}, dims));
}

void lower_gather(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"axis"});
  check_arity(n, 2, 2);
  const TValue& data = input(ctx, 0);
  const TValue& indices = input(ctx, 1);
  RNNC_USER_CHECK(!indices.is_float) << "Gather indices must be integers";
  const int axis = static_cast<int>(normalize_axis(n.get_int("axis", 0), data.rank(), "Gather"));
  if (indices.kind != TValue::Kind::Const) {
    // A lookup table: nn.Embedding.
    RNNC_USER_CHECK(data.kind != TValue::Kind::Dynamic && data.is_float && data.rank() == 2 && axis == 0)
        << "Gather with computed indices is supported as an embedding lookup only (a float [vocab, dim] "
        << "initializer or graph input along axis 0), here data is " << data.describe() << " along axis " << axis;
    dsl::Expr table = ctx.param(ctx.source_of(data, "the embedding table"), data.name);
    TValue ids = ctx.merged(indices, "the indices");
    TValue out = ids;
    out.is_float = true;
    for (Piece& p : out.pieces) {
      int r = p.ir_rank();
      p.expr = ctx.model.add(ir::OpKind::Embedding, {table, p.expr});
      p.axes.push_back(r);
    }
    set_output(ctx, 0, out);
    return;
  }
  const ir::Shape ds = data.shape();
  std::vector<int64_t> idx = static_ints(indices, "the indices");
  if (data.kind == TValue::Kind::Const) {
    // Any indices: out = data[:axis] + indices.shape + data[axis+1:].
    const int64_t dim = data.dims[static_cast<size_t>(axis)];
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= data.dims[static_cast<size_t>(k)];
    for (size_t k = static_cast<size_t>(axis) + 1; k < data.dims.size(); ++k) inner *= data.dims[k];
    TValue out = data;
    out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
    out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
    out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
    out.f.clear();
    out.i.clear();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j : idx) {
        if (j < 0) j += dim;
        RNNC_USER_CHECK(j >= 0 && j < dim) << "Gather index " << j << " out of range for size " << dim;
        for (int64_t e = 0; e < inner; ++e) {
          size_t src = static_cast<size_t>((o * dim + j) * inner + e);
          if (data.is_float) out.f.push_back(data.f[src]);
          else out.i.push_back(data.i[src]);
        }
      }
    }
    set_output(ctx, 0, out);
    return;
  }
  RNNC_USER_CHECK(indices.numel() == 1 && indices.dims.size() <= 1)
      << "Gather of " << data.describe() << " with " << indices.numel()
      << " indices (only a single index is supported on a tensor that is not constant)";
  TValue out = take(ctx, data, axis, idx[0]);
  if (indices.dims.size() == 1) out = unsqueeze(ctx, out, {axis});
  set_output(ctx, 0, out);
}

void lower_slice(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  const TValue& data = input(ctx, 0);
  std::vector<int64_t> starts, ends, axes, steps;
  bool given = false;
  if (n.has("starts")) {
    check_attributes(n, {"starts", "ends", "axes"});
    check_arity(n, 1, 1);
    starts = n.get_ints("starts");
    ends = n.get_ints("ends");
    if (n.has("axes")) axes = n.get_ints("axes");
  } else {
    check_attributes(n, {});
    check_arity(n, 3, 5);
    starts = static_ints(input(ctx, 1), "starts");
    ends = static_ints(input(ctx, 2), "ends");
    axes = ints_input_or_attr(ctx, 3, "axes", &given);
    steps = ints_input_or_attr(ctx, 4, "steps", &given);
  }
  const int r = data.rank();
  if (axes.empty()) {
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  }
  RNNC_USER_CHECK(starts.size() == ends.size() && axes.size() == starts.size() && (steps.empty() || steps.size() == starts.size()))
      << "starts, ends, axes and steps differ in length";
  TValue out = data;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int axis = static_cast<int>(normalize_axis(axes[k], r, "Slice"));
    RNNC_USER_CHECK(steps.empty() || steps[k] == 1) << "Slice with step " << steps[k] << " (only step 1 is supported)";
    const ir::Dim d = out.shape()[static_cast<size_t>(axis)];
    int64_t start = starts[k], end = ends[k];
    const int64_t big = int64_t{1} << 62;
    if (d.is_symbolic()) {
      RNNC_USER_CHECK(start == 0 && end >= big) << "Slice [" << start << ", " << end << ") of the symbolic axis '" << d.str()
                                                << "' (only the whole axis can be taken)";
      continue;
    }
    if (start < 0) start += d.size;
    if (end < 0) end += d.size;
    start = std::clamp<int64_t>(start, 0, d.size);
    end = std::clamp<int64_t>(end, 0, d.size);
    RNNC_USER_CHECK(end > start) << "Slice [" << starts[k] << ", " << ends[k] << ") along axis " << axis
                                 << " is empty (empty tensors are not supported)";
    out = narrow(ctx, out, axis, start, end - start);
  }
  set_output(ctx, 0, out);
}

void lower_squeeze_unsqueeze(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  const bool un = n.op_type == "Unsqueeze";
  check_attributes(n, {"axes"});
  check_arity(n, 1, 2);
  bool given = false;
  std::vector<int64_t> axes = ints_input_or_attr(ctx, 1, "axes", &given);
  RNNC_USER_CHECK(!un || given) << "Unsqueeze needs axes";
  const TValue& v = input(ctx, 0);
  set_output(ctx, 0, un ? unsqueeze(ctx, v, axes) : squeeze(ctx, v, axes));
}

void lower_concat(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"axis"});
  check_arity(n, 1, 1u << 20);
  std::vector<TValue> parts;
  for (size_t k = 0; k < n.inputs.size(); ++k) parts.push_back(input(ctx, k));
  const int axis = static_cast<int>(normalize_axis(n.get_int("axis"), parts[0].rank(), "Concat"));
  set_output(ctx, 0, parts.size() == 1 ? parts[0] : concat(ctx, parts, axis));
}

void lower_transpose(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"perm"});
  check_arity(n, 1, 1);
  const TValue& v = input(ctx, 0);
  std::vector<int> perm;
  if (n.has("perm")) {
    for (int64_t p : n.get_ints("perm")) perm.push_back(static_cast<int>(p));
  } else {
    for (int k = v.rank() - 1; k >= 0; --k) perm.push_back(k);
  }
  set_output(ctx, 0, transpose(ctx, v, perm));
}

void lower_reshape(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"allowzero"});
  check_arity(n, 2, 2);
  const TValue& v = input(ctx, 0);
  ir::Shape target = resolve_reshape(v.shape(), input(ctx, 1), n.get_int("allowzero", 0) != 0);
  set_output(ctx, 0, reshape(ctx, v, target));
}

void lower_flatten(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"axis"});
  check_arity(n, 1, 1);
  const TValue& v = input(ctx, 0);
  const ir::Shape s = v.shape();
  int64_t axis = n.get_int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  RNNC_USER_CHECK(axis >= 0 && axis <= static_cast<int64_t>(s.size())) << "Flatten axis " << axis;
  auto product = [&](size_t lo, size_t hi) {
    int64_t p = 1;
    std::optional<ir::Dim> sym;
    for (size_t k = lo; k < hi; ++k) {
      if (!s[k].is_symbolic()) p *= s[k].size;
      else if (!sym) sym = s[k];
      else throw_user_error("Flatten of " + ir::shape_str(s) + " multiplies two symbolic sizes");
    }
    if (sym) {
      RNNC_USER_CHECK(p == 1) << "Flatten of " << ir::shape_str(s) << " multiplies a symbolic size";
      return *sym;
    }
    return ir::Dim::fixed(p);
  };
  ir::Shape target{product(0, static_cast<size_t>(axis)), product(static_cast<size_t>(axis), s.size())};
  set_output(ctx, 0, reshape(ctx, v, target));
}

void lower_expand(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {});
  check_arity(n, 2, 2);
  const TValue& s = input(ctx, 1);
  RNNC_USER_CHECK(s.kind == TValue::Kind::Const && !s.is_float && s.dims.size() == 1)
      << "the shape must be a 1-D integer constant (or folded shape arithmetic), got " << s.describe();
  set_output(ctx, 0, expand(ctx, input(ctx, 0), ir::Shape(s.i.begin(), s.i.end())));
}

void lower_binary(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {});
  check_arity(n, 2, 2);
  static const std::map<std::string, ir::OpKind> ops{
      {"Add", ir::OpKind::Add}, {"Sub", ir::OpKind::Sub}, {"Mul", ir::OpKind::Mul}, {"Div", ir::OpKind::Div}};
  set_output(ctx, 0, binary(ctx, ops.at(n.op_type), input(ctx, 0), input(ctx, 1)));
}

void lower_unary(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_arity(n, 1, 1);
  const std::string& op = n.op_type;
  if (op == "Neg" || op == "Relu" || op == "Tanh" || op == "Sigmoid" || op == "Exp" || op == "Log" || op == "Abs" ||
      op == "Softsign" || op == "Softplus") {
    check_attributes(n, {});
  } else {
    check_attributes(n, {"alpha", "beta"});
  }
  ExprFn fn;
  FoldFn fold;
  if (op == "Neg") {
    fn = [](const dsl::Expr& x) { return -x; };
    fold = [](double x) { return -x; };
  } else if (op == "Exp") {
    fn = [](const dsl::Expr& x) { return dsl::exp(x); };
    fold = [](double x) { return std::exp(x); };
  } else if (op == "Log") {
    fn = [](const dsl::Expr& x) { return dsl::log(x); };
    fold = [](double x) { return std::log(x); };
  } else if (op == "Abs") {
    fn = [](const dsl::Expr& x) { return absolute(x); };
    fold = [](double x) { return std::fabs(x); };
  } else {
    // The activation functions, shared with the recurrent cells (alpha/beta: the operator's defaults).
    Activation a{op, 0, 0};
    if (op == "LeakyRelu") a.alpha = n.get_float("alpha", 0.01f);
    if (op == "Elu" || op == "ThresholdedRelu") a.alpha = n.get_float("alpha", 1.0f);
    if (op == "HardSigmoid") {
      a.alpha = n.get_float("alpha", 0.2f);
      a.beta = n.get_float("beta", 0.5f);
    }
    fn = [a](const dsl::Expr& x) { return apply_activation(a, x); };
    fold = [op](double) -> double { throw_user_error(op + " of a constant is not folded"); };
  }
  set_output(ctx, 0, unary(ctx, input(ctx, 0), fn, fold));
}

void lower_clip(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"min", "max"});
  check_arity(n, 1, 3);
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  if (n.has("min")) lo = n.get_float("min");
  if (n.has("max")) hi = n.get_float("max");
  if (const TValue* v = opt_input(ctx, 1)) {
    RNNC_USER_CHECK(v->kind == TValue::Kind::Const && splat_value(*v, &lo)) << "Clip's min must be a constant";
  }
  if (const TValue* v = opt_input(ctx, 2)) {
    RNNC_USER_CHECK(v->kind == TValue::Kind::Const && splat_value(*v, &hi)) << "Clip's max must be a constant";
  }
  set_output(ctx, 0, unary(ctx, input(ctx, 0), [lo, hi](const dsl::Expr& x) { return clip(x, lo, hi); },
                           [lo, hi](double x) { return std::min(std::max(x, lo), hi); }));
}

void lower_softmax(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"axis"});
  check_arity(n, 1, 1);
  const TValue& v = input(ctx, 0);
  const int r = v.rank();
  const int axis = static_cast<int>(normalize_axis(n.get_int("axis", opset(ctx) >= 13 ? -1 : 1), r, n.op_type));
  RNNC_USER_CHECK(axis == r - 1) << n.op_type << " along axis " << axis << " of rank " << r
                                 << " (the IR's softmax works along the last axis)";
  TValue out = last_axis_pieces(ctx, v, axis, n.op_type);
  for (Piece& p : out.pieces) {
    p.expr = dsl::softmax(p.expr);
    if (n.op_type == "LogSoftmax") p.expr = dsl::log(p.expr);
  }
  set_output(ctx, 0, out);
}

void lower_matmul(Context& ctx) {
  check_attributes(*ctx.node, {});
  check_arity(*ctx.node, 2, 2);
  set_output(ctx, 0, matmul(ctx, input(ctx, 0), input(ctx, 1), false, 1.0, "MatMul"));
}

void lower_gemm(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  check_attributes(n, {"alpha", "beta", "transA", "transB"});
  check_arity(n, 2, 3);
  TValue a = input(ctx, 0);
  RNNC_USER_CHECK(a.rank() == 2 && input(ctx, 1).rank() == 2) << "Gemm needs matrices";
  if (n.get_int("transA", 0) != 0) a = transpose(ctx, a, {1, 0});
  TValue y = matmul(ctx, a, input(ctx, 1), n.get_int("transB", 0) != 0, n.get_float("alpha", 1.0f), "Gemm");
  const double beta = n.get_float("beta", 1.0f);
  if (const TValue* c = opt_input(ctx, 2); c && beta != 0) {
    TValue bias = *c;
    if (beta != 1) bias = binary(ctx, ir::OpKind::Mul, bias, const_float({}, {beta}));
    bias.name = c->name;
    y = binary(ctx, ir::OpKind::Add, y, bias);
  }
  set_output(ctx, 0, y);
}

const std::map<std::string, Lowering>& lowerings() {
  static const std::map<std::string, Lowering> table{
      {"Identity", lower_identity},
      {"Dropout", lower_dropout},
      {"Cast", lower_cast},
      {"Constant", lower_constant},
      {"ConstantOfShape", lower_constant_of_shape},
      {"Shape", lower_shape},
      {"Gather", lower_gather},
      {"Slice", lower_slice},
      {"Squeeze", lower_squeeze_unsqueeze},
      {"Unsqueeze", lower_squeeze_unsqueeze},
      {"Concat", lower_concat},
      {"Transpose", lower_transpose},
      {"Reshape", lower_reshape},
      {"Flatten", lower_flatten},
      {"Expand", lower_expand},
      {"Add", lower_binary},
      {"Sub", lower_binary},
      {"Mul", lower_binary},
      {"Div", lower_binary},
      {"Neg", lower_unary},
      {"Abs", lower_unary},
      {"Exp", lower_unary},
      {"Log", lower_unary},
      {"Relu", lower_unary},
      {"Tanh", lower_unary},
      {"Sigmoid", lower_unary},
      {"LeakyRelu", lower_unary},
      {"ThresholdedRelu", lower_unary},
      {"HardSigmoid", lower_unary},
      {"Elu", lower_unary},
      {"Softsign", lower_unary},
      {"Softplus", lower_unary},
      {"Clip", lower_clip},
      {"Softmax", lower_softmax},
      {"LogSoftmax", lower_softmax},
      {"MatMul", lower_matmul},
      {"Gemm", lower_gemm},
      {"RNN", lower_recurrent},
      {"LSTM", lower_recurrent},
      {"GRU", lower_recurrent},
  };
  return table;
}

}  // namespace

std::vector<std::string> supported_ops() {
  std::vector<std::string> out;
  for (const auto& [name, fn] : lowerings()) out.push_back(name);
  return out;
}

void lower_node(Context& ctx) {
  const NodeInfo& n = *ctx.node;
  RNNC_USER_CHECK(n.domain.empty() || n.domain == "ai.onnx")
      << "op " << n.op_type << " of domain '" << n.domain << "' is not supported (only the default ONNX domain is)";
  auto it = lowerings().find(n.op_type);
  if (it == lowerings().end()) {
    std::string known;
    for (const std::string& s : supported_ops()) known += " " + s;
    throw_user_error("unsupported op type '" + n.op_type + "' (supported:" + known + ")");
  }
  it->second(ctx);
}

}  // namespace rnnc::onnx_import::detail
