#include "frontend/onnx/binding.h"

#include <algorithm>

#include "ir/error.h"

namespace rnnc::onnx_import {

using runtime::Dims;
using runtime::IntTensor;
using runtime::Tensor;

// --- views ----------------------------------------------------------------------------------------------

TensorSource TensorSource::whole(std::string input, std::shared_ptr<const HostTensor> data, std::string origin,
                                 ir::Shape shape) {
  TensorSource s;
  s.input = std::move(input);
  s.data = std::move(data);
  s.origin = std::move(origin);
  s.src_shape = std::move(shape);
  for (int k = 0; k < static_cast<int>(s.src_shape.size()); ++k) s.axes.push_back(SourceAxis{k, 0, -1});
  return s;
}

ir::Shape TensorSource::shape() const {
  ir::Shape out;
  for (const SourceAxis& a : axes) {
    if (a.src < 0) out.push_back(ir::Dim::fixed(1));
    else if (a.size >= 0) out.push_back(ir::Dim::fixed(a.size));
    else if (src_shape[a.src].is_symbolic()) out.push_back(src_shape[a.src]);
    else out.push_back(ir::Dim::fixed(src_shape[a.src].size - a.start));
  }
  return out;
}

namespace {

void check_axis(const TensorSource& s, int axis, const char* what) {
  RNNC_INTERNAL_CHECK(axis >= 0 && axis < s.rank()) << what << ": axis " << axis << " of a rank-" << s.rank() << " view";
}

}  // namespace

TensorSource TensorSource::select(int axis, int64_t index) const {
  check_axis(*this, axis, "select");
  TensorSource s = *this;
  const SourceAxis a = axes[axis];
  ir::Dim d = shape()[axis];
  RNNC_USER_CHECK(index >= 0 && (d.is_symbolic() || index < d.size))
      << origin << ": index " << index << " out of range along an axis of size " << d.str();
  if (a.src >= 0) s.fixed.push_back({a.src, a.start + index});
  s.axes.erase(s.axes.begin() + axis);
  return s;
}

TensorSource TensorSource::narrow(int axis, int64_t start, int64_t size) const {
  check_axis(*this, axis, "narrow");
  TensorSource s = *this;
  ir::Dim d = shape()[axis];
  RNNC_USER_CHECK(start >= 0 && size >= 0 && (d.is_symbolic() || start + size <= d.size))
      << origin << ": range [" << start << ", " << start + size << ") out of range along an axis of size " << d.str();
  SourceAxis& a = s.axes[axis];
  if (a.src < 0) return s;  // [0, 1) of an inserted axis
  a.start += start;
  a.size = size;
  return s;
}

TensorSource TensorSource::permute(const std::vector<int>& perm) const {
  RNNC_INTERNAL_CHECK(perm.size() == axes.size()) << "permute: " << perm.size() << " axes for a rank-" << rank() << " view";
  TensorSource s = *this;
  for (size_t i = 0; i < perm.size(); ++i) s.axes[i] = axes.at(perm[i]);
  return s;
}

TensorSource TensorSource::unsqueeze(int axis) const {
  RNNC_INTERNAL_CHECK(axis >= 0 && axis <= rank()) << "unsqueeze: axis " << axis;
  TensorSource s = *this;
  s.axes.insert(s.axes.begin() + axis, SourceAxis{-1, 0, 1});
  return s;
}

TensorSource TensorSource::scaled(double factor) const {
  TensorSource s = *this;
  s.scale *= factor;
  return s;
}

// --- extraction -----------------------------------------------------------------------------------------

namespace {

// The source tensor of a view: a graph input from `inputs` or the data held.
struct Resolved {
  const Dims* dims = nullptr;
  const std::vector<float>* f32 = nullptr;
  const std::vector<double>* f64 = nullptr;
  const std::vector<int64_t>* ints = nullptr;
  bool is_float() const { return f32 || f64; }
  double at(int64_t i) const {
    if (f32) return (*f32)[static_cast<size_t>(i)];
    if (f64) return (*f64)[static_cast<size_t>(i)];
    return static_cast<double>((*ints)[static_cast<size_t>(i)]);
  }
  int64_t int_at(int64_t i) const {
    if (ints) return (*ints)[static_cast<size_t>(i)];
    return static_cast<int64_t>(at(i));
  }
};

Resolved resolve(const TensorSource& s, const InputTensors& inputs) {
  Resolved r;
  if (s.input.empty()) {
    RNNC_INTERNAL_CHECK(s.data) << s.origin << ": a view without a source";
    if (const auto* t = std::get_if<Tensor<double>>(s.data.get())) {
      r.dims = &t->shape;
      r.f64 = &t->data;
    } else {
      const IntTensor& ints = std::get<IntTensor>(*s.data);
      r.dims = &ints.shape;
      r.ints = &ints.data;
    }
    return r;
  }
  auto it = inputs.find(s.input);
  RNNC_USER_CHECK(it != inputs.end()) << "no tensor given for graph input '" << s.input << "'";
  const onnx_io::TensorFile& f = it->second;
  if (f.is_float()) {
    const Tensor<float>& t = std::get<Tensor<float>>(f.value);
    r.dims = &t.shape;
    r.f32 = &t.data;
  } else {
    const IntTensor& t = std::get<IntTensor>(f.value);
    r.dims = &t.shape;
    r.ints = &t.data;
  }
  return r;
}

// Walks the view's index space in row-major order, calling emit(source flat index) per element.
template <typename Emit>
Dims walk(const TensorSource& s, const Dims& sd, Emit emit) {
  RNNC_USER_CHECK(sd.size() == s.src_shape.size())
      << s.origin << " has rank " << sd.size() << ", the model declares " << s.src_shape.size();
  Dims strides(sd.size(), 1);
  for (size_t k = sd.size(); k-- > 1;) strides[k - 1] = strides[k] * sd[k];
  int64_t base = 0;
  for (const auto& [axis, index] : s.fixed) {
    RNNC_USER_CHECK(index < sd[axis]) << s.origin << ": index " << index << " along axis " << axis << " of size " << sd[axis];
    base += index * strides[axis];
  }
  Dims dims, step;
  for (const SourceAxis& a : s.axes) {
    if (a.src < 0) {
      dims.push_back(1);
      step.push_back(0);
      continue;
    }
    int64_t size = a.size >= 0 ? a.size : sd[a.src] - a.start;
    RNNC_USER_CHECK(a.start >= 0 && size >= 0 && a.start + size <= sd[a.src])
        << s.origin << ": range [" << a.start << ", " << a.start + size << ") along axis " << a.src << " of size "
        << sd[a.src];
    base += a.start * strides[a.src];
    dims.push_back(size);
    step.push_back(strides[a.src]);
  }
  int64_t n = runtime::num_elements(dims);
  Dims idx(dims.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t off = base;
    for (size_t k = 0; k < dims.size(); ++k) off += idx[k] * step[k];
    emit(off);
    for (size_t k = dims.size(); k-- > 0;) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return dims;
}

template <typename T>
Tensor<T> extract_float(const TensorSource& s, const InputTensors& inputs) {
  Resolved r = resolve(s, inputs);  // integers convert (a Cast the importer folded into the binding)
  std::vector<T> data;
  Dims dims = walk(s, *r.dims, [&](int64_t i) { data.push_back(static_cast<T>(r.at(i) * s.scale)); });
  return Tensor<T>(dims, std::move(data));
}

IntTensor extract_int(const TensorSource& s, const InputTensors& inputs) {
  Resolved r = resolve(s, inputs);
  std::vector<int64_t> data;
  Dims dims = walk(s, *r.dims, [&](int64_t i) { data.push_back(r.int_at(i)); });
  return IntTensor(dims, std::move(data));
}

}  // namespace

std::vector<int64_t> view_indices(const TensorSource& s, const Dims& src_dims, Dims* dims) {
  std::vector<int64_t> out;
  *dims = walk(s, src_dims, [&](int64_t i) { out.push_back(i); });
  return out;
}

void check_inputs(const Bindings& b, const InputTensors& inputs) {
  for (const onnx_io::ValueInfo& v : b.inputs) {
    auto it = inputs.find(v.name);
    RNNC_USER_CHECK(it != inputs.end()) << "graph input '" << v.name << "' is not given";
    const onnx_io::TensorFile& f = it->second;
    if (!v.has_shape) continue;
    const Dims& d = f.dims();
    RNNC_USER_CHECK(d.size() == v.dims.size()) << f.path << ": graph input '" << v.name << "' has shape "
                                                << runtime::dims_str(d) << ", the model declares rank "
                                                << v.dims.size();
    for (size_t k = 0; k < d.size(); ++k) {
      RNNC_USER_CHECK(v.dims[k].value < 0 || v.dims[k].value == d[k])
          << f.path << ": graph input '" << v.name << "' has shape " << runtime::dims_str(d) << ", the model declares "
          << v.dims[k].value << " at axis " << k;
    }
  }
  for (const auto& [name, f] : inputs) {
    // (an explicit capture: clang 14 cannot capture a structured binding)
    bool known = std::any_of(b.inputs.begin(), b.inputs.end(), [&n = name](const onnx_io::ValueInfo& v) { return v.name == n; });
    RNNC_USER_CHECK(known) << f.path << ": '" << name << "' is not a graph input of the model";
  }
}

template <typename T>
std::vector<runtime::Value<T>> bind_args(const Bindings& b, const ir::Function& f, const InputTensors& inputs) {
  std::vector<runtime::Value<T>> out;
  for (size_t i = 0; i < f.args().size(); ++i) {
    const std::string& name = f.value_name(f.arg(i));
    auto it = std::find_if(b.args.begin(), b.args.end(), [&](const ArgBinding& a) { return a.arg == name; });
    RNNC_INTERNAL_CHECK(it != b.args.end()) << "argument %" << name << " has no ONNX binding";
    if (ir::is_float(it->dtype)) out.push_back(extract_float<T>(it->source, inputs));
    else out.push_back(extract_int(it->source, inputs));
  }
  return out;
}

template <typename T>
std::map<std::string, Tensor<T>> bind_params(const Bindings& b, const InputTensors& inputs) {
  std::map<std::string, Tensor<T>> out;
  for (const ParamBinding& p : b.params) out[p.param] = extract_float<T>(p.source, inputs);
  return out;
}

template <typename T>
std::vector<HostTensor> unbind_outputs(const Bindings& b, const ir::Function& f,
                                       const std::vector<runtime::Value<T>>& results) {
  const std::vector<std::string>& names = f.result_names();
  RNNC_INTERNAL_CHECK(names.size() == results.size()) << "unbind_outputs: " << results.size() << " results for "
                                                      << names.size() << " names";
  auto result = [&](const std::string& name) -> const runtime::Value<T>& {
    auto it = std::find(names.begin(), names.end(), name);
    RNNC_INTERNAL_CHECK(it != names.end()) << "no result named " << name;
    return results[static_cast<size_t>(it - names.begin())];
  };
  std::vector<HostTensor> out;
  for (const OutputBinding& o : b.outputs) {
    if (o.constant) {
      out.push_back(*o.constant);
      continue;
    }
    RNNC_INTERNAL_CHECK(!o.pieces.empty()) << "output " << o.name << " has no pieces";
    const size_t rank = o.pieces[0].axes.size();
    // Each piece's ONNX shape, and the whole one.
    std::vector<Dims> piece_dims;
    for (const OutputPiece& p : o.pieces) {
      const Dims& ir = runtime::shape_of(result(p.result));
      Dims d;
      for (int a : p.axes) d.push_back(a < 0 ? 1 : ir.at(static_cast<size_t>(a)));
      piece_dims.push_back(d);
    }
    Dims dims = piece_dims[0];
    for (size_t p = 1; p < piece_dims.size(); ++p) dims[static_cast<size_t>(o.concat_axis)] += piece_dims[p][static_cast<size_t>(o.concat_axis)];
    Dims strides(rank, 1);
    for (size_t k = rank; k-- > 1;) strides[k - 1] = strides[k] * dims[k];
    Tensor<double> ft;
    IntTensor it;
    if (o.is_float) ft = Tensor<double>(dims);
    else it = IntTensor(dims);
    int64_t offset = 0;  // along the concat axis
    for (size_t p = 0; p < o.pieces.size(); ++p) {
      const runtime::Value<T>& v = result(o.pieces[p].result);
      const Dims& ir = runtime::shape_of(v);
      Dims ir_strides(ir.size(), 1);
      for (size_t k = ir.size(); k-- > 1;) ir_strides[k - 1] = ir_strides[k] * ir[k];
      const Dims& pd = piece_dims[p];
      int64_t n = runtime::num_elements(pd);
      Dims idx(rank, 0);
      for (int64_t e = 0; e < n; ++e) {
        int64_t src = 0, dst = 0;
        for (size_t k = 0; k < rank; ++k) {
          int a = o.pieces[p].axes[k];
          if (a >= 0) src += idx[k] * ir_strides[static_cast<size_t>(a)];
          dst += (idx[k] + (static_cast<int>(k) == o.concat_axis ? offset : 0)) * strides[k];
        }
        if (o.is_float) ft[dst] = static_cast<double>(std::get<Tensor<T>>(v)[src]);
        else it[dst] = std::holds_alternative<IntTensor>(v) ? std::get<IntTensor>(v)[src]
                                                             : static_cast<int64_t>(std::get<Tensor<T>>(v)[src]);
        for (size_t k = rank; k-- > 0;) {
          if (++idx[k] < pd[k]) break;
          idx[k] = 0;
        }
      }
      if (rank > 0) offset += pd[static_cast<size_t>(o.concat_axis)];
    }
    if (o.is_float) out.push_back(std::move(ft));
    else out.push_back(std::move(it));
  }
  return out;
}

template std::vector<runtime::Value<float>> bind_args<float>(const Bindings&, const ir::Function&, const InputTensors&);
template std::vector<runtime::Value<double>> bind_args<double>(const Bindings&, const ir::Function&, const InputTensors&);
template std::map<std::string, Tensor<float>> bind_params<float>(const Bindings&, const InputTensors&);
template std::map<std::string, Tensor<double>> bind_params<double>(const Bindings&, const InputTensors&);
template std::vector<HostTensor> unbind_outputs<float>(const Bindings&, const ir::Function&,
                                                       const std::vector<runtime::Value<float>>&);
template std::vector<HostTensor> unbind_outputs<double>(const Bindings&, const ir::Function&,
                                                        const std::vector<runtime::Value<double>>&);

}  // namespace rnnc::onnx_import
