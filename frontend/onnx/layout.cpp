#include "frontend/onnx/layout.h"

#include <algorithm>
#include <functional>
#include <sstream>

#include "ir/error.h"

namespace rnnc::onnx_import::detail {

using runtime::Dims;
using View = std::function<TensorSource(const TensorSource&)>;

namespace {

const ir::Dim kOne = ir::Dim::fixed(1);

// A view op on a value that is not computed: constants fold, filled values change shape, graph inputs
// change their view.
TValue apply_view(const TValue& v, const View& op) {
  TValue out = v;
  switch (v.kind) {
    case TValue::Kind::Input: out.source = op(v.source); return out;
    case TValue::Kind::Fill: {
      out.fill_shape = op(TensorSource::whole("", nullptr, "'" + v.name + "'", v.fill_shape)).shape();
      return out;
    }
    case TValue::Kind::Const: {
      ir::Shape shape;
      for (int64_t d : v.dims) shape.push_back(ir::Dim::fixed(d));
      std::vector<int64_t> idx = view_indices(op(TensorSource::whole("", nullptr, "'" + v.name + "'", shape)), v.dims, &out.dims);
      out.f.clear();
      out.i.clear();
      for (int64_t k : idx) {
        if (v.is_float) out.f.push_back(v.f[static_cast<size_t>(k)]);
        else out.i.push_back(v.i[static_cast<size_t>(k)]);
      }
      return out;
    }
    case TValue::Kind::Dynamic: break;
  }
  RNNC_INTERNAL_CHECK(false) << "apply_view on a computed value";
  return out;
}

// Drops ONNX axis k (of size 1) from a piece: a reduce_sum over its IR axis when it has one.
void drop_axis(Piece& p, int k) {
  int a = p.axes[static_cast<size_t>(k)];
  if (a >= 0) {
    p.expr = dsl::reduce_sum(p.expr, {a});
    for (int& x : p.axes) {
      if (x > a) --x;
    }
  }
  p.axes.erase(p.axes.begin() + k);
}

ir::Dim piece_dim(const Piece& p, int k) {
  int a = p.axes[static_cast<size_t>(k)];
  return a < 0 ? kOne : p.expr.type().shape[static_cast<size_t>(a)];
}

// Elements [start, start + size) along ONNX axis k of one piece (size -1: to the end).
void narrow_piece(Piece& p, int k, int64_t start, int64_t size) {
  ir::Dim d = piece_dim(p, k);
  if (start == 0 && (size < 0 || (!d.is_symbolic() && size == d.size))) return;
  RNNC_USER_CHECK(!d.is_symbolic()) << "a slice [" << start << ", ...) of the symbolic axis '" << d.str()
                                    << "' (the IR slices static axes only)";
  if (size < 0) size = d.size - start;
  int a = p.axes[static_cast<size_t>(k)];
  RNNC_INTERNAL_CHECK(a >= 0) << "narrow of a size-1 axis to a smaller range";
  p.expr = dsl::slice(p.expr, start, size, a);
}

std::string shape_text(const ir::Shape& s) { return ir::shape_str(s); }

}  // namespace

TValue transpose(Context& ctx, const TValue& v, const std::vector<int>& perm) {
  const int r = v.rank();
  std::vector<int> seen(static_cast<size_t>(r), 0);
  RNNC_USER_CHECK(static_cast<int>(perm.size()) == r) << "perm has " << perm.size() << " entries for rank " << r;
  for (int p : perm) {
    RNNC_USER_CHECK(p >= 0 && p < r && !seen[static_cast<size_t>(p)]++) << "perm is not a permutation of 0.." << r - 1;
  }
  if (v.kind != TValue::Kind::Dynamic) return apply_view(v, [&](const TensorSource& s) { return s.permute(perm); });
  TValue out = v;
  for (size_t p = 0; p < out.pieces.size(); ++p) {
    for (int i = 0; i < r; ++i) out.pieces[p].axes[static_cast<size_t>(i)] = v.pieces[p].axes[static_cast<size_t>(perm[static_cast<size_t>(i)])];
  }
  for (int i = 0; i < r; ++i) {
    if (perm[static_cast<size_t>(i)] == v.concat_axis) out.concat_axis = i;
  }
  return out;
}

TValue unsqueeze(Context& ctx, const TValue& v, std::vector<int64_t> axes) {
  const int r = v.rank() + static_cast<int>(axes.size());
  for (int64_t& a : axes) a = normalize_axis(a, r, "Unsqueeze");
  std::sort(axes.begin(), axes.end());
  RNNC_USER_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end()) << "Unsqueeze: an axis is listed twice";
  if (v.kind != TValue::Kind::Dynamic) {
    return apply_view(v, [&](const TensorSource& s) {
      TensorSource t = s;
      for (int64_t a : axes) t = t.unsqueeze(static_cast<int>(a));
      return t;
    });
  }
  TValue out = v;
  for (int64_t a : axes) {
    for (Piece& p : out.pieces) p.axes.insert(p.axes.begin() + a, -1);
    if (a <= out.concat_axis) ++out.concat_axis;
  }
  return out;
}

