#include "runtime/reference_executor.h"

#include <algorithm>
#include <cmath>

#include "ir/error.h"
#include "ir/verifier.h"
#include "runtime/dropout_mask.h"
#include "runtime/param_init.h"

namespace rnnc::runtime {

using ir::Function;
using ir::NodeId;
using ir::OpKind;

std::string dims_str(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

namespace {

using Bindings = std::map<std::string, int64_t>;

template <typename T>
class Interpreter {
 public:
  Interpreter(const std::map<std::string, Tensor<T>>& params) : params_(params) {}

  std::vector<Value<T>> call(const Function& f, const std::vector<Value<T>>& args, Bindings& bindings) {
    RNNC_USER_CHECK(args.size() == f.args().size())
        << "@" << f.name() << " takes " << f.args().size() << " arguments, got " << args.size();
    for (size_t i = 0; i < args.size(); ++i) bind(f, i, args[i], bindings);
    std::vector<std::vector<Value<T>>> values(f.num_nodes());
    for (size_t i = 0; i < args.size(); ++i) values[f.args()[i]] = {args[i]};
    for (NodeId n : f.topological_order()) {
      OpKind op = f.op(n);
      if (op == OpKind::Arg || op == OpKind::Return) continue;
      std::vector<const Value<T>*> in;
      for (const ir::Value& v : f.operands(n)) in.push_back(&values[v.node][v.result]);
      values[n] = eval(f, n, in, bindings);
    }
    std::vector<Value<T>> out;
    for (const ir::Value& v : f.results()) out.push_back(values[v.node][v.result]);
    return out;
  }

 private:
  // --- shapes ---------------------------------------------------------------------------------------
  void bind(const Function& f, size_t i, const Value<T>& arg, Bindings& bindings) {
    const ir::TensorType& t = f.type(f.arg(i));
    const std::string& name = f.value_name(f.arg(i));
    bool is_int_arg = std::holds_alternative<IntTensor>(arg);
    RNNC_USER_CHECK(is_int_arg == ir::is_int(t.dtype))
        << "@" << f.name() << ": argument '" << name << "' must be " << (is_int_arg ? "a float" : "an integer")
        << " tensor (" << t << ")";
    const Dims& dims = shape_of(arg);
    RNNC_USER_CHECK(static_cast<int>(dims.size()) == t.rank())
        << "@" << f.name() << ": argument '" << name << "' has shape " << dims_str(dims) << " but is declared " << t;
    for (int d = 0; d < t.rank(); ++d) {
      const ir::Dim& want = t.shape[d];
      if (!want.is_symbolic()) {
        RNNC_USER_CHECK(dims[d] == want.size) << "@" << f.name() << ": argument '" << name << "' has shape "
                                              << dims_str(dims) << " but is declared " << t;
        continue;
      }
      auto [it, fresh] = bindings.emplace(want.symbol, dims[d]);
      RNNC_USER_CHECK(fresh || it->second == dims[d])
          << "@" << f.name() << ": dimension '" << want.symbol << "' is " << it->second
          << " elsewhere but argument '" << name << "' " << dims_str(dims) << " makes it " << dims[d];
    }
  }

  static Dims concrete(const ir::Shape& shape, const Bindings& bindings) {
    Dims out;
    for (const ir::Dim& d : shape) {
      if (!d.is_symbolic()) {
        out.push_back(d.size);
        continue;
      }
      auto it = bindings.find(d.symbol);
      RNNC_USER_CHECK(it != bindings.end()) << "dimension '" << d.symbol << "' is not bound by any argument";
      out.push_back(it->second);
    }
    return out;
  }

  static const Tensor<T>& F(const Value<T>* v) { return std::get<Tensor<T>>(*v); }
  static const IntTensor& I(const Value<T>* v) { return std::get<IntTensor>(*v); }

  // --- ops ------------------------------------------------------------------------------------------
  std::vector<Value<T>> eval(const Function& f, NodeId n, const std::vector<const Value<T>*>& in, Bindings& b) {
    const ir::NodeData& d = f.node(n);
    const ir::Attrs& a = d.attrs;
    switch (d.op) {
      case OpKind::Param: {
        const std::string& name = a.get_word("name");
        auto it = params_.find(name);
        RNNC_USER_CHECK(it != params_.end()) << "parameter @" << name << " has no value";
        return {it->second};
      }
      case OpKind::Constant: {
        Dims shape = concrete(d.types[0].shape, b);
        if (ir::is_int(d.types[0].dtype)) return {IntTensor(shape, static_cast<int64_t>(a.get_float("value")))};
        return {Tensor<T>(shape, static_cast<T>(a.get_float("value")))};
      }
      case OpKind::Neg: return {map(F(in[0]), [](T x) { return -x; })};
      case OpKind::Exp: return {map(F(in[0]), [](T x) { return std::exp(x); })};
      case OpKind::Log: return {map(F(in[0]), [](T x) { return std::log(x); })};
      case OpKind::Sigmoid: return {map(F(in[0]), [](T x) { return T(1) / (T(1) + std::exp(-x)); })};
      case OpKind::Tanh: return {map(F(in[0]), [](T x) { return std::tanh(x); })};
      case OpKind::Relu: return {map(F(in[0]), [](T x) { return x > T(0) ? x : T(0); })};
      case OpKind::Add: return {zip(F(in[0]), F(in[1]), [](T x, T y) { return x + y; })};
      case OpKind::Sub: return {zip(F(in[0]), F(in[1]), [](T x, T y) { return x - y; })};
      case OpKind::Mul: return {zip(F(in[0]), F(in[1]), [](T x, T y) { return x * y; })};
      case OpKind::Div: return {zip(F(in[0]), F(in[1]), [](T x, T y) { return x / y; })};
      case OpKind::MatMul: return {matmul(F(in[0]), F(in[1]), a.has_flag("transpose_a"), a.has_flag("transpose_b"))};
      case OpKind::Concat: return {concat(in, a.get_int("axis"))};
      case OpKind::Slice: return {slice(F(in[0]), a.get_int("axis"), a.get_int("start"), a.get_int("size"))};
      case OpKind::LayerNorm:
        return {layer_norm(F(in[0]), in.size() > 1 ? &F(in[1]) : nullptr, in.size() > 2 ? &F(in[2]) : nullptr,
                           static_cast<T>(a.get_float("eps")))};
      case OpKind::Embedding: return {embedding(F(in[0]), I(in[1]))};
      case OpKind::Dropout: return {dropout(F(in[0]), I(in[1]), a.get_float("p"), a.get_int("salt"))};
      case OpKind::Softmax: return {softmax(F(in[0]))};
      case OpKind::ReduceSum: return {reduce_sum(F(in[0]), a.get_int_list("axes"))};
      case OpKind::CrossEntropy: return {cross_entropy(F(in[0]), I(in[1]))};
      case OpKind::Mse: {
        const Tensor<T>& p = F(in[0]);
        const Tensor<T>& t = F(in[1]);
        T sum = 0;
        for (int64_t i = 0; i < p.size(); ++i) sum += (p[i] - t[i]) * (p[i] - t[i]);
        return {Tensor<T>({}, sum / static_cast<T>(std::max<int64_t>(p.size(), 1)))};
      }
      case OpKind::Scan: return scan(f, n, in, b);
      case OpKind::Fused: {
        std::vector<Value<T>> args;
        for (const Value<T>* v : in) args.push_back(*v);
        return call(*f.body(n), args, b);
      }
      case OpKind::ReluMask: return {map(F(in[0]), [](T x) { return x > T(0) ? T(1) : T(0); })};
      case OpKind::BroadcastLike: {
        Dims shape = shape_of(*in[1]);
        const Tensor<T>& x = F(in[0]);
        Tensor<T> out(shape);
        for (int64_t i = 0; i < out.size(); ++i) out[i] = x[i % std::max<int64_t>(x.size(), 1)];
        return {out};
      }
      case OpKind::LayerNormGrad:
        return {layer_norm_grad(F(in[0]), F(in[1]), in.size() > 2 ? &F(in[2]) : nullptr, static_cast<T>(a.get_float("eps")))};
      case OpKind::SoftmaxGrad: {
        const Tensor<T>& dy = F(in[0]);
        const Tensor<T>& y = F(in[1]);
        int64_t dim = y.shape.back(), rows = dim ? y.size() / dim : 0;
        Tensor<T> out(y.shape);
        for (int64_t r = 0; r < rows; ++r) {
          T dot = 0;
          for (int64_t i = 0; i < dim; ++i) dot += dy[r * dim + i] * y[r * dim + i];
          for (int64_t i = 0; i < dim; ++i) out[r * dim + i] = y[r * dim + i] * (dy[r * dim + i] - dot);
        }
        return {out};
      }
      case OpKind::CrossEntropyGrad: {
        T dloss = F(in[0])[0];
        const Tensor<T>& logits = F(in[1]);
        const IntTensor& labels = I(in[2]);
        cross_entropy(logits, labels);  // validates the labels
        Tensor<T> p = softmax(logits);
        int64_t classes = logits.shape.back(), rows = classes ? logits.size() / classes : 0;
        for (int64_t r = 0; r < rows; ++r) p[r * classes + labels[r]] -= T(1);
        for (T& v : p.data) v *= dloss / static_cast<T>(std::max<int64_t>(rows, 1));
        return {p};
      }
      case OpKind::MseGrad: {
        T dloss = F(in[0])[0];
        const Tensor<T>& p = F(in[1]);
        const Tensor<T>& t = F(in[2]);
        Tensor<T> out(p.shape);
        T scale = dloss * T(2) / static_cast<T>(std::max<int64_t>(p.size(), 1));
        for (int64_t i = 0; i < p.size(); ++i) out[i] = scale * (p[i] - t[i]);
        return {out};
      }
      case OpKind::EmbeddingGrad: {
        const Tensor<T>& dy = F(in[0]);
        const IntTensor& ids = I(in[1]);
        int64_t vocab = a.get_int("vocab"), dim = dy.shape.back(), pad = a.get_int_or("padding_idx", -1);
        Tensor<T> out({vocab, dim});
        for (int64_t i = 0; i < ids.size(); ++i) {
          int64_t id = ids[i];
          RNNC_USER_CHECK(id >= 0 && id < vocab) << "embedding_grad: id " << id << " at flat position " << i
                                                 << " is outside the table's " << vocab << " rows";
          if (id == pad) continue;
          for (int64_t j = 0; j < dim; ++j) out[id * dim + j] += dy[i * dim + j];
        }
        return {out};
      }
      case OpKind::StepMask: {
        const Dims& seq = shape_of(*in[0]);
        IntTensor out({seq[0], seq[1]}, int64_t{1});
        if (in.size() > 1) {
          const IntTensor& lengths = I(in[1]);
          for (int64_t t = 0; t < seq[0]; ++t)
            for (int64_t r = 0; r < seq[1]; ++r) out[t * seq[1] + r] = t < lengths[r] ? 1 : 0;
        }
        return {out};
      }
      case OpKind::Transpose: {
        const Tensor<T>& x = F(in[0]);
        int64_t rows = x.shape[0], cols = x.shape[1];
        Tensor<T> out({cols, rows});
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = x[i * cols + j];
        return {out};
      }
      case OpKind::SelectRows: {
        const IntTensor& mask = I(in[0]);
        Value<T> out = *in[2];
        keep_rows_where(out, *in[1], mask);
        return {out};
      }
      case OpKind::Arg:
      case OpKind::Return: break;
    }
    RNNC_INTERNAL_CHECK(false) << "reference executor: no rule for " << ir::op_name(d.op);
    return {};
  }

  template <typename Fn>
  static Tensor<T> map(const Tensor<T>& x, Fn fn) {
    Tensor<T> out(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) out[i] = fn(x[i]);
    return out;
  }

  // Suffix broadcasting: the shorter operand repeats over the longer one's leading dims.
  template <typename Fn>
  static Tensor<T> zip(const Tensor<T>& x, const Tensor<T>& y, Fn fn) {
    bool x_long = x.rank() >= y.rank();
    Tensor<T> out(x_long ? x.shape : y.shape);
    for (int64_t i = 0; i < out.size(); ++i) {
      T xv = x_long ? x[i] : x[i % x.size()];
      T yv = x_long ? y[i % y.size()] : y[i];
      out[i] = fn(xv, yv);
    }
    return out;
  }

  static Tensor<T> matmul(const Tensor<T>& x, const Tensor<T>& w, bool ta, bool tb) {
    if (ta) {
      int64_t m = x.shape.back(), n = w.shape.back(), rows = x.size() / m;
      Tensor<T> out({m, n});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) out[i * n + j] += x[r * m + i] * w[r * n + j];
      return out;
    }
    int64_t k = x.shape.back(), n = tb ? w.shape[0] : w.shape[1];
    Dims shape(x.shape.begin(), x.shape.end() - 1);
    int64_t rows = num_elements(shape);
    shape.push_back(n);
    Tensor<T> out(shape);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        T sum = 0;
        for (int64_t p = 0; p < k; ++p) sum += x[r * k + p] * (tb ? w[j * k + p] : w[p * n + j]);
        out[r * n + j] = sum;
      }
    return out;
  }

  // outer × axis × inner view of a row-major tensor.
  static void split_at(const Dims& shape, int64_t axis, int64_t* outer, int64_t* inner) {
    *outer = num_elements(Dims(shape.begin(), shape.begin() + axis));
    *inner = num_elements(Dims(shape.begin() + axis + 1, shape.end()));
  }

  static Value<T> concat(const std::vector<const Value<T>*>& in, int64_t axis) {
    const Tensor<T>& first = F(in[0]);
    if (axis < 0) axis += first.rank();
    Dims shape = first.shape;
    shape[axis] = 0;
    for (const Value<T>* v : in) shape[axis] += F(v).shape[axis];
    Tensor<T> out(shape);
    int64_t outer, inner;
    split_at(shape, axis, &outer, &inner);
    int64_t offset = 0;
    for (const Value<T>* v : in) {
      const Tensor<T>& t = F(v);
      int64_t len = t.shape[axis];
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < len * inner; ++i)
          out[(o * shape[axis] + offset) * inner + i] = t[o * len * inner + i];
      offset += len;
    }
    return out;
  }

