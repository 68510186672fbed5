#include "frontend/onnx/context.h"

#include <cctype>
#include <sstream>

#include "ir/error.h"

namespace rnnc::onnx_import::detail {

using runtime::Dims;

// --- values ---------------------------------------------------------------------------------------------

ir::Shape TValue::shape() const {
  switch (kind) {
    case Kind::Const: {
      ir::Shape s;
      for (int64_t d : dims) s.push_back(ir::Dim::fixed(d));
      return s;
    }
    case Kind::Fill: return fill_shape;
    case Kind::Input: return source.shape();
    case Kind::Dynamic: {
      RNNC_INTERNAL_CHECK(!pieces.empty()) << "a computed value without pieces";
      auto dim_of = [](const Piece& p, size_t k) {
        int a = p.axes[k];
        return a < 0 ? ir::Dim::fixed(1) : p.expr.type().shape.at(static_cast<size_t>(a));
      };
      ir::Shape s;
      for (size_t k = 0; k < pieces[0].axes.size(); ++k) {
        ir::Dim d = dim_of(pieces[0], k);
        if (static_cast<int>(k) == concat_axis && pieces.size() > 1) {
          int64_t total = 0;
          for (const Piece& p : pieces) {
            ir::Dim pd = dim_of(p, k);
            RNNC_USER_CHECK(!pd.is_symbolic()) << "a concatenation along a symbolic axis (" << pd.str() << ")";
            total += pd.size;
          }
          d = ir::Dim::fixed(total);
        }
        s.push_back(d);
      }
      return s;
    }
  }
  return {};
}

std::string TValue::describe() const {
  ir::TensorType t{dtype(), shape()};
  switch (kind) {
    case Kind::Const: return "constant " + t.str();
    case Kind::Fill: return "filled " + t.str();
    case Kind::Input: return "graph input " + t.str();
    case Kind::Dynamic:
      return "computed " + t.str() + (pieces.size() > 1 ? " (" + counted(static_cast<int64_t>(pieces.size()), "piece") +
                                                               " along axis " + std::to_string(concat_axis) + ")"
                                                         : "");
  }
  return "?";
}

int64_t TValue::numel() const { return runtime::num_elements(dims); }

TValue const_float(Dims dims, std::vector<double> data) {
  TValue v;
  v.kind = TValue::Kind::Const;
  v.is_float = true;
  v.dims = std::move(dims);
  v.f = std::move(data);
  RNNC_INTERNAL_CHECK(static_cast<int64_t>(v.f.size()) == v.numel()) << "const_float: data does not match the dims";
  return v;
}

TValue const_int(Dims dims, std::vector<ir::Dim> data) {
  TValue v;
  v.kind = TValue::Kind::Const;
  v.is_float = false;
  v.dims = std::move(dims);
  v.i = std::move(data);
  RNNC_INTERNAL_CHECK(static_cast<int64_t>(v.i.size()) == v.numel()) << "const_int: data does not match the dims";
  return v;
}

TValue fill_value(ir::Shape shape, double value, bool is_float) {
  TValue v;
  v.kind = TValue::Kind::Fill;
  v.is_float = is_float;
  v.fill_shape = std::move(shape);
  v.fill = value;
  return v;
}

bool splat_value(const TValue& v, double* value) {
  if (v.kind == TValue::Kind::Fill) {
    *value = v.fill;
    return true;
  }
  if (v.kind != TValue::Kind::Const || v.numel() == 0) return false;
  if (v.is_float) {
    for (double x : v.f) {
      if (x != v.f[0]) return false;
    }
    *value = v.f[0];
    return true;
  }
  for (const ir::Dim& d : v.i) {
    if (d != v.i[0]) return false;
  }
  if (v.i[0].is_symbolic()) return false;
  *value = static_cast<double>(v.i[0].size);
  return true;
}

std::vector<int64_t> static_ints(const TValue& v, const std::string& what) {
  RNNC_USER_CHECK(v.kind == TValue::Kind::Const && !v.is_float)
      << what << " must be an integer constant (an initializer, a Constant or folded shape arithmetic), got "
      << v.describe();
  std::vector<int64_t> out;
  for (const ir::Dim& d : v.i) {
    RNNC_USER_CHECK(!d.is_symbolic()) << what << " holds the symbolic size '" << d.str()
                                      << "' where a number is needed";
    out.push_back(d.size);
  }
  return out;
}

int64_t normalize_axis(int64_t axis, int rank, const std::string& what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  RNNC_USER_CHECK(a >= 0 && a < rank) << what << ": axis " << axis << " is out of range for rank " << rank;
  return a;
}

ir::Shape broadcast_shapes(const ir::Shape& a, const ir::Shape& b) {
  size_t r = std::max(a.size(), b.size());
  ir::Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    ir::Dim da = k + a.size() >= r ? a[k + a.size() - r] : ir::Dim::fixed(1);
    ir::Dim db = k + b.size() >= r ? b[k + b.size() - r] : ir::Dim::fixed(1);
    if (da == db || db == ir::Dim::fixed(1)) out[k] = da;
    else if (da == ir::Dim::fixed(1)) out[k] = db;
    else throw_user_error("shapes " + ir::shape_str(a) + " and " + ir::shape_str(b) + " do not broadcast");
  }
  return out;
}