TValue squeeze(Context& ctx, const TValue& v, std::vector<int64_t> axes) {
  const ir::Shape shape = v.shape();
  const int r = static_cast<int>(shape.size());
  if (axes.empty()) {
    for (int k = 0; k < r; ++k) {
      if (shape[static_cast<size_t>(k)] == kOne) axes.push_back(k);
    }
  }
  for (int64_t& a : axes) {
    a = normalize_axis(a, r, "Squeeze");
    RNNC_USER_CHECK(shape[static_cast<size_t>(a)] == kOne)
        << "Squeeze: axis " << a << " of " << shape_text(shape) << " does not have size 1";
  }
  std::sort(axes.rbegin(), axes.rend());
  RNNC_USER_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end()) << "Squeeze: an axis is listed twice";
  if (v.kind != TValue::Kind::Dynamic) {
    return apply_view(v, [&](const TensorSource& s) {
      TensorSource t = s;
      for (int64_t a : axes) t = t.select(static_cast<int>(a), 0);
      return t;
    });
  }
  TValue out = v;
  for (int64_t a : axes) {
    for (Piece& p : out.pieces) drop_axis(p, static_cast<int>(a));
    if (a < out.concat_axis) --out.concat_axis;
  }
  return out;
}

TValue take(Context& ctx, const TValue& v, int axis, int64_t index) {
  const ir::Shape shape = v.shape();
  const ir::Dim d = shape.at(static_cast<size_t>(axis));
  if (index < 0) {
    RNNC_USER_CHECK(!d.is_symbolic()) << "index " << index << " counts from the end of the symbolic axis '" << d.str()
                                      << "'; the IR selects along static axes only";
    index += d.size;
  }
  RNNC_USER_CHECK(index >= 0 && (d.is_symbolic() || index < d.size))
      << "index " << index << " is out of range for axis " << axis << " of " << shape_text(shape);
  if (v.kind != TValue::Kind::Dynamic) return apply_view(v, [&](const TensorSource& s) { return s.select(axis, index); });
  TValue out = v;
  if (v.pieces.size() > 1 && axis == v.concat_axis) {
    for (const Piece& p : v.pieces) {
      ir::Dim pd = piece_dim(p, axis);
      if (index < pd.size) {
        out.pieces = {p};
        break;
      }
      index -= pd.size;
    }
  }
  for (Piece& p : out.pieces) {
    if (p.axes[static_cast<size_t>(axis)] >= 0 && piece_dim(p, axis) != kOne) narrow_piece(p, axis, index, 1);
    drop_axis(p, axis);
  }
  if (axis < out.concat_axis) --out.concat_axis;
  if (out.pieces.size() == 1) out.concat_axis = 0;
  return out;
}

