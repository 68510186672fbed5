#include "codegen/lower.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "ir/error.h"
#include "runtime/dropout_mask.h"
#include "runtime/weight_panels.h"

namespace rnnc::codegen {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;
using ir::NodeId;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

Halide::Type halide_type(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::F32: return Halide::Float(32);
    case ir::DType::F64: return Halide::Float(64);
    case ir::DType::I32: return Halide::Int(32);
    case ir::DType::I64: return Halide::Int(64);
  }
  return Halide::Float(32);
}

namespace {

// n / d; with LowerOptions::fast_reciprocals, n times Halide's fast_inverse of d.
Expr divide(Expr n, Expr d, bool fast) { return fast ? n * Halide::fast_inverse(d) : n / d; }

// tanh through exp: Halide 14 lowers tanh() to scalar libm calls, which do not vectorise. Near zero the
// Taylor series avoids the cancellation in (1 - e) / (1 + e).
Expr vector_tanh(Expr x, bool fast_reciprocal) {
  Expr ax = Halide::abs(x);
  Expr e = Halide::exp(-2 * ax);
  Expr t = divide(1 - e, 1 + e, fast_reciprocal);
  Expr x2 = x * x;
  Expr series = x * (1 - x2 * (Halide::Internal::make_const(x.type(), 1.0 / 3.0) - x2 * Halide::Internal::make_const(x.type(), 2.0 / 15.0)));
  return Halide::select(ax < Halide::Internal::make_const(x.type(), 0.05), series, Halide::select(x < 0, -t, t));
}

Expr vector_sigmoid(Expr x, bool fast_reciprocal) { return divide(1, 1 + Halide::exp(-x), fast_reciprocal); }

// Whether a product of these static extents is blocked on the CPU (FuncRoles::MatMul::blocked).
bool blocked_product(int64_t k_extent, int64_t n_extent) {
  // Measured on this 2-core EPYC (512 KiB L2, 32 MiB shared L3; docs/performance.md): blocking wins 2x
  // at H 1024 (16 MiB of weights) and loses 15-40 % at H 256-512 (1-4 MiB), where the plain tiles'
  // panels still come from L3 quickly enough.
  constexpr int64_t kBlockedWeightBytes = 8 << 20;
  return k_extent > 0 && n_extent > 0 && k_extent * n_extent * 4 > kBlockedWeightBytes;
}

class Lowerer {
 public:
  Lowerer(const runtime::KernelSpec& spec, const LowerOptions& options) : spec_(spec), f_(*spec.function), options_(options) {
    // Not "v<N>": Halide names its own implicit Vars that way.
    for (int i = 0; i < 8; ++i) vars_.push_back(Var("d" + std::to_string(i)));
  }

  LoweredKernel run() {
    LoweredKernel out;
    out.name = spec_.name;
    out.step = spec_.step;
    out.single_threaded = spec_.row_separable;
    // Inputs: one buffer each; their dims tell the symbolic extents.
    for (size_t i = 0; i < spec_.inputs.size(); ++i) {
      const TensorType& t = f_.type(spec_.inputs[i]);
      const bool panels = options_.weight_panels && spec_.panel_input(i);
      // A lowering that reuses another's arguments (GPU copies) reads them as that one declared them.
      RNNC_INTERNAL_CHECK(!panels || !options_.arguments_from) << "codegen " << spec_.name << ": weight panels with shared arguments";
      Halide::ImageParam p = panels                  ? panel_param(t, i)
                             : options_.arguments_from ? options_.arguments_from->input_params.at(i)
                                                       : Halide::ImageParam(halide_type(t.dtype), t.rank(), "in" + std::to_string(i));
      Func wrap("input" + std::to_string(i) + options_.name_suffix);
      if (panels) {
        // [K, N] read from its panels (runtime/weight_panels.h): element (n, k) at (n % 64, k, n / 64).
        const int width = runtime::kPanelColumns;
        wrap(vars_[0], vars_[1]) = p(vars_[0] % width, vars_[1], vars_[0] / width);
        panel_inputs_.insert(spec_.inputs[i]);
      } else {
        for (int h = 0; h < t.rank(); ++h) {
          const ir::Dim& d = t.shape[t.rank() - 1 - h];
          if (d.is_symbolic() && !extents_.count(d.symbol)) extents_[d.symbol] = p.dim(h).extent();
        }
        if (options_.dense_static_inputs && !options_.arguments_from) declare_dense(p, t);
        wrap(vars(t.rank())) = p(in_bounds(p, args(vars(t.rank())), &t));
      }
      values_[spec_.inputs[i]] = wrap;
      out.arguments.push_back(p);
      inputs_.push_back(p);
    }
    if (spec_.masked) {
      if (options_.arguments_from) {
        lengths_ = options_.arguments_from->lengths_param;
        step_ = options_.arguments_from->step_param;
      } else {
        lengths_ = Halide::ImageParam(Halide::Int(32), 1, "lengths");
        step_ = Halide::Param<int32_t>("t");
      }
      out.arguments.push_back(*lengths_);
      out.arguments.push_back(*step_);
      if (!extents_.count("batch")) extents_["batch"] = lengths_->dim(0).extent();
    }
    preassign_outputs();
    if (spec_.step && !spec_.outputs.empty()) {
      const TensorType& first = f_.type(spec_.outputs[0]);
      if (first.rank() >= 1 && first.shape[0].is_symbolic()) rows_ = first.shape[0];
    }
    std::map<Value, int> uses = count_uses(f_, spec_.nodes, spec_.outputs);
    // Constants belong to no kernel (nor are they inputs): each is lowered here where a node of this
    // kernel reads it. (A scan unrolled after fuse-elementwise masks its steps' outputs with zeros
    // outside the fused groups.)
    for (NodeId n : spec_.nodes) {
      for (const Value& v : f_.operands(n)) {
        if (f_.op(v.node) == OpKind::Constant && !values_.count(v)) lower(f_, v.node, values_);
      }
    }
    for (NodeId n : spec_.nodes) {
      lower(f_, n, values_);
      if (f_.op(n) == OpKind::Fused) {
        // A fused group's result read twice (a step's h', both next carry and output) is computed once.
        for (int r = 0; r < static_cast<int>(f_.node(n).types.size()); ++r) {
          auto it = uses.find(Value{n, r});
          Func result = values_.at(Value{n, r});
          if (it != uses.end() && it->second >= 2 && !is_output(result)) roles_.shared.push_back(result);
        }
      } else if (f_.node(n).types.size() == 1) {
        note_sharing(f_, n, values_.at(Value{n, 0}), uses);
      }
    }
    for (size_t i = 0; i < spec_.outputs.size(); ++i) {
      Value v = spec_.outputs[i];
      const TensorType& t = f_.type(v);
      auto pre = output_funcs_.find(i);
      if (pre != output_funcs_.end() && pre->second.defined()) {
        // The op wrote its result straight into this output (preassign_outputs).
        out.outputs.push_back(pre->second);
        std::vector<int64_t> statics;
        for (int h = 0; h < t.rank(); ++h) {
          const ir::Dim& d = t.shape[t.rank() - 1 - h];
          statics.push_back(d.is_symbolic() ? -1 : d.size);
        }
        out.output_static_extents.push_back(statics);
        continue;
      }
      Func o("output" + std::to_string(i) + options_.name_suffix);
      std::vector<Var> vs = vars(t.rank());
      Expr value = at(values_, v, args(vs));
      if (spec_.masked) {
        // Finished rows (t >= lengths[b]) keep their carry and output zero.
        Expr active = *step_ < (*lengths_)(in_bounds(*lengths_, {Expr(vs.back())}));
        Expr previous = i < static_cast<size_t>(spec_.carries) ? at(values_, spec_.inputs[i], args(vs))
                                                                : Halide::cast(value.type(), 0);
        value = Halide::select(active, value, previous);
      }
      o(vs) = value;
      out.outputs.push_back(o);
      // An output that is a product itself gets the product's tiling (no copy through a root buffer).
      if (!spec_.masked && f_.op(v.node) == OpKind::MatMul) {
        auto it = matmul_of_.find(values_.at(v).name());
        if (it != matmul_of_.end() && !roles_.matmuls[it->second].output.defined() &&
            !roles_.matmuls[it->second].transposed_result) {
          roles_.matmuls[it->second].output = o;
        }
      }
      std::vector<int64_t> statics;
      for (int h = 0; h < t.rank(); ++h) {
        const ir::Dim& d = t.shape[t.rank() - 1 - h];
        statics.push_back(d.is_symbolic() ? -1 : d.size);
      }
      out.output_static_extents.push_back(statics);
    }
    out.roles = roles_;
    out.input_params = inputs_;
    if (lengths_) out.lengths_param = *lengths_;
    if (step_) out.step_param = *step_;
    note_row_funcs(out);
    return out;
  }