// --- the context --------------------------------------------------------------------------------------

namespace {

// Letters, digits and `extra`; runs of anything else become one '_'; a leading '_' where the
// result would not start with a letter.
std::string sanitize(const std::string& base, const std::string& extra) {
  std::string s;
  for (char c : base) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || extra.find(c) != std::string::npos;
    char out = ok ? c : '_';
    if (out == '_' && !s.empty() && s.back() == '_') continue;
    s += out;
  }
  while (!s.empty() && (s.front() == '_' || s.front() == '.' || s.front() == '-')) s.erase(s.begin());
  while (!s.empty() && (s.back() == '_' || s.back() == '.' || s.back() == '-')) s.pop_back();
  if (s.empty()) s = "v";
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

}  // namespace

Context::Context(const onnx_io::GraphInfo& g, const ImportOptions& o, const std::string& model_name)
    : graph(g), options(o), model(sanitize(model_name, ".-")) {}

std::string Context::symbol(const std::string& param) { return sanitize(param, ""); }

std::string Context::fresh(const std::string& base) {
  const std::string s = sanitize(base, ".-");
  std::string name = s;
  for (int n = 1; used_names_.count(name); ++n) name = s + "_" + std::to_string(n);
  used_names_.insert(name);
  return name;
}

namespace {

std::string view_key(const TensorSource& s, const std::string& tag) {
  std::ostringstream k;
  k << tag << "|" << s.input << "|" << s.data.get() << "|" << s.scale << "|";
  for (const SourceAxis& a : s.axes) k << a.src << ":" << a.start << ":" << a.size << ",";
  k << "|";
  for (const auto& [axis, index] : s.fixed) k << axis << "=" << index << ",";
  return k.str();
}

}  // namespace

dsl::Expr Context::param(const TensorSource& s, const std::string& name_hint) {
  std::string key = view_key(s, "param");
  auto it = param_cache_.find(key);
  if (it != param_cache_.end()) return it->second;
  ir::Shape shape = s.shape();
  for (const ir::Dim& d : shape) {
    RNNC_USER_CHECK(!d.is_symbolic()) << s.origin << ": a weight needs a static shape, got " << ir::shape_str(shape);
  }
  std::string name = fresh(name_hint);
  dsl::Expr e = model.param(name, shape, ir::InitSpec::zeros());
  bindings.params.push_back(ParamBinding{name, s});
  param_cache_[key] = e;
  return e;
}

dsl::Expr Context::arg(const TensorSource& s, ir::DType dtype, const std::string& name_hint) {
  std::string key = view_key(s, std::string("arg") + ir::dtype_name(dtype));
  auto it = arg_cache_.find(key);
  if (it != arg_cache_.end()) return it->second;
  std::string name = fresh(s.input.empty() ? name_hint : s.input);  // named after the graph input it reads
  dsl::Expr e = model.input(name, dtype, s.shape());
  bindings.args.push_back(ArgBinding{name, dtype, s});
  arg_cache_[key] = e;
  return e;
}

TensorSource Context::const_source(const TValue& v) const {
  RNNC_INTERNAL_CHECK(v.kind == TValue::Kind::Const) << "const_source of " << v.describe();
  std::shared_ptr<HostTensor> data;
  if (v.is_float) {
    data = std::make_shared<HostTensor>(runtime::Tensor<double>(v.dims, v.f));
  } else {
    std::vector<int64_t> ints = static_ints(v, "'" + v.name + "'");
    data = std::make_shared<HostTensor>(runtime::IntTensor(v.dims, std::move(ints)));
  }
  ir::Shape shape;
  for (int64_t d : v.dims) shape.push_back(ir::Dim::fixed(d));
  return TensorSource::whole("", std::move(data), v.origin.empty() ? "constant '" + v.name + "'" : v.origin, shape);
}