TValue narrow(Context& ctx, const TValue& v, int axis, int64_t start, int64_t size) {
  RNNC_USER_CHECK(size != 0) << "a slice with no elements (empty tensors are not supported)";
  if (v.kind != TValue::Kind::Dynamic) {
    return apply_view(v, [&](const TensorSource& s) {
      ir::Dim d = s.shape()[static_cast<size_t>(axis)];
      if (start == 0 && (size < 0 || (!d.is_symbolic() && size == d.size))) return s;
      RNNC_USER_CHECK(!d.is_symbolic() || size >= 0) << "a slice from " << start << " to the end of the symbolic axis '"
                                                      << d.str() << "'";
      return s.narrow(axis, start, size < 0 ? d.size - start : size);
    });
  }
  TValue out = v;
  if (v.pieces.size() > 1 && axis == v.concat_axis) {
    out.pieces.clear();
    int64_t offset = 0;
    const int64_t end = size < 0 ? INT64_MAX : start + size;
    for (const Piece& p : v.pieces) {
      int64_t n = piece_dim(p, axis).size;
      int64_t lo = std::max(start, offset), hi = std::min(end, offset + n);
      if (lo < hi) {
        Piece q = p;
        narrow_piece(q, axis, lo - offset, hi - lo);
        out.pieces.push_back(q);
      }
      offset += n;
    }
    RNNC_USER_CHECK(!out.pieces.empty()) << "a slice with no elements";
    if (out.pieces.size() == 1) out.concat_axis = 0;
    return out;
  }
  for (Piece& p : out.pieces) narrow_piece(p, axis, start, size);
  return out;
}

TValue concat(Context& ctx, const std::vector<TValue>& parts, int axis) {
  RNNC_USER_CHECK(!parts.empty()) << "Concat of nothing";
  const ir::Shape first = parts[0].shape();
  const int r = static_cast<int>(first.size());
  RNNC_USER_CHECK(axis >= 0 && axis < r) << "Concat: axis " << axis << " for rank " << r;
  bool all_const = true, all_fill = true;
  double fill = 0;
  for (const TValue& p : parts) {
    ir::Shape s = p.shape();
    RNNC_USER_CHECK(static_cast<int>(s.size()) == r) << "Concat of " << shape_text(first) << " and " << shape_text(s);
    for (int k = 0; k < r; ++k) {
      RNNC_USER_CHECK(k == axis || s[static_cast<size_t>(k)] == first[static_cast<size_t>(k)])
          << "Concat along axis " << axis << " of " << shape_text(first) << " and " << shape_text(s);
    }
    RNNC_USER_CHECK(p.is_float == parts[0].is_float) << "Concat of float and integer tensors";
    all_const = all_const && p.kind == TValue::Kind::Const;
    double sv = 0;
    all_fill = all_fill && splat_value(p, &sv) && (&p == &parts[0] || sv == fill);
    if (&p == &parts[0]) fill = sv;
  }
  if (all_const) {
    TValue out = parts[0];
    out.dims[static_cast<size_t>(axis)] = 0;
    for (const TValue& p : parts) {
      if (&p != &parts[0]) out.dims[static_cast<size_t>(axis)] += p.dims[static_cast<size_t>(axis)];
    }
    out.dims[static_cast<size_t>(axis)] += parts[0].dims[static_cast<size_t>(axis)];
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= first[static_cast<size_t>(k)].size;
    for (int k = axis + 1; k < r; ++k) inner *= first[static_cast<size_t>(k)].size;
    out.f.clear();
    out.i.clear();
    for (int64_t o = 0; o < outer; ++o) {
      for (const TValue& p : parts) {
        int64_t n = p.dims[static_cast<size_t>(axis)] * inner;
        for (int64_t e = 0; e < n; ++e) {
          size_t src = static_cast<size_t>(o * n + e);
          if (p.is_float) out.f.push_back(p.f[src]);
          else out.i.push_back(p.i[src]);
        }
      }
    }
    return out;
  }
  if (all_fill) {
    ir::Shape shape = first;
    int64_t total = 0;
    for (const TValue& p : parts) {
      ir::Dim d = p.shape()[static_cast<size_t>(axis)];
      RNNC_USER_CHECK(!d.is_symbolic()) << "Concat along the symbolic axis '" << d.str() << "'";
      total += d.size;
    }
    shape[static_cast<size_t>(axis)] = ir::Dim::fixed(total);
    TValue out = fill_value(shape, fill, parts[0].is_float);
    out.int_dtype = parts[0].int_dtype;
    return out;
  }
  TValue out;
  out.kind = TValue::Kind::Dynamic;
  out.is_float = parts[0].is_float;
  out.int_dtype = parts[0].int_dtype;
  out.concat_axis = axis;
  for (const TValue& p : parts) {
    TValue d = ctx.dynamic(p);
    if (d.pieces.size() > 1 && d.concat_axis != axis) d = ctx.merged(d, "a Concat operand");
    out.pieces.insert(out.pieces.end(), d.pieces.begin(), d.pieces.end());
  }
  for (const Piece& p : out.pieces) {
    RNNC_USER_CHECK(piece_dim(p, axis).is_symbolic() == false || out.pieces.size() == 1)
        << "Concat along the symbolic axis '" << piece_dim(p, axis).str() << "'";
  }
  return out;
}