  static Tensor<T> slice(const Tensor<T>& x, int64_t axis, int64_t start, int64_t size) {
    if (axis < 0) axis += x.rank();
    Dims shape = x.shape;
    shape[axis] = size;
    Tensor<T> out(shape);
    int64_t outer, inner;
    split_at(x.shape, axis, &outer, &inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < size * inner; ++i)
        out[o * size * inner + i] = x[(o * x.shape[axis] + start) * inner + i];
    return out;
  }

  static Tensor<T> layer_norm(const Tensor<T>& x, const Tensor<T>* gamma, const Tensor<T>* beta, T eps) {
    int64_t dim = x.shape.back(), rows = dim ? x.size() / dim : 0;
    Tensor<T> out(x.shape);
    for (int64_t r = 0; r < rows; ++r) {
      T mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
      mean /= static_cast<T>(dim);
      for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      var /= static_cast<T>(dim);
      T inv = T(1) / std::sqrt(var + eps);
      for (int64_t i = 0; i < dim; ++i) {
        T y = (x[r * dim + i] - mean) * inv;
        if (gamma) y = y * (*gamma)[i] + (*beta)[i];
        out[r * dim + i] = y;
      }
    }
    return out;
  }

  // d/dx of layer_norm: with xhat = (x - mean) / sigma and g = dy * gamma,
  // dx = (g - mean(g) - xhat * mean(g * xhat)) / sigma, row by row.
  static Tensor<T> layer_norm_grad(const Tensor<T>& dy, const Tensor<T>& x, const Tensor<T>* gamma, T eps) {
    int64_t dim = x.shape.back(), rows = dim ? x.size() / dim : 0;
    Tensor<T> out(x.shape);
    for (int64_t r = 0; r < rows; ++r) {
      T mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
      mean /= static_cast<T>(dim);
      for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      var /= static_cast<T>(dim);
      T inv = T(1) / std::sqrt(var + eps);
      T mean_g = 0, mean_gx = 0;
      for (int64_t i = 0; i < dim; ++i) {
        T g = dy[r * dim + i] * (gamma ? (*gamma)[i] : T(1));
        mean_g += g;
        mean_gx += g * (x[r * dim + i] - mean) * inv;
      }
      mean_g /= static_cast<T>(dim);
      mean_gx /= static_cast<T>(dim);
      for (int64_t i = 0; i < dim; ++i) {
        T g = dy[r * dim + i] * (gamma ? (*gamma)[i] : T(1));
        out[r * dim + i] = (g - mean_g - (x[r * dim + i] - mean) * inv * mean_gx) * inv;
      }
    }
    return out;
  }