TensorSource Context::source_of(const TValue& v, const std::string& role) const {
  switch (v.kind) {
    case TValue::Kind::Const: return const_source(v);
    case TValue::Kind::Input: return v.source;
    case TValue::Kind::Fill: {
      Dims dims;
      for (const ir::Dim& d : v.fill_shape) {
        RNNC_USER_CHECK(!d.is_symbolic()) << role << " must have a static shape, got " << v.describe();
        dims.push_back(d.size);
      }
      return const_source(const_float(dims, std::vector<double>(static_cast<size_t>(runtime::num_elements(dims)), v.fill)));
    }
    case TValue::Kind::Dynamic: break;
  }
  throw_user_error(role + " must be an initializer, a Constant or a graph input; '" + v.name + "' is " + v.describe());
}

dsl::Expr Context::require(const TValue& v, const std::vector<int>& order, const std::string& what) {
  const int r = v.rank();
  RNNC_INTERNAL_CHECK(static_cast<int>(order.size()) == r) << "require: order of " << order.size() << " for rank " << r;
  ir::Shape shape = v.shape(), permuted;
  for (int k : order) permuted.push_back(shape.at(static_cast<size_t>(k)));
  double s = 0;
  switch (v.kind) {
    case TValue::Kind::Input: return arg(v.source.permute(order), v.dtype(), v.name);
    case TValue::Kind::Fill: return model.constant(v.fill, permuted, v.dtype());
    case TValue::Kind::Const:
      if (splat_value(v, &s)) return model.constant(s, permuted, v.dtype());
      if (v.is_float) return param(const_source(v).permute(order), v.name);
      return arg(const_source(v).permute(order), v.dtype(), v.name);
    case TValue::Kind::Dynamic: break;
  }
  TValue m = merged(v, what);
  const Piece& p = m.pieces[0];
  bool ok = p.ir_rank() == r;
  for (int i = 0; ok && i < r; ++i) ok = p.axes[static_cast<size_t>(order[static_cast<size_t>(i)])] == i;
  if (!ok) {
    std::ostringstream msg;
    msg << what << " ('" << v.name << "', " << v.describe() << ") is needed with its ONNX axes in the order (";
    for (int i = 0; i < r; ++i) msg << (i ? ", " : "") << order[static_cast<size_t>(i)];
    msg << ") as the IR's axes, but it is computed as " << p.expr.type().str() << " holding ONNX axes (";
    for (int i = 0; i < r; ++i) msg << (i ? ", " : "") << p.axes[static_cast<size_t>(i)];
    msg << ") in IR axes (-1: not an IR axis); the IR has no op to rearrange it";
    throw_user_error(msg.str());
  }
  return p.expr;
}

TValue Context::dynamic(const TValue& v) {
  if (v.kind == TValue::Kind::Dynamic) return v;
  std::vector<int> order;
  for (int k = 0; k < v.rank(); ++k) order.push_back(k);
  if (v.kind == TValue::Kind::Input && v.source.fixed.empty()) {
    // A whole graph input feeding a recurrent node's X (through ops that keep axes): the order that
    // makes X time-major.
    auto it = input_orders.find(v.source.input);
    bool whole = it != input_orders.end() && it->second.size() == order.size();
    for (int k = 0; whole && k < v.rank(); ++k) {
      const SourceAxis& a = v.source.axes[static_cast<size_t>(k)];
      whole = a.src == k && a.start == 0 && a.size < 0;
    }
    if (whole) order = it->second;
  }
  TValue d;
  d.kind = TValue::Kind::Dynamic;
  d.is_float = v.is_float;
  d.int_dtype = v.int_dtype;
  d.name = v.name;
  std::vector<int> axes(order.size());
  for (size_t i = 0; i < order.size(); ++i) axes[static_cast<size_t>(order[i])] = static_cast<int>(i);
  d.pieces.push_back(Piece{require(v, order, "'" + v.name + "'"), axes});
  return d;
}

TValue Context::merged(const TValue& v, const std::string& what) {
  TValue d = dynamic(v);
  if (d.pieces.size() == 1) return d;
  const int c = d.concat_axis;
  const Piece& first = d.pieces[0];
  bool ok = first.axes[static_cast<size_t>(c)] >= 0;
  for (const Piece& p : d.pieces) ok = ok && p.axes == first.axes;
  if (!ok) {
    throw_user_error(what + " ('" + v.name + "', " + v.describe() + ") is needed as one IR value, but its pieces " +
                     "cannot be joined in the IR: axis " + std::to_string(c) +
                     " is not an axis of every piece's IR value (the IR cannot stack values along a new axis)");
  }
  std::vector<dsl::Expr> parts;
  for (const Piece& p : d.pieces) parts.push_back(p.expr);
  TValue out = d;
  out.pieces = {Piece{dsl::concat(parts, first.axes[static_cast<size_t>(c)]), first.axes}};
  out.concat_axis = 0;
  return out;
}

}  // namespace rnnc::onnx_import::detail