ir::Shape resolve_reshape(const ir::Shape& in, const TValue& shape, bool allowzero) {
  RNNC_USER_CHECK(shape.kind == TValue::Kind::Const && !shape.is_float && shape.dims.size() == 1)
      << "the shape must be a 1-D integer constant (or folded shape arithmetic), got " << shape.describe();
  ir::Shape out;
  int infer = -1;
  for (size_t k = 0; k < shape.i.size(); ++k) {
    ir::Dim d = shape.i[k];
    if (!d.is_symbolic() && d.size == 0 && !allowzero) {
      RNNC_USER_CHECK(k < in.size()) << "shape entry " << k << " is 0 (copy) but the input has rank " << in.size();
      d = in[k];
    } else if (!d.is_symbolic() && d.size == -1) {
      RNNC_USER_CHECK(infer < 0) << "the shape has two -1 entries";
      infer = static_cast<int>(k);
    } else {
      RNNC_USER_CHECK(d.is_symbolic() || d.size >= 0) << "shape entry " << k << " is " << d.size;
    }
    out.push_back(d);
  }
  // Static products, symbols cancelled pairwise.
  auto split = [](const ir::Shape& s, int skip, int64_t* prod, std::vector<std::string>* syms) {
    *prod = 1;
    for (size_t k = 0; k < s.size(); ++k) {
      if (static_cast<int>(k) == skip) continue;
      if (s[k].is_symbolic()) syms->push_back(s[k].symbol);
      else *prod *= s[k].size;
    }
  };
  int64_t in_prod, out_prod;
  std::vector<std::string> in_syms, out_syms;
  split(in, -1, &in_prod, &in_syms);
  split(out, infer, &out_prod, &out_syms);
  for (auto it = out_syms.begin(); it != out_syms.end();) {
    auto m = std::find(in_syms.begin(), in_syms.end(), *it);
    if (m != in_syms.end()) {
      in_syms.erase(m);
      it = out_syms.erase(it);
    } else {
      ++it;
    }
  }
  std::string why = "cannot reshape " + shape_text(in) + " to " + shape_text(out) + " (-1: inferred)";
  RNNC_USER_CHECK(out_syms.empty()) << why;
  if (infer >= 0) {
    if (in_syms.empty()) {
      RNNC_USER_CHECK(out_prod > 0 && in_prod % out_prod == 0) << why;
      out[static_cast<size_t>(infer)] = ir::Dim::fixed(in_prod / out_prod);
    } else {
      RNNC_USER_CHECK(in_syms.size() == 1 && in_prod == out_prod) << why << ": the inferred size would be a product "
                                                                  << "with a symbolic size";
      out[static_cast<size_t>(infer)] = ir::Dim::named(in_syms[0]);
    }
  } else {
    RNNC_USER_CHECK(in_syms.empty() && in_prod == out_prod) << why;
  }
  return out;
}