  static Tensor<T> embedding(const Tensor<T>& table, const IntTensor& ids) {
    int64_t vocab = table.shape[0], dim = table.shape[1];
    Dims shape = ids.shape;
    shape.push_back(dim);
    Tensor<T> out(shape);
    for (int64_t i = 0; i < ids.size(); ++i) {
      int64_t id = ids[i];
      RNNC_USER_CHECK(id >= 0 && id < vocab) << "embedding: id " << id << " at flat position " << i
                                             << " is outside the table's " << vocab << " rows";
      for (int64_t j = 0; j < dim; ++j) out[i * dim + j] = table[id * dim + j];
    }
    return out;
  }

  static Tensor<T> dropout(const Tensor<T>& x, const IntTensor& seed, double p, int64_t salt) {
    Tensor<T> out(x.shape);
    T scale = static_cast<T>(1.0 / (1.0 - p));
    uint64_t s = static_cast<uint64_t>(seed[0]);
    for (int64_t i = 0; i < x.size(); ++i) {
      out[i] = dropout_keep(s, static_cast<uint64_t>(salt), static_cast<uint64_t>(i), p) ? x[i] * scale : T(0);
    }
    return out;
  }

  static Tensor<T> softmax(const Tensor<T>& x) {
    int64_t dim = x.shape.back(), rows = dim ? x.size() / dim : 0;
    Tensor<T> out(x.shape);
    for (int64_t r = 0; r < rows; ++r) {
      T mx = x[r * dim];
      for (int64_t i = 1; i < dim; ++i) mx = std::max(mx, x[r * dim + i]);
      T sum = 0;
      for (int64_t i = 0; i < dim; ++i) sum += (out[r * dim + i] = std::exp(x[r * dim + i] - mx));
      for (int64_t i = 0; i < dim; ++i) out[r * dim + i] /= sum;
    }
    return out;
  }

