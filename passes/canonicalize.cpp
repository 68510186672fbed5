// canonicalize: local simplifications that leave simpler IR for the passes after it, to a fixpoint:
//   x + 0, 0 + x, x - 0, x * 1, 1 * x  -> x          (when the result has x's type)
//   neg(neg(x))                       -> x
//   slice of the whole dimension      -> x
//   slice of a concat inside one part -> slice of that part (or the part itself)
//   concat of adjacent slices of x    -> one slice of x (or x itself)
//   broadcast_like to x's own shape   -> x;  reduce_sum over no axes -> x
//   a + b with a, b concats along one axis
//                                     -> one concat of piecewise sums over the common refinement of
//                                        their parts, where zero parts vanish: what autodiff's
//                                        zero-padded slice gradients collapse to
//   reduce_sum(slice(x)) along a kept axis -> slice(reduce_sum(x)): one sum serves every slice
//   a scan step output that is a part of another step output's concat
//                                     -> a slice of that output, outside the scan: the backward LSTM
//                                        step writes its [batch, 4H] gate gradients once, not twice
// Runs inside scan and fused bodies too.
#include <map>
#include <optional>
#include <set>

#include "ir/error.h"
#include "passes/pass.h"
#include "ir/scan_layout.h"
#include "passes/passes.h"