 private:
  using ValueMap = std::map<Value, Func>;

  std::vector<Var> vars(int rank) const { return std::vector<Var>(vars_.begin(), vars_.begin() + rank); }

  // Input i, weights [K, N] (static), as the executor passes them on the CPU: panels, Halide dims
  // (64, K, N / 64), dense.
  Halide::ImageParam panel_param(const TensorType& t, size_t i) const {
    Halide::ImageParam p(halide_type(t.dtype), 3, "in" + std::to_string(i));
    const int width = runtime::kPanelColumns, k = static_cast<int>(t.shape[0].size);
    p.dim(0).set_bounds(0, width);
    p.dim(1).set_bounds(0, k).set_stride(width);
    p.dim(2).set_bounds(0, static_cast<int>(t.shape[1].size) / width).set_stride(width * k);
    return p;
  }
  // LowerOptions::dense_static_inputs: an input is declared dense as far out as its shape is static
  // from the innermost dim (a weight whole; a [T, B, H] sequence's dims H and B), so that those strides
  // are constants (Halide asserts them when the kernel is called) and a reduction's loads are constant
  // offsets from one pointer.
  static void declare_dense(Halide::ImageParam& p, const TensorType& t) {
    int64_t stride = 1;
    for (int h = 0; h < t.rank(); ++h) {
      const ir::Dim& d = t.shape[t.rank() - 1 - h];
      if (d.is_symbolic() || d.size <= 0) break;
      p.dim(h).set_stride(static_cast<int>(stride));
      stride *= d.size;
      if (h + 1 < t.rank()) p.dim(h + 1).set_stride(static_cast<int>(stride));
    }
  }
  static std::vector<Expr> args(const std::vector<Var>& vs) { return std::vector<Expr>(vs.begin(), vs.end()); }

  Expr at(const ValueMap& m, Value v, const std::vector<Expr>& idx) {
    auto it = m.find(v);
    RNNC_INTERNAL_CHECK(it != m.end()) << "codegen " << spec_.name << ": value of node " << v.node << " not lowered";
    Func f = it->second;
    return f(idx);
  }

  // An operand of a reduction at `idx`. For a kernel input read with clamp_inputs, the coordinates marked
  // `exact` (a reduction variable over the dim's whole extent: always inside the buffer, which Halide's
  // bounds check asserts) are not clamped: a weight gradient's loop over the batch clamped its row
  // against both operands' runtime bounds at every step, ~20 integer instructions per 16 multiply-adds.
  Expr operand_at(const ir::Function& f, const ValueMap& m, Value v, const std::vector<Expr>& idx,
                  const std::vector<bool>& exact) {
    const std::optional<size_t> i = &f == &f_ ? input_index(v) : std::nullopt;
    if (!options_.clamp_inputs || !i || panel_inputs_.count(v)) return at(m, v, idx);
    const TensorType& t = f.type(v);
    const Halide::ImageParam& p = inputs_.at(*i);
    std::vector<Expr> coords = in_bounds(p, idx, &t);
    for (size_t h = 0; h < coords.size(); ++h) {
      if (exact[h]) coords[h] = idx[h];
    }
    return p(coords);
  }

  Expr extent(const ir::Dim& d) {
    if (!d.is_symbolic()) return Expr(static_cast<int>(d.size));
    auto it = extents_.find(d.symbol);
    RNNC_USER_CHECK(it != extents_.end())
        << "codegen " << spec_.name << ": no input of the kernel carries the extent of dimension '" << d.symbol << "'";
    return it->second;
  }

  // The extent of Halide dim h of an IR type.
  Expr extent(const TensorType& t, int h) { return extent(t.shape[t.rank() - 1 - h]); }

  // How often the kernel reads each value of f: by its ops, and as a result (of the kernel or a body).
  std::map<Value, int> count_uses(const ir::Function& f, const std::vector<NodeId>& nodes, const std::vector<Value>& results) {
    std::map<Value, int> uses;
    for (NodeId n : nodes) {
      // A select-chain concat evaluates every part at every element; one built part by part reads
      // each part once, so its parts can stay inline in their copy loops.
      const OpKind op = f.op(n);
      const bool every_part = op == OpKind::Concat && !concat_by_parts(f, n);
      // A row-wise op reads its operands in several passes (row sums, then the result): an operand
      // that other ops make is computed once, not again in every pass. Inlined, a layer-norm LSTM's
      // inference step computed c_t, and with it three gate activations, in each of its norm's three
      // passes (kernel_bench infer forward_scan0_step 32 stream: 39 -> 32.5 us). And where a norm's
      // width is not a multiple of the vector width, its row sums run across rows, the last vector
      // predicated and compiled apart: inlined activations there rounded differently in that vector,
      // and a row's bits depended on where a call's rows began (seen at hidden 7 in a trial that had
      // the backward step recompute c_t; CodegenRowStealing compares the bits).
      const bool row_passes = op == OpKind::LayerNorm || op == OpKind::LayerNormGrad || op == OpKind::Softmax ||
                          op == OpKind::SoftmaxGrad || op == OpKind::CrossEntropy || op == OpKind::CrossEntropyGrad;
      for (const Value& v : f.operands(n)) uses[v] += every_part || row_passes ? 2 : 1;
    }
    for (const Value& v : results) ++uses[v];
    return uses;
  }