  static Tensor<T> reduce_sum(const Tensor<T>& x, const std::vector<int64_t>& axes_in) {
    std::vector<bool> reduced(x.rank(), false);
    for (int64_t a : axes_in) reduced[a < 0 ? a + x.rank() : a] = true;
    Dims out_shape;
    for (int d = 0; d < x.rank(); ++d) {
      if (!reduced[d]) out_shape.push_back(x.shape[d]);
    }
    Tensor<T> out(out_shape);
    for (int64_t i = 0; i < x.size(); ++i) {
      int64_t rem = i, out_index = 0, out_stride = 1;
      for (int d = x.rank() - 1; d >= 0; --d) {
        int64_t coord = rem % x.shape[d];
        rem /= x.shape[d];
        if (!reduced[d]) {
          out_index += coord * out_stride;
          out_stride *= x.shape[d];
        }
      }
      out[out_index] += x[i];
    }
    return out;
  }

  static Tensor<T> cross_entropy(const Tensor<T>& logits, const IntTensor& labels) {
    int64_t c = logits.shape.back(), n = c ? logits.size() / c : 0;
    T total = 0;
    for (int64_t r = 0; r < n; ++r) {
      int64_t label = labels[r];
      RNNC_USER_CHECK(label >= 0 && label < c) << "cross_entropy: label " << label << " of row " << r
                                               << " is outside the " << c << " classes";
      T mx = logits[r * c];
      for (int64_t j = 1; j < c; ++j) mx = std::max(mx, logits[r * c + j]);
      T sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += std::exp(logits[r * c + j] - mx);
      total += std::log(sum) + mx - logits[r * c + label];
    }
    return Tensor<T>({}, n ? total / static_cast<T>(n) : T(0));
  }

