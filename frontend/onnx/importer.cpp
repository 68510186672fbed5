#include "frontend/onnx/importer.h"

#include <filesystem>

#include "frontend/onnx/context.h"
#include "frontend/onnx/input_layouts.h"
#include "frontend/onnx/ops.h"
#include "ir/error.h"

namespace rnnc::onnx_import {

using detail::Context;
using detail::Piece;
using detail::TValue;

namespace {

TValue graph_input(Context& ctx, const onnx_io::ValueInfo& v) {
  const std::string where = "graph input '" + v.name + "'";
  using DT = onnx_io::DataType;
  TValue t;
  t.kind = TValue::Kind::Input;
  t.name = v.name;
  const int32_t et = v.elem_type;
  if (et == static_cast<int32_t>(DT::Float) || et == static_cast<int32_t>(DT::Double)) {
    t.is_float = true;
  } else if (et == static_cast<int32_t>(DT::Int32) || et == static_cast<int32_t>(DT::Int64)) {
    t.is_float = false;
    t.int_dtype = et == static_cast<int32_t>(DT::Int32) ? ir::DType::I32 : ir::DType::I64;
  } else {
    throw_user_error(ctx.graph.path + ": " + where + " has element type " + onnx_io::data_type_name(et) +
                     " (supported: FLOAT, DOUBLE, INT32, INT64)");
  }
  RNNC_USER_CHECK(v.has_shape) << ctx.graph.path << ": " << where << " declares no shape";
  ir::Shape shape;
  for (size_t k = 0; k < v.dims.size(); ++k) {
    const onnx_io::DimInfo& d = v.dims[k];
    if (d.value >= 0) shape.push_back(ir::Dim::fixed(d.value));
    else if (!d.param.empty()) shape.push_back(ir::Dim::named(Context::symbol(d.param)));
    else shape.push_back(ir::Dim::named(Context::symbol(v.name + "_d" + std::to_string(k))));
  }
  t.source = TensorSource::whole(v.name, nullptr, where, shape);
  return t;
}

TValue initializer(const onnx_io::TensorFile& f) {
  TValue t;
  if (f.is_float()) {
    const auto& x = std::get<runtime::Tensor<float>>(f.value);
    t = detail::const_float(x.shape, std::vector<double>(x.data.begin(), x.data.end()));
  } else {
    const auto& x = std::get<runtime::IntTensor>(f.value);
    std::vector<ir::Dim> d;
    for (int64_t v : x.data) d.push_back(ir::Dim::fixed(v));
    t = detail::const_int(x.shape, std::move(d));
    t.int_dtype = f.data_type == static_cast<int32_t>(onnx_io::DataType::Int32) ? ir::DType::I32 : ir::DType::I64;
  }
  t.name = f.name;
  t.origin = "initializer '" + f.name + "'";
  return t;
}

void bind_output(Context& ctx, const onnx_io::ValueInfo& o, std::map<ir::Value, std::string>& result_names) {
  auto it = ctx.values.find(o.name);
  RNNC_USER_CHECK(it != ctx.values.end()) << ctx.graph.path << ": graph output '" << o.name
                                          << "' is not produced by any node, initializer or graph input";
  const TValue& v = it->second;
  OutputBinding b;
  b.name = o.name;
  b.is_float = v.is_float;
  if (v.kind == TValue::Kind::Const) {
    if (v.is_float) {
      b.constant = std::make_shared<HostTensor>(runtime::Tensor<double>(v.dims, v.f));
    } else {
      b.constant = std::make_shared<HostTensor>(runtime::IntTensor(v.dims, detail::static_ints(v, "graph output '" + o.name + "'")));
    }
    ctx.bindings.outputs.push_back(b);
    return;
  }
  TValue d = ctx.dynamic(v);
  b.concat_axis = d.concat_axis;
  for (size_t k = 0; k < d.pieces.size(); ++k) {
    const Piece& p = d.pieces[k];
    std::string& name = result_names[p.expr.value()];
    if (name.empty()) {
      name = ctx.fresh(o.name + (d.pieces.size() > 1 ? "." + std::to_string(k) : ""));
      ctx.model.output(name, p.expr);
    }
    b.pieces.push_back(OutputPiece{name, p.axes});
  }
  ctx.bindings.outputs.push_back(b);
}

}  // namespace

ImportedModel import_graph(const onnx_io::GraphInfo& g, const ImportOptions& options) {
  std::string model_name = g.graph_name.empty() ? std::filesystem::path(g.path).stem().string() : g.graph_name;
  Context ctx(g, options, model_name);
  ctx.bindings.inputs = g.inputs;
  ctx.input_orders = detail::preferred_input_layouts(g);
  for (const auto& [name, f] : g.initializers) ctx.values[name] = initializer(f);
  for (const onnx_io::ValueInfo& v : g.inputs) ctx.values[v.name] = graph_input(ctx, v);

  for (const onnx_io::NodeInfo& n : g.nodes) {
    ctx.node = &n;
    try {
      detail::lower_node(ctx);
    } catch (const UserError& e) {
      std::string msg = e.what();
      if (msg.rfind(n.source, 0) == 0) throw;
      throw UserError(n.source + ": " + msg);
    }
    for (const std::string& out : n.outputs) {
      RNNC_USER_CHECK(out.empty() || ctx.values.count(out))
          << n.source << ": output '" << out << "' was not produced (an optional output that is not supported)";
    }
  }
  ctx.node = nullptr;
  std::map<ir::Value, std::string> result_names;
  for (const onnx_io::ValueInfo& o : g.outputs) bind_output(ctx, o, result_names);
  RNNC_USER_CHECK(!result_names.empty()) << g.path << ": every graph output is a constant; there is nothing to compute";

  ImportedModel m;
  m.path = g.path;
  m.module = ctx.model.finish();
  m.bindings = std::move(ctx.bindings);
  return m;
}

ImportedModel import_model(const std::string& path, const ImportOptions& options) {
  return import_graph(onnx_io::read_graph(path), options);
}

}  // namespace rnnc::onnx_import