  // An elementwise op (or a layer norm, or its gradient) whose value is a kernel output computes straight
  // into the output Func (readers inside the kernel read it from there), saving a copy loop per output
  // (a layer-norm LSTM's backward step copied both of its [rows, 4H] results: 12 % of its samples). Only
  // for unmasked kernels: a masked output differs from the value the step's other ops read.
  void preassign_outputs() {
    if (spec_.masked) return;
    std::set<Value> seen;
    for (size_t i = 0; i < spec_.outputs.size(); ++i) {
      Value v = spec_.outputs[i];
      if (!seen.insert(v).second) continue;
      const ir::Function* fn = &f_;
      Value target = v;
      if (f_.op(v.node) == OpKind::Fused) {
        fn = f_.body(v.node);
        target = fn->results()[v.result];
      }
      OpKind op = fn->op(target.node);
      bool direct = ir::is_unary_elementwise(op) || ir::is_binary_elementwise(op) || op == OpKind::Concat ||
                    op == OpKind::Slice || op == OpKind::Dropout || op == OpKind::SelectRows ||
                    op == OpKind::BroadcastLike || op == OpKind::ReluMask || op == OpKind::Embedding ||
                    op == OpKind::LayerNorm || op == OpKind::LayerNormGrad;
      if (!direct) continue;
      Func o("output" + std::to_string(i) + options_.name_suffix);
      output_funcs_[i] = o;
      preassigned_[{fn, target}] = o;
      output_names_.insert(o.name());
    }
  }

  // The Func a node's result is built in: its output Func when preassigned, a fresh one otherwise.
  Func result_func(const ir::Function& f, NodeId n) {
    auto it = preassigned_.find({&f, Value{n, 0}});
    if (it != preassigned_.end()) return it->second;
    return Func(op_func_name(f, n));
  }

  bool is_output(const Func& f) const { return output_names_.count(f.name()) > 0; }

  // Is this concat built part by part (along the innermost dim, LowerOptions::concat_by_parts)? Not
  // with slice_products, whose gate-major concat reads every part. Both the lowering and the use count
  // ask here, so that a part counted as read once is indeed read once.
  bool concat_by_parts(const ir::Function& f, NodeId n) const {
    if (!options_.concat_by_parts || options_.slice_products) return false;
    int64_t axis = f.node(n).attrs.get_int("axis");
    const int rank = f.node(n).types[0].rank();
    return axis == rank - 1 || axis == -1;
  }

  // A step's Funcs whose outermost IR dim is its rows (the dim the executor slices: the outputs'
  // first), noted as lower() makes them (fused bodies' values too); a product's accumulation goes with
  // its result.
  void note_row_funcs(LoweredKernel& out) const {
    out.row_funcs = row_funcs_;
    for (const FuncRoles::MatMul& mm : roles_.matmuls) {
      if (row_funcs_.count(mm.tiles.name())) out.row_funcs.insert(mm.func.name());
    }
  }

  // Whether a value of type t has the step's rows as its outermost dim.
  bool has_rows(const TensorType& t) const { return rows_ && t.rank() >= 1 && t.shape[0] == *rows_; }

  // A statistic of each row of a value of type `x` (summed along its last dim, keeping the others): a
  // reduction, and a row Func where x has the step's rows besides the dim summed.
  void add_row_statistic(const Func& stat, const TensorType& x) {
    roles_.reductions.push_back(stat);
    if (has_rows(x) && x.rank() >= 2) row_funcs_.insert(stat.name());
  }

  void note_sharing(const ir::Function& f, NodeId n, const Func& r, const std::map<Value, int>& uses) {
    if (is_output(r)) return;
    OpKind op = f.op(n);
    // Cheap index remaps stay inline; ops already computed at root by their own schedule are skipped (a
    // concat built part by part, the only concat with update definitions, is one: FuncRoles::concats).
    if (op == OpKind::Constant || op == OpKind::Slice || op == OpKind::BroadcastLike || op == OpKind::Fused ||
        op == OpKind::MatMul || op == OpKind::ReduceSum || op == OpKind::Transpose || op == OpKind::EmbeddingGrad ||
        (op == OpKind::Concat && r.has_update_definition())) {
      return;
    }
    auto it = uses.find(Value{n, 0});
    if (it != uses.end() && it->second >= 2 && f.node(n).types.size() == 1) roles_.shared.push_back(r);
  }