TValue reshape(Context& ctx, const TValue& v, const ir::Shape& target) {
  const ir::Shape in = v.shape();
  if (v.kind == TValue::Kind::Const) {
    TValue out = v;
    out.dims.clear();
    for (const ir::Dim& d : target) out.dims.push_back(d.size);
    return out;
  }
  if (v.kind == TValue::Kind::Fill) {
    TValue out = v;
    out.fill_shape = target;
    return out;
  }
  // Plan: each non-unit output axis is one input axis, or two adjacent ones merged; size-1 axes pair up
  // in order (they hold no data), the rest are dropped or inserted.
  auto unit = [](const ir::Dim& d) { return d == kOne; };
  std::vector<int> in_nu, out_nu, in_u, out_u;
  for (int k = 0; k < static_cast<int>(in.size()); ++k) (unit(in[static_cast<size_t>(k)]) ? in_u : in_nu).push_back(k);
  for (int k = 0; k < static_cast<int>(target.size()); ++k) (unit(target[static_cast<size_t>(k)]) ? out_u : out_nu).push_back(k);
  std::vector<int> from(target.size(), -1);
  int merge_a = -1, merge_b = -1, merged_out = -1;
  const std::string why = "Reshape from " + shape_text(in) + " to " + shape_text(target);
  size_t i = 0, j = 0;
  while (i < in_nu.size() && j < out_nu.size()) {
    const ir::Dim& din = in[static_cast<size_t>(in_nu[i])];
    const ir::Dim& dout = target[static_cast<size_t>(out_nu[j])];
    if (din == dout) {
      from[static_cast<size_t>(out_nu[j++])] = in_nu[i++];
      continue;
    }
    bool can_merge = merge_a < 0 && i + 1 < in_nu.size() && !din.is_symbolic() && !dout.is_symbolic() &&
                     !in[static_cast<size_t>(in_nu[i + 1])].is_symbolic() &&
                     din.size * in[static_cast<size_t>(in_nu[i + 1])].size == dout.size;
    RNNC_USER_CHECK(can_merge) << why << ": splits an axis or merges more than two (the IR has no reshape)";
    merge_a = in_nu[i];
    merge_b = in_nu[i + 1];
    merged_out = out_nu[j];
    from[static_cast<size_t>(out_nu[j++])] = merge_b;
    i += 2;
  }
  RNNC_USER_CHECK(i == in_nu.size() && j == out_nu.size()) << why << ": the sizes do not line up";
  std::vector<int> dropped;
  for (size_t k = 0; k < in_u.size(); ++k) {
    if (k < out_u.size()) from[static_cast<size_t>(out_u[k])] = in_u[k];
    else dropped.push_back(in_u[k]);
  }

  TValue src = v;
  if (merge_a >= 0) {
    // Only a concatenation axis whose pieces each hold one slice can merge with the next axis: the
    // merge is then a concatenation in the IR (LSTM's Y [seq, batch, dirs, hidden] -> [seq, batch, dirs * hidden]).
    src = ctx.dynamic(v);
    bool ok = src.pieces.size() > 1 && src.concat_axis == merge_a;
    for (const Piece& p : src.pieces) {
      ok = ok && p.axes[static_cast<size_t>(merge_a)] < 0 && p.axes[static_cast<size_t>(merge_b)] >= 0 &&
           p.axes == src.pieces[0].axes;
    }
    RNNC_USER_CHECK(ok) << why << " merges axes " << merge_a << " and " << merge_b << " of " << v.describe()
                        << ", which the IR cannot express (it merges only a concatenation of per-slice pieces)";
    std::vector<dsl::Expr> parts;
    for (const Piece& p : src.pieces) parts.push_back(p.expr);
    Piece joined{dsl::concat(parts, src.pieces[0].axes[static_cast<size_t>(merge_b)]), src.pieces[0].axes};
    src.pieces = {joined};
    src.concat_axis = 0;
    dropped.push_back(merge_a);
    (void)merged_out;
  }
  std::sort(dropped.rbegin(), dropped.rend());

  if (src.kind == TValue::Kind::Input) {
    return apply_view(src, [&](const TensorSource& s) {
      TensorSource t = s;
      std::vector<int> index(in.size(), -1);  // input axis -> axis after the drops
      for (int d : dropped) t = t.select(d, 0);
      for (int k = 0, n = 0; k < static_cast<int>(in.size()); ++k) {
        if (std::find(dropped.begin(), dropped.end(), k) == dropped.end()) index[static_cast<size_t>(k)] = n++;
      }
      std::vector<int> perm;
      for (int f : from) {
        if (f >= 0) perm.push_back(index[static_cast<size_t>(f)]);
      }
      t = t.permute(perm);
      for (int k = 0; k < static_cast<int>(from.size()); ++k) {
        if (from[static_cast<size_t>(k)] < 0) t = t.unsqueeze(k);
      }
      return t;
    });
  }
  TValue out = src;
  for (Piece& p : out.pieces) {
    Piece q = p;
    std::vector<int> old_axes = p.axes;
    for (int d : dropped) {
      int a = q.axes[static_cast<size_t>(d)];
      q.axes[static_cast<size_t>(d)] = -1;
      if (a >= 0) {
        q.expr = dsl::reduce_sum(q.expr, {a});
        for (int& x : q.axes) {
          if (x > a) --x;
        }
      }
    }
    Piece r{q.expr, {}};
    for (int f : from) r.axes.push_back(f >= 0 ? q.axes[static_cast<size_t>(f)] : -1);
    p = r;
  }
  if (out.pieces.size() > 1) {
    auto it = std::find(from.begin(), from.end(), src.concat_axis);
    RNNC_INTERNAL_CHECK(it != from.end()) << why << ": the concatenation axis went missing";
    out.concat_axis = static_cast<int>(it - from.begin());
  } else {
    out.concat_axis = 0;
  }
  return out;
}