namespace rnnc::passes {
namespace {

using ir::Attrs;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

bool is_constant(const Function& f, Value v, double value) {
  const ir::NodeData& d = f.node(v.node);
  return d.op == OpKind::Constant && d.attrs.get_float("value") == value;
}

bool is_zero(const Function& f, Value v) { return is_constant(f, v, 0.0); }

int64_t axis_of(const Function& f, NodeId n) {
  int64_t axis = f.node(n).attrs.get_int("axis");
  int rank = f.type(Value{n, 0}).rank();
  return axis < 0 ? axis + rank : axis;
}

// A piece of a value along one axis: [start, start + size) of `source` (a whole value when the range
// is all of it).
struct Piece {
  Value source;
  int64_t start, size;
};

Value make_slice(Function& f, Value x, int64_t axis, int64_t start, int64_t size) {
  const TensorType& t = f.type(x);
  if (start == 0 && t.shape[axis].size == size) return x;
  if (f.op(x.node) == OpKind::Constant) {
    TensorType piece = t;
    piece.shape[axis] = ir::Dim::fixed(size);
    return f.add(OpKind::Constant, {}, Attrs().set("value", f.node(x.node).attrs.get_float("value")), {piece});
  }
  return f.add(OpKind::Slice, {x}, Attrs().set("axis", axis).set("start", start).set("size", size));
}

// The parts of a concat along `axis` as (value, offset, size); a non-concat is one part.
std::vector<Piece> parts_of(const Function& f, Value v, int64_t axis) {
  std::vector<Piece> parts;
  if (f.op(v.node) == OpKind::Concat && axis_of(f, v.node) == axis) {
    int64_t offset = 0;
    for (const Value& p : f.operands(v.node)) {
      int64_t size = f.type(p).shape[axis].size;
      parts.push_back({p, offset, size});
      offset += size;
    }
  } else {
    parts.push_back({v, 0, f.type(v).shape[axis].size});
  }
  return parts;
}

// The piece of `parts` covering [start, start + size), which must lie inside one part.
Value cut(Function& f, const std::vector<Piece>& parts, int64_t axis, int64_t start, int64_t size) {
  for (const Piece& p : parts) {
    if (start >= p.start && start + size <= p.start + p.size) return make_slice(f, p.source, axis, start - p.start, size);
  }
  RNNC_INTERNAL_CHECK(false) << "canonicalize: range not inside one part";
  return {};
}

std::optional<Value> add_of_concats(Function& f, NodeId n, Value a, Value b) {
  if (f.op(a.node) != OpKind::Concat || f.op(b.node) != OpKind::Concat) return std::nullopt;
  int64_t axis = axis_of(f, a.node);
  if (axis_of(f, b.node) != axis || f.type(a) != f.type(b)) return std::nullopt;
  std::vector<Piece> pa = parts_of(f, a, axis), pb = parts_of(f, b, axis);
  std::set<int64_t> cuts;
  for (const Piece& p : pa) cuts.insert(p.start);
  for (const Piece& p : pb) cuts.insert(p.start);
  cuts.insert(f.type(a).shape[axis].size);
  std::vector<Value> sums;
  for (auto it = cuts.begin(); std::next(it) != cuts.end(); ++it) {
    int64_t start = *it, size = *std::next(it) - *it;
    Value x = cut(f, pa, axis, start, size), y = cut(f, pb, axis, start, size);
    sums.push_back(is_zero(f, x) ? y : is_zero(f, y) ? x : f.add(OpKind::Add, {x, y}));
  }
  return sums.size() == 1 ? sums[0] : f.add(OpKind::Concat, sums, Attrs().set("axis", axis));
}

// One rule application at node n; the value that replaces n's result, if any.
std::optional<Value> simplify(Function& f, NodeId n) {
  OpKind op = f.op(n);
  std::vector<Value> in = f.operands(n);
  const TensorType& out = f.type(Value{n, 0});
  auto same_type = [&](Value v) { return f.type(v) == out; };
  switch (op) {
    case OpKind::Add:
      if (is_zero(f, in[1]) && same_type(in[0])) return in[0];
      if (is_zero(f, in[0]) && same_type(in[1])) return in[1];
      return add_of_concats(f, n, in[0], in[1]);
    case OpKind::Sub:
      if (is_zero(f, in[1]) && same_type(in[0])) return in[0];
      break;
    case OpKind::Mul:
      if (is_constant(f, in[1], 1.0) && same_type(in[0])) return in[0];
      if (is_constant(f, in[0], 1.0) && same_type(in[1])) return in[1];
      break;
    case OpKind::Neg:
      if (f.op(in[0].node) == OpKind::Neg) return f.operands(in[0].node)[0];
      break;
    case OpKind::BroadcastLike:
      if (same_type(in[0])) return in[0];
      break;
    case OpKind::ReduceSum: {
      const std::vector<int64_t>& axes = f.node(n).attrs.get_int_list("axes");
      if (axes.empty()) return in[0];
      if (f.op(in[0].node) != OpKind::Slice) break;
      const TensorType& xt = f.type(in[0]);
      int64_t slice_axis = axis_of(f, in[0].node);
      std::set<int64_t> reduced;
      for (int64_t a : axes) reduced.insert(a < 0 ? a + xt.rank() : a);
      if (reduced.count(slice_axis)) break;
      int64_t before = 0;
      for (int64_t a : reduced) before += a < slice_axis ? 1 : 0;
      // Copies, not references: adding nodes may move the node storage.
      const int64_t start = f.node(in[0].node).attrs.get_int("start"), size = f.node(in[0].node).attrs.get_int("size");
      const ir::Attrs sum_attrs = f.node(n).attrs;
      Value whole = f.add(OpKind::ReduceSum, {f.operands(in[0].node)[0]}, sum_attrs);
      return f.add(OpKind::Slice, {whole}, ir::Attrs().set("axis", slice_axis - before).set("start", start).set("size", size));
    }
    case OpKind::Slice: {
      int64_t axis = axis_of(f, n), start = f.node(n).attrs.get_int("start"), size = f.node(n).attrs.get_int("size");
      if (same_type(in[0])) return in[0];
      if (f.op(in[0].node) == OpKind::Concat && axis_of(f, in[0].node) == axis) {
        for (const Piece& p : parts_of(f, in[0], axis)) {
          if (start >= p.start && start + size <= p.start + p.size) return make_slice(f, p.source, axis, start - p.start, size);
        }
      }
      if (f.op(in[0].node) == OpKind::Constant) return make_slice(f, in[0], axis, start, size);
      break;
    }
    case OpKind::Concat: {
      int64_t axis = axis_of(f, n);
      // Adjacent slices of one value along this axis merge.
      std::vector<Value> merged;
      bool changed = false;
      for (const Value& v : in) {
        if (!merged.empty() && f.op(v.node) == OpKind::Slice && f.op(merged.back().node) == OpKind::Slice &&
            axis_of(f, v.node) == axis && axis_of(f, merged.back().node) == axis &&
            f.operands(v.node)[0] == f.operands(merged.back().node)[0]) {
          const Attrs& prev = f.node(merged.back().node).attrs;
          const Attrs& cur = f.node(v.node).attrs;
          if (prev.get_int("start") + prev.get_int("size") == cur.get_int("start")) {
            merged.back() = make_slice(f, f.operands(v.node)[0], axis, prev.get_int("start"),
                                       prev.get_int("size") + cur.get_int("size"));
            changed = true;
            continue;
          }
        }
        merged.push_back(v);
      }
      if (merged.size() == 1) return merged[0];
      if (changed) return f.add(OpKind::Concat, merged, Attrs().set("axis", axis));
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

// Step outputs that are parts of another step output's concat become slices of that output.
bool slice_scan_outputs(Function& f, NodeId scan) {
  ir::ScanLayout l = ir::ScanLayout::of(f, scan);
  if (l.unroll != 1) return false;
  const Function& body = *f.body(scan);
  std::vector<Value> results = body.results();
  std::map<Value, int64_t> output_of;  // body value -> first output index
  for (int64_t o = 0; o < l.outputs; ++o) output_of.emplace(results[l.body_output(o)], o);
  bool changed = false;
  for (int64_t o = 0; o < l.outputs; ++o) {
    Value part = results[l.body_output(o)];
    Value outer{scan, l.output_result(o)};
    if (f.users(outer).empty()) continue;
    for (const ir::Use& u : body.users(part)) {
      if (body.op(u.user) != OpKind::Concat) continue;
      auto whole = output_of.find(Value{u.user, 0});
      if (whole == output_of.end()) continue;
      int64_t axis = body.node(u.user).attrs.get_int("axis"), offset = 0;
      std::vector<Value> parts = body.operands(u.user);
      if (axis < 0) axis += body.type(part).rank();
      for (int k = 0; k < u.operand; ++k) offset += body.type(parts[k]).shape[axis].size;
      Value sliced = f.add(OpKind::Slice, {Value{scan, l.output_result(whole->second)}},
                           ir::Attrs().set("axis", axis + 1).set("start", offset).set("size", body.type(part).shape[axis].size));
      f.set_value_name(sliced, f.value_name(outer));
      f.replace_all_uses(outer, sliced);
      changed = true;
      break;
    }
  }
  return changed;
}

bool canonicalize_function(Function& f) {
  bool any = false;
  for (bool changed = true; changed;) {
    changed = false;
    for (NodeId n : f.topological_order()) {
      if (ir::has_body(f.op(n))) {
        changed |= canonicalize_function(*f.body(n));
        if (f.op(n) == OpKind::Scan) changed |= slice_scan_outputs(f, n);
        continue;
      }
      if (f.op(n) == OpKind::Arg || f.op(n) == OpKind::Return || f.users(Value{n, 0}).empty()) continue;
      if (std::optional<Value> v = simplify(f, n); v && *v != Value{n, 0}) {
        f.replace_all_uses(Value{n, 0}, *v);
        changed = true;
      }
    }
    if (changed) {
      eliminate_dead_code(f);
      any = true;
    }
  }
  return any;
}

class Canonicalize : public Pass {
 public:
  std::string name() const override { return "canonicalize"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) canonicalize_function(f);
  }
};

}  // namespace

PassPtr create_canonicalize() { return std::make_unique<Canonicalize>(); }

}  // namespace rnnc::passes