  void lower(const ir::Function& f, NodeId n, ValueMap& m) {
    const ir::NodeData& d = f.node(n);
    const ir::Attrs& a = d.attrs;
    std::vector<Value> in = f.operands(n);
    const TensorType& out = d.types.empty() ? TensorType{} : d.types[0];
    const int R = out.rank();
    std::vector<Var> v = vars(R);
    std::vector<Expr> idx = args(v);
    Halide::Type type = halide_type(out.dtype);
    Func r = result_func(f, n);
    auto x = [&](size_t i, const std::vector<Expr>& index) { return at(m, in[i], index); };
    // An operand of lower rank is broadcast along the leading (outer) dims: it takes the inner indices.
    auto bx = [&](size_t i) {
      int rank = f.type(in[i]).rank();
      return x(i, std::vector<Expr>(idx.begin(), idx.begin() + rank));
    };
    switch (d.op) {
      case OpKind::Constant: r(v) = Halide::Internal::make_const(type, a.get_float("value")); break;
      case OpKind::Neg: r(v) = -bx(0); break;
      case OpKind::Exp: r(v) = Halide::exp(bx(0)); break;
      case OpKind::Log: r(v) = Halide::log(bx(0)); break;
      case OpKind::Sigmoid: r(v) = vector_sigmoid(bx(0), options_.fast_reciprocals); break;
      case OpKind::Tanh: r(v) = vector_tanh(bx(0), options_.fast_reciprocals); break;
      case OpKind::Relu: r(v) = Halide::max(bx(0), Halide::cast(type, 0)); break;
      case OpKind::ReluMask: r(v) = Halide::select(bx(0) > 0, Halide::cast(type, 1), Halide::cast(type, 0)); break;
      case OpKind::Add: r(v) = bx(0) + bx(1); break;
      case OpKind::Sub: r(v) = bx(0) - bx(1); break;
      case OpKind::Mul: r(v) = bx(0) * bx(1); break;
      case OpKind::Div: r(v) = bx(0) / bx(1); break;
      case OpKind::BroadcastLike: r(v) = bx(0); break;
      case OpKind::Transpose:
        r(v) = x(0, {idx[1], idx[0]});
        roles_.roots.push_back(r);
        break;
      case OpKind::MatMul: r = matmul(f, n, in, m); break;
      case OpKind::Concat: {
        int64_t axis = a.get_int("axis");
        if (axis < 0) axis += R;
        int h = R - 1 - static_cast<int>(axis);
        std::vector<std::pair<int64_t, int64_t>> parts;  // offset, size
        int64_t offset = 0;
        for (const Value& p : in) {
          int64_t size = f.type(p).shape[axis].size;
          parts.push_back({offset, size});
          offset += size;
        }
        if (std::optional<Expr> gates = gate_major_concat(parts, h, idx, x)) {
          r(v) = *gates;
          break;
        }
        if (concat_by_parts(f, n)) {
          // One dense update per part. The select chain below, vectorised along the concatenated dim,
          // reads every part at a clamped index, which Halide cannot prove dense: four gathers per
          // vector of a backward LSTM step's gate gradients [dI dF dG dO]. The parts cover the result,
          // so the pure definition stores nothing (a zero fill cost a 64 KiB memset per such step).
          r(v) = Halide::undef(type);
          FuncRoles::Concat role{r, {}};
          for (size_t i = 0; i < in.size(); ++i) {
            RDom part(0, static_cast<int>(parts[i].second));
            std::vector<Expr> to = idx, from = idx;
            to[0] = part.x + static_cast<int>(parts[i].first);
            from[0] = part.x;
            r(to) = x(i, from);
            role.parts.push_back(part);
          }
          roles_.concats.push_back(role);
          break;
        }
        Expr e;
        for (size_t i = in.size(); i-- > 0;) {
          std::vector<Expr> j = idx;
          j[h] = Halide::clamp(idx[h] - static_cast<int>(parts[i].first), 0, static_cast<int>(parts[i].second) - 1);
          Expr part = x(i, j);
          e = e.defined() ? Halide::select(idx[h] < static_cast<int>(parts[i].first + parts[i].second), part, e) : part;
        }
        r(v) = e;
        break;
      }
      case OpKind::Slice: {
        int64_t axis = a.get_int("axis");
        if (axis < 0) axis += R;
        if (options_.slice_products && axis == R - 1) {
          if (std::optional<Expr> gate = gate_slice(m.at(in[0]), a.get_int("start"), out.shape.back(), idx)) {
            r(v) = *gate;
            break;
          }
        }
        std::vector<Expr> j = idx;
        j[R - 1 - axis] = idx[R - 1 - axis] + static_cast<int>(a.get_int("start"));
        r(v) = x(0, j);
        break;
      }
      case OpKind::LayerNorm:
      case OpKind::LayerNormGrad: r = layer_norm(f, n, in, m); break;
      case OpKind::Embedding: {
        const TensorType& table = f.type(in[0]);
        Expr rows = static_cast<int>(table.shape[0].size);
        std::vector<Expr> id_idx(idx.begin() + 1, idx.end());
        Expr id = Halide::clamp(Halide::cast<int>(x(1, id_idx)), 0, rows - 1);
        r(v) = x(0, {idx[0], id});
        break;
      }
      case OpKind::Dropout: {
        // The same hash as runtime/dropout_mask.h, on the element's row-major index.
        Expr linear = Halide::cast<uint64_t>(idx[R - 1]);
        for (int h = R - 2; h >= 0; --h) {
          linear = linear * Halide::cast<uint64_t>(extent(out, h)) + Halide::cast<uint64_t>(idx[h]);
        }
        uint64_t salt_mix = (static_cast<uint64_t>(a.get_int("salt")) + 1) * runtime::kDropoutSaltMix;
        Expr seed = Halide::cast<uint64_t>(x(1, {}));
        Expr h = seed ^ Halide::Internal::make_const(Halide::UInt(64), salt_mix) ^
                 ((linear + 1) * Halide::Internal::make_const(Halide::UInt(64), runtime::kDropoutIndexMix));
        h = h ^ (h >> 30);
        h = h * Halide::Internal::make_const(Halide::UInt(64), uint64_t{0xBF58476D1CE4E5B9ull});
        h = h ^ (h >> 27);
        h = h * Halide::Internal::make_const(Halide::UInt(64), uint64_t{0x94D049BB133111EBull});
        h = h ^ (h >> 31);
        double p = a.get_float("p");
        // Kept when u = (h >> 40) / 2^24 >= p: compare the 24 bits with the smallest integer that passes.
        uint64_t threshold = 0;
        while (static_cast<double>(static_cast<float>(threshold) * (1.0f / 16777216.0f)) < p) ++threshold;
        Expr keep = (h >> 40) >= Halide::Internal::make_const(Halide::UInt(64), threshold);
        Expr scaled = bx(0) * Halide::Internal::make_const(type, static_cast<float>(1.0 / (1.0 - p)));
        r(v) = Halide::select(keep, scaled, Halide::cast(type, 0));
        break;
      }
      case OpKind::Softmax:
      case OpKind::SoftmaxGrad: r = softmax(f, n, in, m); break;
      case OpKind::ReduceSum: r = reduce_sum(f, n, in, m); break;
      case OpKind::CrossEntropy:
      case OpKind::CrossEntropyGrad: r = cross_entropy(f, n, in, m); break;
      case OpKind::Mse:
      case OpKind::MseGrad: {
        bool grad = d.op == OpKind::MseGrad;
        size_t p = grad ? 1 : 0;
        const TensorType& pt = f.type(in[p]);
        Expr numel = Halide::cast(type, 1);
        for (int h = 0; h < pt.rank(); ++h) numel = numel * Halide::cast(type, extent(pt, h));
        if (grad) {
          r(v) = x(0, {}) * 2 * (x(1, idx) - x(2, idx)) / numel;
        } else {
          std::vector<Halide::Range> ranges;
          for (int h = 0; h < pt.rank(); ++h) ranges.push_back({0, extent(pt, h)});
          RDom all(ranges);
          std::vector<Expr> ri;
          for (int h = 0; h < pt.rank(); ++h) ri.push_back(all[h]);
          Func total(r.name() + "_sum");
          total() = Halide::cast(type, 0);
          Expr diff = x(0, ri) - x(1, ri);
          total() += diff * diff;
          roles_.reductions.push_back(total);
          r() = total() / numel;
        }
        break;
      }
      case OpKind::EmbeddingGrad: {
        const TensorType& ids = f.type(in[1]);
        int64_t vocab = a.get_int("vocab"), pad = a.get_int_or("padding_idx", -1);
        std::vector<Halide::Range> ranges;
        for (int h = 0; h < ids.rank(); ++h) ranges.push_back({0, extent(ids, h)});
        RDom rr(ranges);
        std::vector<Expr> ri, dyi{idx[0]};
        for (int h = 0; h < ids.rank(); ++h) ri.push_back(rr[h]);
        dyi.insert(dyi.end(), ri.begin(), ri.end());
        Expr id = Halide::cast<int>(x(1, ri));
        r(v) = Halide::cast(type, 0);
        r(idx[0], Halide::clamp(id, 0, static_cast<int>(vocab) - 1)) +=
            Halide::select(id == static_cast<int>(pad), Halide::cast(type, 0), x(0, dyi));
        roles_.scatters.push_back(r);
        break;
      }
      case OpKind::StepMask: {
        // [time, batch]: Halide (b, t).
        if (in.size() > 1) {
          r(v) = Halide::select(idx[1] < x(1, {idx[0]}), 1, 0);
        } else {
          r(v) = Halide::cast<int32_t>(1);
        }
        break;
      }
      case OpKind::SelectRows: {
        Expr mask = x(0, {idx[R - 1]});
        r(v) = Halide::select(mask != 0, x(1, idx), x(2, idx));
        break;
      }
      case OpKind::Fused: {
        const ir::Function& body = *f.body(n);
        ValueMap inner;
        for (size_t i = 0; i < in.size(); ++i) inner[body.arg(i)] = m.at(in[i]);
        std::vector<NodeId> order;
        for (NodeId b : body.topological_order()) {
          OpKind op = body.op(b);
          if (op != OpKind::Arg && op != OpKind::Return) order.push_back(b);
        }
        std::map<Value, int> uses = count_uses(body, order, body.results());
        for (NodeId b : order) {
          lower(body, b, inner);
          if (body.op(b) != OpKind::Fused) note_sharing(body, b, inner.at(Value{b, 0}), uses);
        }
        std::vector<Value> results = body.results();
        for (size_t i = 0; i < results.size(); ++i) m[Value{n, static_cast<int>(i)}] = inner.at(results[i]);
        return;
      }
      default:
        throw_user_error(std::string("codegen: no lowering for ") + ir::op_name(d.op) + " in kernel " + spec_.name);
    }
    m[Value{n, 0}] = r;
    if (has_rows(out)) row_funcs_.insert(r.name());
  }