TValue expand(Context& ctx, const TValue& v, const ir::Shape& shape) {
  const ir::Shape in = v.shape();
  ir::Shape result = broadcast_shapes(in, shape);
  if (result == in) return v;
  double s = 0;
  if (splat_value(v, &s)) {
    TValue out = fill_value(result, s, v.is_float);
    out.int_dtype = v.int_dtype;
    out.name = v.name;
    return out;
  }
  if (v.kind == TValue::Kind::Const) {
    Dims dims;
    for (const ir::Dim& d : result) {
      RNNC_USER_CHECK(!d.is_symbolic()) << "Expand of a constant to the symbolic shape " << shape_text(result);
      dims.push_back(d.size);
    }
    TValue out = v;
    out.dims = dims;
    out.f.clear();
    out.i.clear();
    const size_t off = dims.size() - v.dims.size();
    int64_t n = runtime::num_elements(dims);
    Dims idx(dims.size(), 0);
    for (int64_t e = 0; e < n; ++e) {
      int64_t src = 0;
      for (size_t k = 0; k < v.dims.size(); ++k) src = src * v.dims[k] + (v.dims[k] == 1 ? 0 : idx[k + off]);
      if (v.is_float) out.f.push_back(v.f[static_cast<size_t>(src)]);
      else out.i.push_back(v.i[static_cast<size_t>(src)]);
      for (size_t k = dims.size(); k-- > 0;) {
        if (++idx[k] < dims[k]) break;
        idx[k] = 0;
      }
    }
    return out;
  }
  throw_user_error("Expand of " + v.describe() + " to " + shape_text(result) +
                   " (only constants and filled tensors expand; the IR has no broadcast to a larger shape)");
}

TValue cast(Context& ctx, const TValue& v, bool to_float, ir::DType int_dtype) {
  TValue out = v;
  out.is_float = to_float;
  if (!to_float) out.int_dtype = int_dtype;
  if (v.is_float == to_float) return out;
  switch (v.kind) {
    case TValue::Kind::Const:
      if (to_float) {
        out.f.clear();
        for (int64_t x : static_ints(v, "Cast of '" + v.name + "'")) out.f.push_back(static_cast<double>(x));
        out.i.clear();
      } else {
        out.i.clear();
        for (double x : v.f) out.i.push_back(ir::Dim::fixed(static_cast<int64_t>(x)));
        out.f.clear();
      }
      return out;
    case TValue::Kind::Fill:
      if (!to_float) out.fill = static_cast<double>(static_cast<int64_t>(v.fill));
      return out;
    case TValue::Kind::Input: return out;  // the binding converts
    case TValue::Kind::Dynamic: break;
  }
  throw_user_error(std::string("Cast of ") + v.describe() + " to " + (to_float ? "float" : "integer") +
                   " (the IR has no conversion between float and integer tensors)");
}

}  // namespace rnnc::onnx_import::detail