  // The recurrence, exactly as ops.h defines it.
  std::vector<Value<T>> scan(const Function& f, NodeId n, const std::vector<const Value<T>*>& in, Bindings& b) {
    const ir::Attrs& a = f.node(n).attrs;
    const Function& body = *f.body(n);
    int64_t carries = a.get_int("carries"), sequences = a.get_int("sequences");
    bool has_lengths = a.has_flag("lengths");
    bool reverse = a.get_word("direction") == "reverse";
    size_t first = has_lengths ? 1 : 0;
    size_t num_args = body.args().size();
    int64_t steps = shape_of(*in[first + carries])[0];

    std::vector<Value<T>> carry;
    for (int64_t i = 0; i < carries; ++i) carry.push_back(*in[first + i]);
    const IntTensor* lengths = has_lengths ? &I(in[0]) : nullptr;
    if (lengths) {
      for (int64_t r = 0; r < lengths->size(); ++r) {
        RNNC_USER_CHECK((*lengths)[r] >= 0 && (*lengths)[r] <= steps)
            << "scan: lengths[" << r << "] = " << (*lengths)[r] << " is outside [0, " << steps << "]";
      }
    }
    // Chunks of `unroll` steps (one step each unless unrolled); a step past the time dimension reads
    // zeros and its outputs are dropped.
    int64_t unroll = a.get_int_or("unroll", 1);
    size_t num_outputs = (body.results().size() - carries) / unroll;
    std::vector<std::vector<Value<T>>> by_time(steps);
    for (int64_t chunk = 0; chunk * unroll < steps; ++chunk) {
      std::vector<int64_t> times;
      for (int64_t u = 0; u < unroll; ++u) {
        int64_t s = chunk * unroll + u;
        times.push_back(s >= steps ? -1 : reverse ? steps - 1 - s : s);
      }
      std::vector<Value<T>> args = carry;
      for (int64_t t : times) {
        for (int64_t j = 0; j < sequences; ++j) {
          const Value<T>& seq = *in[first + carries + j];
          args.push_back(t >= 0 ? step_of(seq, t) : zero_step_of(seq));
        }
      }
      for (size_t k = 0; k < num_args - carries - unroll * sequences; ++k) args.push_back(*in[first + carries + sequences + k]);
      std::vector<Value<T>> res = call(body, args, b);
      for (int64_t i = 0; i < carries; ++i) {
        if (lengths) keep_rows(res[i], carry[i], *lengths, times[0], /*zero=*/false);
        carry[i] = res[i];
      }
      for (int64_t u = 0; u < unroll; ++u) {
        if (times[u] < 0) continue;
        auto begin = res.begin() + carries + u * num_outputs;
        std::vector<Value<T>> out(begin, begin + num_outputs);
        if (lengths) {
          for (Value<T>& o : out) keep_rows(o, o, *lengths, times[u], /*zero=*/true);
        }
        by_time[times[u]] = out;
      }
    }
    std::vector<Value<T>> results = carry;
    for (size_t o = 0; o < num_outputs; ++o) {
      const Value<T>& sample = by_time.empty() ? Value<T>(Tensor<T>(concrete(body.result_types()[carries + o].shape, b)))
                                               : by_time[0][o];
      Dims shape = shape_of(sample);
      shape.insert(shape.begin(), steps);
      results.push_back(stack(by_time, o, shape));
    }
    return results;
  }