  std::string op_func_name(const ir::Function& f, NodeId n) {
    std::string base = ir::op_name(f.op(n));
    return base + "_" + std::to_string(counter_++) + options_.name_suffix;
  }

  Func matmul(const ir::Function& f, NodeId n, const std::vector<Value>& in, ValueMap& m) {
    const ir::Attrs& a = f.node(n).attrs;
    const TensorType& ta = f.type(in[0]);
    const TensorType& tb = f.type(in[1]);
    const TensorType& out = f.type(Value{n, 0});
    Halide::Type type = halide_type(out.dtype);
    Func mm(op_func_name(f, n));
    FuncRoles::MatMul role;
    std::optional<ProductSource> source;  // what gate slices of it are built from (gate_slice)
    std::vector<Var> v = vars(out.rank());
    mm(v) = Halide::cast(type, 0);
    bool swapped = false;
    if (a.has_flag("transpose_a")) {
      // out(n, m) = sum over the leading dims l of a(m, l…) * b(n, l…), a reduction over every row (all time
      // steps and rows: 12800 for the seed workload). Summed in chunks of the outermost leading dim, each
      // chunk's rows small enough to stay in cache while every output tile passes over them; a tile's
      // partial sum over one chunk is `partial`.
      const int p = ta.rank() - 1;
      Expr outer = extent(ta, p);
      // A ragged N (dW_ih of a 100-feature input: [4H, 100]) with an even M computes the transposed
      // product, whose fast dim is then M, and the result reads it back transposed.
      const ir::Dim &m_dim = ta.shape.back(), &n_dim = tb.shape.back();
      swapped = !n_dim.is_symbolic() && !m_dim.is_symbolic() && n_dim.size % 8 != 0 && m_dim.size % 16 == 0;
      const Value first = swapped ? in[1] : in[0], second = swapped ? in[0] : in[1];
      const int chunk = p == 1 ? options_.transpose_a_chunk_rows : options_.transpose_a_chunk_steps;
      std::vector<Halide::Range> ranges;
      for (int h = 1; h < p; ++h) ranges.push_back({0, extent(ta, h)});
      ranges.push_back({0, chunk});
      RDom r(ranges);
      Var c("chunk");
      Expr row = c * chunk + r[p - 1];
      // Clamped into the last chunk's rows; with no rows at all (no time steps), to an empty range, not
      // to row -1 (which bounds inference then required of an empty buffer: a failed kernel).
      Expr clamped = Halide::min(row, Halide::max(outer - 1, 0));
      std::vector<Expr> ia{v[1]}, ib{v[0]};
      for (int j = 0; j + 1 < p; ++j) {
        ia.push_back(r[j]);
        ib.push_back(r[j]);
      }
      ia.push_back(clamped);
      ib.push_back(clamped);
      Func partial(mm.name() + "_partial");
      partial(v[0], v[1], c) = Halide::cast(type, 0);
      // The leading dims' coordinates (ia[1 .. p-1]) are reduction variables over each dim's whole extent.
      std::vector<bool> exact(ia.size(), false);
      for (int j = 1; j < p; ++j) exact[j] = true;
      partial(v[0], v[1], c) += Halide::select(row < outer, operand_at(f, m, first, ia, exact) * operand_at(f, m, second, ib, exact),
                                               Halide::cast(type, 0));
      RDom chunks(0, (outer + chunk - 1) / chunk);
      mm(v) += partial(v[0], v[1], chunks.x);
      role.k = r;
      role.partial = partial;
      role.chunks = chunks;
      role.output_bytes = type.bytes();
      for (const ir::Dim& d : out.shape) role.output_bytes = d.is_symbolic() ? -1 : role.output_bytes * d.size;
    } else {
      const ir::Dim& k_dim = ta.shape.back();
      RDom r(0, extent(k_dim));
      std::vector<Expr> ia{r.x};
      for (int h = 1; h < out.rank(); ++h) ia.push_back(v[h]);
      // Panels (runtime/weight_panels.h) run outside the row tiles instead of blocking.
      role.b_panels = &f == &f_ && !a.has_flag("transpose_b") && panel_inputs_.count(in[1]) > 0;
      role.blocked = !role.b_panels && !k_dim.is_symbolic() && !out.shape.back().is_symbolic() &&
                     blocked_product(k_dim.size, out.shape.back().size);
      // A blocked product whose `a` is a kernel input reads a's rows clamped to its buffer, so that the
      // schedule may compute whole register tiles of rows past the edge (TailStrategy::RoundUp) and throw
      // the extra rows away: guarding a partial tile instead spills its accumulators (~40 % of such a
      // product). The buffer, not [0, rows): a scan's step may run on a range of rows. Not for other
      // products: the clamp cost S's forward ~15 %.
      const std::optional<size_t> a_input = input_index(in[0]);
      if (role.blocked && a_input && out.rank() >= 2) {
        const Halide::ImageParam& p = inputs_.at(*a_input);
        ia[1] = Halide::clamp(v[1], p.dim(1).min(), p.dim(1).max());
        role.rows_clamped = true;
      }
      bool tbf = a.has_flag("transpose_b");
      // b [K, N] is Halide (n, k); transposed, [N, K] is (k, n).
      Expr bv = tbf ? at(m, in[1], {r.x, v[0]}) : at(m, in[1], {v[0], r.x});
      mm(v) += at(m, in[0], ia) * bv;
      role.k = r;
      role.k_extent = k_dim.is_symbolic() ? -1 : k_dim.size;
      role.b_transposed = tbf;
      source = ProductSource{m.at(in[0]), m.at(in[1]), tbf, extent(k_dim), role.k_extent, out.rank(), type,
                             out.shape.back(), {}};
    }
    Func tiles = product_func(f, n, mm, swapped);
    // Keyed by the name Halide gave the Func, which is not always the one asked for: a name used before
    // in the process gets a suffix. (Keyed by the asked-for name, whether a product's gate slices found
    // their twin depended on what else had been compiled before: a GPU step kernel lost its gate-major
    // product, and 720 more bytes of stack, when an unrelated kernel gained Funcs.)
    if (source) sources_[tiles.name()] = std::move(*source);
    if (swapped) {
      tiles(v) = mm(v[1], v[0]);
      role.n_extent = ta.shape.back().size;
      role.transposed_result = true;
    } else {
      tiles(v) = mm(v);
      role.n_extent = out.shape.back().is_symbolic() ? -1 : out.shape.back().size;
    }
    role.func = mm;
    role.tiles = tiles;
    if (is_output(tiles)) role.output = tiles;
    role.rank = out.rank();
    role.operands_are_inputs = is_input(in[0]) && is_input(in[1]);
    role.operands = {m.at(in[0]), m.at(in[1])};
    matmul_of_[tiles.name()] = roles_.matmuls.size();
    roles_.matmuls.push_back(role);
    return tiles;
  }