  static Value<T> zero_step_of(const Value<T>& seq) {
    return std::visit(
        [](const auto& x) -> Value<T> {
          using Tn = std::decay_t<decltype(x)>;
          return Tn(Dims(x.shape.begin() + 1, x.shape.end()));
        },
        seq);
  }

  static Value<T> step_of(const Value<T>& seq, int64_t t) {
    return std::visit(
        [t](const auto& x) -> Value<T> {
          using Tn = std::decay_t<decltype(x)>;
          Dims shape(x.shape.begin() + 1, x.shape.end());
          int64_t step = num_elements(shape);
          Tn out(shape);
          std::copy(x.data.begin() + t * step, x.data.begin() + (t + 1) * step, out.data.begin());
          return out;
        },
        seq);
  }

  // Rows b with t >= lengths[b] are finished: they keep `previous` (a carry) or become zero (an output).
  static void keep_rows(Value<T>& next, const Value<T>& previous, const IntTensor& lengths, int64_t t, bool zero) {
    std::visit(
        [&](auto& x) {
          using Tn = std::decay_t<decltype(x)>;
          const Tn& prev = std::get<Tn>(previous);
          int64_t rows = x.shape[0], row = rows ? x.size() / rows : 0;
          for (int64_t r = 0; r < rows; ++r) {
            if (t < lengths[r]) continue;
            for (int64_t i = r * row; i < (r + 1) * row; ++i) x.data[i] = zero ? 0 : prev.data[i];
          }
        },
        next);
  }