  // The Func a product's readers see: its kernel output's, where it is one (LowerOptions::
  // products_into_outputs; not for a masked step, whose outputs differ from the values its ops read,
  // nor for a product computed transposed), else one of its own.
  Func product_func(const ir::Function& f, NodeId n, const Func& mm, bool transposed) {
    if (options_.products_into_outputs && !spec_.masked && !transposed && &f == &f_) {
      for (size_t i = 0; i < spec_.outputs.size(); ++i) {
        if (spec_.outputs[i] != Value{n, 0} || output_funcs_.count(i)) continue;
        Func o("output" + std::to_string(i) + options_.name_suffix);
        output_funcs_[i] = o;
        output_names_.insert(o.name());
        return o;
      }
    }
    return Func(mm.name() + "_tiles");
  }

  // Coordinates into an input buffer. LowerOptions::clamp_inputs: clamped to the buffer, so that
  // work a schedule does beyond the edge of a tile (then discarded) reads real elements. A dim of
  // static size n is clamped to [0, n - 1], not to the buffer's runtime bounds: inside a loop whose
  // range is known (a product's reduction over k) Halide then drops the clamp, and a load's address is
  // one add instead of eight integer ops (the GPU steps' loads were mostly index arithmetic). Halide's
  // bounds check still asserts that the buffer holds [0, n).
  std::vector<Expr> in_bounds(const Halide::ImageParam& p, const std::vector<Expr>& coords,
                              const TensorType* type = nullptr) const {
    std::vector<Expr> out = coords;
    if (!options_.clamp_inputs) return out;
    for (size_t h = 0; h < out.size(); ++h) {
      const ir::Dim* d = type ? &type->shape[type->rank() - 1 - h] : nullptr;
      if (d && !d->is_symbolic() && d->size > 0) {
        out[h] = Halide::clamp(out[h], 0, static_cast<int>(d->size) - 1);
        continue;
      }
      Halide::Internal::Dimension dim = p.dim(static_cast<int>(h));
      out[h] = Halide::clamp(out[h], dim.min(), dim.max());
    }
    return out;
  }

  // Which of the kernel's inputs (and of inputs_) v is, if it is one.
  std::optional<size_t> input_index(const Value& v) const {
    auto it = std::find(spec_.inputs.begin(), spec_.inputs.end(), v);
    if (it == spec_.inputs.end()) return std::nullopt;
    return static_cast<size_t>(it - spec_.inputs.begin());
  }

  bool is_input(const Value& v) const { return input_index(v).has_value(); }

  // What a product is made of, to build its gate-major twin (LowerOptions::slice_products).
  struct ProductSource {
    Func a, b;
    bool transpose_b;
    Expr k;
    int64_t k_static;
    int rank;
    Halide::Type type;
    ir::Dim n;
    std::map<int64_t, Func> by_width;  // gate width -> product(j, gate, rows…)
  };

  // A slice [start, start + width) of the last dim of a product, read from the gate-major product when the
  // product's width is a whole number of such slices.
  std::optional<Expr> gate_slice(const Func& source, int64_t start, const ir::Dim& width_dim, const std::vector<Expr>& idx) {
    auto it = sources_.find(source.name());
    if (it == sources_.end() || width_dim.is_symbolic() || it->second.n.is_symbolic()) return std::nullopt;
    ProductSource& s = it->second;
    const int64_t width = width_dim.size;
    if (width <= 0 || s.n.size % width != 0 || start % width != 0 || s.n.size == width) return std::nullopt;
    auto [g, fresh] = s.by_width.emplace(width, Func(source.name() + "_by" + std::to_string(width)));
    Func& mm = g->second;
    if (fresh) {
      std::vector<Var> v = vars(s.rank + 1);  // (j, gate, rows…)
      RDom r(0, s.k);
      Expr n = v[1] * static_cast<int>(width) + v[0];
      std::vector<Expr> ia{r.x};
      for (int h = 2; h <= s.rank; ++h) ia.push_back(v[h]);
      Expr bv = s.transpose_b ? s.b(r.x, n) : s.b(n, r.x);
      mm(v) = Halide::cast(s.type, 0);
      mm(v) += s.a(ia) * bv;
      FuncRoles::MatMul role;
      role.func = mm;
      role.tiles = mm;
      role.k = r;
      role.k_extent = s.k_static;
      role.rank = s.rank + 1;
      role.n_extent = width;
      role.gate_major = true;
      role.gates = s.n.size / width;
      // Built from a product whose operands were checked when it was lowered.
      role.operands_are_inputs = roles_.matmuls[matmul_of_.at(source.name())].operands_are_inputs;
      role.operands = {s.a, s.b};
      roles_.matmuls.push_back(role);
    }
    std::vector<Expr> at{idx[0], static_cast<int>(start / width)};
    at.insert(at.end(), idx.begin() + 1, idx.end());
    return mm(at);
  }

  // LowerOptions::slice_products: a concat of equal parts along the last dim (a backward step's gate
  // gradients [dI dF dG dO]) reads every part at column x mod width, the part chosen by x / width. The
  // usual form reads part i at clamp(x - offset_i): the parts' shared operands (dc, read by three gates)
  // are then needed at four columns H apart, and a GPU thread owning column x computes and stores a box
  // 3H + 1 wide of them. Read this way, a thread needs them at one column.
  template <typename Read>
  std::optional<Expr> gate_major_concat(const std::vector<std::pair<int64_t, int64_t>>& parts, int h,
                                        const std::vector<Expr>& idx, const Read& read) {
    if (!options_.slice_products || h != 0 || parts.size() < 2) return std::nullopt;
    const int64_t width = parts[0].second;
    for (const auto& [offset, size] : parts) {
      if (size != width || width <= 0) return std::nullopt;
    }
    // x - gate * width, not x % width: Halide 14 bounds x % width by [0, width) even where x is a single
    // point, which would bring back the wide box; the difference stays a point. Clamped into the part:
    // over a range of x (a row-mode block computes whole rows) the difference alone is bounded by
    // [-3 width, 4 width), and a row-mode backward step computed its shared values over those 7 widths
    // (S: 896 columns where 128 do, 7x the work; 24.5 KiB of shared memory where 6.5 do); the clamp
    // makes it [0, width) there and leaves a point a point.
    const Expr gate = idx[0] / static_cast<int>(width);
    const Expr column = Halide::clamp(idx[0] - gate * static_cast<int>(width), 0, static_cast<int>(width) - 1);
    std::vector<Expr> j = idx;
    j[0] = column;
    Expr e = read(parts.size() - 1, j);
    for (size_t i = parts.size() - 1; i-- > 0;) e = Halide::select(gate == static_cast<int>(i), read(i, j), e);
    return e;
  }

  // Whether row sums over `width` elements take one pass, as a tuple: where the schedule sums them in
  // vector lanes (a multiple of 16 lanes, at least two vectors: schedule_cpu.cpp, reduction_schedule).
  // Narrower rows are summed across rows, the last vector predicated and compiled apart; a tuple there
  // rounded a row's sums differently by where a call's rows began (CodegenRowStealing, hidden 7).
  static bool one_pass_row_sums(int width) { return width % 16 == 0 && width >= 32; }

  // Row statistics over the last (innermost) dim: mean and 1/sqrt(var + eps), from one pass over the
  // row: the sums of x - k and of its square, with k the row's first element. (Two passes, the mean's and
  // then the squared deviations', read the row twice; one layer-norm LSTM step computes three norms,
  // its backward step three again: ab-bench --cell layernorm-lstm, training 0.980, 5 of 5 pairs, with
  // the gradient's two row sums in one pass too.) Shifting by a value of the row keeps the one-pass
  // variance from cancelling when the mean is large against the spread, as it would with k = 0.
  // Rows too narrow for sums in vector lanes keep two passes (one_pass_row_sums).
  std::pair<Func, Func> row_stats(Func x, const TensorType& t, int R, double eps, const std::string& name) {
    Halide::Type type = halide_type(t.dtype);
    int D = static_cast<int>(t.shape.back().size);
    std::vector<Var> rows(vars_.begin() + 1, vars_.begin() + R);
    std::vector<Expr> rows_e = args(rows);
    RDom r(0, D);
    std::vector<Expr> xi{r.x};
    xi.insert(xi.end(), rows_e.begin(), rows_e.end());
    const Expr zero = Halide::cast(type, 0);
    Func mean(name + "_mu"), inv(name + "_inv");
    Expr var;
    if (one_pass_row_sums(D)) {
      std::vector<Expr> first{Expr(0)};
      first.insert(first.end(), rows_e.begin(), rows_e.end());
      Func shift(name + "_shift"), sums(name + "_sums");
      shift(rows) = x(first);
      sums(rows) = Halide::Tuple(zero, zero);
      const Expr dev = x(xi) - shift(rows_e);
      sums(rows) = Halide::Tuple(sums(rows_e)[0] + dev, sums(rows_e)[1] + dev * dev);
      const Expr mean_dev = sums(rows_e)[0] / D;
      mean(rows) = shift(rows_e) + mean_dev;
      // Rounding can leave the difference a hair below zero for a constant row.
      var = Halide::max(sums(rows_e)[1] / D - mean_dev * mean_dev, zero);
      add_row_statistic(sums, t);
    } else {
      Func total(name + "_total"), squares(name + "_var");
      total(rows) = zero;
      total(rows) += x(xi);
      mean(rows) = total(rows_e) / D;
      squares(rows) = zero;
      const Expr dev = x(xi) - mean(rows_e);
      squares(rows) += dev * dev;
      var = squares(rows_e) / D;
      add_row_statistic(total, t);
      add_row_statistic(squares, t);
    }
    inv(rows) = 1 / Halide::sqrt(var + Halide::Internal::make_const(type, eps));
    return {mean, inv};
  }

  Func layer_norm(const ir::Function& f, NodeId n, const std::vector<Value>& in, ValueMap& m) {
    const ir::NodeData& d = f.node(n);
    bool grad = d.op == OpKind::LayerNormGrad;
    const TensorType& xt = f.type(in[grad ? 1 : 0]);
    int R = xt.rank();
    std::vector<Var> v = vars(R);
    std::vector<Expr> idx = args(v);
    std::vector<Expr> rows(idx.begin() + 1, idx.end());
    Halide::Type type = halide_type(xt.dtype);
    Func x = m.at(in[grad ? 1 : 0]);
    // One mean and 1/sigma per rows of x: a backward step recomputes the forward's normalised x for the
    // scale's gradient and takes the input gradient of the same x, and each would sum its rows twice.
    const double eps = d.attrs.get_float("eps");
    auto stats = row_stats_of_.find({x.name(), eps});
    if (stats == row_stats_of_.end()) {
      stats = row_stats_of_.emplace(std::make_pair(x.name(), eps), row_stats(x, xt, R, eps, op_func_name(f, n))).first;
    }
    auto [mean, inv] = stats->second;
    Expr xhat = (x(idx) - mean(rows)) * inv(rows);
    Func r = result_func(f, n);
    if (!grad) {
      r(v) = in.size() == 3 ? xhat * at(m, in[1], {idx[0]}) + at(m, in[2], {idx[0]}) : xhat;
      return r;
    }
    // dx = (g - mean(g) - xhat * mean(g * xhat)) * inv, with g = dy * gamma.
    int D = static_cast<int>(xt.shape.back().size);
    Func g(r.name() + "_g");
    g(v) = in.size() == 3 ? at(m, in[0], idx) * at(m, in[2], {idx[0]}) : at(m, in[0], idx);
    std::vector<Var> rv(vars_.begin() + 1, vars_.begin() + R);
    RDom k(0, D);
    std::vector<Expr> ki{k.x};
    ki.insert(ki.end(), rows.begin(), rows.end());
    // The sums of g and of g·xhat along each row, in one pass where the rows are wide enough.
    const Expr zero = Halide::cast(type, 0);
    const Expr gxhat = g(ki) * (x(ki) - mean(rows)) * inv(rows);
    Expr sum_g, sum_gx;
    if (one_pass_row_sums(D)) {
      Func sums(r.name() + "_sums");
      sums(rv) = Halide::Tuple(zero, zero);
      sums(rv) = Halide::Tuple(sums(rows)[0] + g(ki), sums(rows)[1] + gxhat);
      add_row_statistic(sums, xt);
      sum_g = sums(rows)[0];
      sum_gx = sums(rows)[1];
    } else {
      Func sg(r.name() + "_sg"), sgx(r.name() + "_sgx");
      sg(rv) = zero;
      sg(rv) += g(ki);
      sgx(rv) = zero;
      sgx(rv) += gxhat;
      add_row_statistic(sg, xt);
      add_row_statistic(sgx, xt);
      sum_g = sg(rows);
      sum_gx = sgx(rows);
    }
    r(v) = (g(idx) - sum_g / D - xhat * sum_gx / D) * inv(rows);
    return r;
  }