  // Rows r of `out` where mask[r] != 0 are replaced by those of `chosen`.
  static void keep_rows_where(Value<T>& out, const Value<T>& chosen, const IntTensor& mask) {
    std::visit(
        [&](auto& x) {
          using Tn = std::decay_t<decltype(x)>;
          const Tn& c = std::get<Tn>(chosen);
          int64_t rows = x.shape[0], row = rows ? x.size() / rows : 0;
          for (int64_t r = 0; r < rows; ++r) {
            if (mask[r] == 0) continue;
            std::copy(c.data.begin() + r * row, c.data.begin() + (r + 1) * row, x.data.begin() + r * row);
          }
        },
        out);
  }

  // Stacks the step outputs, by_time[t][o], along a new leading time dim.
  static Value<T> stack(const std::vector<std::vector<Value<T>>>& by_time, size_t o, const Dims& shape) {
    return std::visit(
        [&](const auto& sample) -> Value<T> {
          using Tn = std::decay_t<decltype(sample)>;
          Tn out(shape);
          int64_t steps = static_cast<int64_t>(by_time.size());
          int64_t step = steps ? out.size() / steps : 0;
          for (int64_t t = 0; t < steps; ++t) {
            const Tn& x = std::get<Tn>(by_time[t][o]);
            std::copy(x.data.begin(), x.data.end(), out.data.begin() + t * step);
          }
          return out;
        },
        by_time.empty() ? Value<T>(Tensor<T>()) : by_time[0][o]);
  }

  const std::map<std::string, Tensor<T>>& params_;
};

}  // namespace

template <typename T>
ReferenceExecutor<T>::ReferenceExecutor(ir::Module module) : module_(std::move(module)) {
  ir::verify_or_throw(module_, "before execution");
}

template <typename T>
void ReferenceExecutor<T>::set_param(const std::string& name, Tensor<T> value) {
  const ir::ParamDecl* decl = module_.find_param(name);
  RNNC_USER_CHECK(decl) << "module @" << module_.name() << " has no parameter @" << name;
  Dims want;
  for (const ir::Dim& d : decl->type.shape) {
    RNNC_USER_CHECK(!d.is_symbolic()) << "parameter @" << name << " has a symbolic shape " << decl->type;
    want.push_back(d.size);
  }
  RNNC_USER_CHECK(value.shape == want && value.size() == num_elements(want))
      << "parameter @" << name << " is declared " << decl->type << " but the value has shape " << dims_str(value.shape);
  params_[name] = std::move(value);
}

template <typename T>
const Tensor<T>& ReferenceExecutor<T>::param(const std::string& name) const {
  auto it = params_.find(name);
  RNNC_USER_CHECK(it != params_.end()) << "parameter @" << name << " has no value";
  return it->second;
}

template <typename T>
void ReferenceExecutor<T>::init_params(uint64_t seed) {
  params_ = draw_params<T>(module_, seed);
}

template <typename T>
std::vector<Value<T>> ReferenceExecutor<T>::run(const std::string& function, const std::vector<Value<T>>& args) const {
  const ir::Function* f = module_.find_function(function);
  RNNC_USER_CHECK(f) << "module @" << module_.name() << " has no function @" << function;
  Bindings bindings;
  return Interpreter<T>(params_).call(*f, args, bindings);
}

template class ReferenceExecutor<float>;
template class ReferenceExecutor<double>;

}  // namespace rnnc::runtime