  Func softmax(const ir::Function& f, NodeId n, const std::vector<Value>& in, ValueMap& m) {
    bool grad = f.op(n) == OpKind::SoftmaxGrad;
    const TensorType& t = f.type(Value{n, 0});
    int R = t.rank();
    Halide::Type type = halide_type(t.dtype);
    std::vector<Var> v = vars(R);
    std::vector<Expr> idx = args(v);
    std::vector<Expr> rows(idx.begin() + 1, idx.end());
    std::vector<Var> rv(vars_.begin() + 1, vars_.begin() + R);
    RDom k(0, extent(t, 0));
    std::vector<Expr> ki{k.x};
    ki.insert(ki.end(), rows.begin(), rows.end());
    Func r(op_func_name(f, n));
    if (grad) {
      Func dot(r.name() + "_dot");
      dot(rv) = Halide::cast(type, 0);
      dot(rv) += at(m, in[0], ki) * at(m, in[1], ki);
      add_row_statistic(dot, t);
      r(v) = at(m, in[1], idx) * (at(m, in[0], idx) - dot(rows));
      return r;
    }
    Func mx(r.name() + "_max"), sum(r.name() + "_sum");
    mx(rv) = type.min();
    mx(rv) = Halide::max(mx(rows), at(m, in[0], ki));
    sum(rv) = Halide::cast(type, 0);
    sum(rv) += Halide::exp(at(m, in[0], ki) - mx(rows));
    add_row_statistic(mx, t);
    add_row_statistic(sum, t);
    r(v) = Halide::exp(at(m, in[0], idx) - mx(rows)) / sum(rows);
    return r;
  }

  Func reduce_sum(const ir::Function& f, NodeId n, const std::vector<Value>& in, ValueMap& m) {
    const TensorType& xt = f.type(in[0]);
    const TensorType& out = f.type(Value{n, 0});
    int R = xt.rank();
    std::set<int> reduced;
    for (int64_t axis : f.node(n).attrs.get_int_list("axes")) reduced.insert(static_cast<int>(axis < 0 ? axis + R : axis));
    std::vector<Halide::Range> ranges;
    std::vector<int> reduced_halide;
    for (int h = 0; h < R; ++h) {
      if (reduced.count(R - 1 - h)) {
        ranges.push_back({0, extent(xt, h)});
        reduced_halide.push_back(h);
      }
    }
    std::vector<Var> v = vars(out.rank());
    Func r(op_func_name(f, n));
    r(v) = Halide::cast(halide_type(out.dtype), 0);
    if (ranges.empty()) {
      r(v) += at(m, in[0], args(v));
      return r;
    }
    RDom rd(ranges);
    std::vector<Expr> xi;
    int kept = 0, red = 0;
    for (int h = 0; h < R; ++h) {
      if (reduced.count(R - 1 - h)) {
        xi.push_back(rd[red++]);
      } else {
        xi.push_back(v[kept++]);
      }
    }
    r(v) += at(m, in[0], xi);
    if (!reduced.count(R - 1) && out.rank() >= 1) {
      roles_.column_sums.push_back({r, rd});
    } else {
      roles_.reductions.push_back(r);
    }
    return r;
  }

  // Logits [..., C]: Halide dims (class, leading dims innermost first); the loss is the mean over every
  // leading position.
  Func cross_entropy(const ir::Function& f, NodeId n, const std::vector<Value>& in, ValueMap& m) {
    bool grad = f.op(n) == OpKind::CrossEntropyGrad;
    size_t lo = grad ? 1 : 0;  // logits operand
    const TensorType& lt = f.type(in[lo]);
    Halide::Type type = halide_type(lt.dtype);
    const int lead_rank = lt.rank() - 1;
    Var c = vars_[0];
    std::vector<Expr> lead(vars_.begin() + 1, vars_.begin() + 1 + lead_rank);
    auto with_class = [&](Expr cls, const std::vector<Expr>& rest) {
      std::vector<Expr> idx{cls};
      idx.insert(idx.end(), rest.begin(), rest.end());
      return idx;
    };
    Expr classes = extent(lt, 0), rows = Expr(1);
    Halide::Region lead_region;
    for (int h = 1; h <= lead_rank; ++h) {
      rows = rows * extent(lt, h);
      lead_region.push_back({0, extent(lt, h)});
    }
    Func r(op_func_name(f, n));
    RDom k(0, classes);
    Func mx(r.name() + "_max"), sum(r.name() + "_sum");
    mx(lead) = type.min();
    mx(lead) = Halide::max(mx(lead), at(m, in[lo], with_class(k.x, lead)));
    sum(lead) = Halide::cast(type, 0);
    sum(lead) += Halide::exp(at(m, in[lo], with_class(k.x, lead)) - mx(lead));
    roles_.reductions.push_back(mx);
    roles_.reductions.push_back(sum);
    Expr label = Halide::clamp(Halide::cast<int>(at(m, in[lo + 1], lead)), 0, classes - 1);
    if (grad) {
      Expr p = Halide::exp(at(m, in[lo], with_class(c, lead)) - mx(lead)) / sum(lead);
      Expr onehot = Halide::select(c == label, Halide::cast(type, 1), Halide::cast(type, 0));
      r(with_class(c, lead)) = at(m, in[0], {}) * (p - onehot) / Halide::cast(type, rows);
      return r;
    }
    Func per_row(r.name() + "_row");
    per_row(lead) = Halide::log(sum(lead)) + mx(lead) - at(m, in[lo], with_class(label, lead));
    RDom all(lead_region);
    std::vector<Expr> all_idx;
    for (int d = 0; d < lead_rank; ++d) all_idx.push_back(all[d]);
    Func total(r.name() + "_total");
    total() = Halide::cast(type, 0);
    total() += per_row(all_idx);
    roles_.reductions.push_back(per_row);
    roles_.reductions.push_back(total);
    r() = total() / Halide::cast(type, rows);
    return r;
  }

  const runtime::KernelSpec& spec_;
  const ir::Function& f_;
  std::vector<Var> vars_;
  std::map<std::string, Expr> extents_;
  ValueMap values_;
  std::vector<Halide::ImageParam> inputs_;
  std::optional<Halide::ImageParam> lengths_;
  std::optional<Halide::Param<int32_t>> step_;
  FuncRoles roles_;
  const LowerOptions& options_;
  std::map<std::string, size_t> matmul_of_;  // tiles Func name -> index in roles_.matmuls
  std::map<std::string, ProductSource> sources_;  // tiles Func name -> what the product is made of
  std::map<std::pair<std::string, double>, std::pair<Func, Func>> row_stats_of_;  // (x, eps) -> (mean, 1/sigma)
  std::set<Value> panel_inputs_;  // inputs read as weight panels
  std::map<size_t, Func> output_funcs_;                              // output index -> its Func
  std::map<std::pair<const ir::Function*, Value>, Func> preassigned_;  // value -> the output Func it writes
  std::set<std::string> output_names_;
  std::optional<ir::Dim> rows_;        // a step's rows: its outputs' first IR dim
  std::set<std::string> row_funcs_;    // LoweredKernel::row_funcs
  int counter_ = 0;
};

}  // namespace

LoweredKernel lower_kernel(const runtime::KernelSpec& spec, const LowerOptions& options) {
  return Lowerer(spec, options).run();
}

}  // namespace rnnc::codegen
