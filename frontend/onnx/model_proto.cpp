#include "frontend/onnx/model_proto.h"

#include <set>

#include "frontend/onnx/proto_convert.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::onnx_io {

namespace {

ValueInfo value_info(const onnx::ValueInfoProto& v) {
  ValueInfo out;
  out.name = v.name();
  if (v.has_type() && v.type().has_tensor_type()) {
    const onnx::TypeProto_Tensor& t = v.type().tensor_type();
    out.elem_type = t.elem_type();
    if (t.has_shape()) {
      out.has_shape = true;
      for (const onnx::TensorShapeProto_Dimension& d : t.shape().dim()) {
        DimInfo di;
        if (d.has_dim_value()) di.value = d.dim_value();
        else if (d.has_dim_param()) di.param = d.dim_param();
        out.dims.push_back(di);
      }
    }
  }
  return out;
}

}  // namespace

GraphInfo read_graph(const std::string& path) {
  const std::string what = "ONNX model file '" + path + "'";
  std::string bytes = read_file_or_say_why(path, "ONNX model file");

  onnx::ModelProto mp;
  RNNC_USER_CHECK(mp.ParseFromString(bytes))
      << what << ": not a valid ModelProto (protobuf parsing failed on " << bytes.size()
      << " bytes; truncated or corrupted?)";
  RNNC_USER_CHECK(mp.has_graph()) << what << ": has no graph (an empty, truncated or non-ONNX file?)";
  const onnx::GraphProto& g = mp.graph();

  GraphInfo info;
  info.path = path;
  info.graph_name = g.name();
  info.ir_version = mp.ir_version();
  info.opset = default_opset(mp, what);
  RNNC_USER_CHECK(g.node_size() > 0) << what << ": graph '" << g.name() << "' has no nodes";
  RNNC_USER_CHECK(g.sparse_initializer_size() == 0) << what << ": sparse initializers are not supported";

  for (const onnx::TensorProto& t : g.initializer()) {
    RNNC_USER_CHECK(!t.name().empty()) << what << ": an initializer without a name";
    RNNC_USER_CHECK(!info.initializers.count(t.name())) << what << ": two initializers named '" << t.name() << "'";
    info.initializers.emplace(t.name(), tensor_from_proto(t, what + ": initializer '" + t.name() + "'", path));
  }
  // Every value is defined once, by an initializer, a graph input or one node's output (ONNX graphs are
  // in single static assignment form): a second definition would silently replace the first.
  std::map<std::string, std::string> defined_by;
  for (const auto& [name, t] : info.initializers) defined_by[name] = "an initializer";
  std::set<std::string> seen;
  for (const onnx::ValueInfoProto& v : g.input()) {
    RNNC_USER_CHECK(!v.name().empty()) << what << ": a graph input without a name";
    RNNC_USER_CHECK(seen.insert(v.name()).second) << what << ": two graph inputs named '" << v.name() << "'";
    defined_by.emplace(v.name(), "a graph input");
    if (!info.initializers.count(v.name())) info.inputs.push_back(value_info(v));  // IR < 4 lists initializers too
  }
  for (const onnx::ValueInfoProto& v : g.output()) {
    RNNC_USER_CHECK(!v.name().empty()) << what << ": a graph output without a name";
    info.outputs.push_back(value_info(v));
  }
  RNNC_USER_CHECK(!info.outputs.empty()) << what << ": graph '" << g.name() << "' has no outputs";

  for (int k = 0; k < g.node_size(); ++k) {
    const onnx::NodeProto& n = g.node(k);
    NodeInfo node;
    const std::string node_name = "node " + std::to_string(k) + (n.name().empty() ? "" : " '" + n.name() + "'") + " (" +
                                  (n.op_type().empty() ? "no op type" : n.op_type()) + ")";
    node.source = what + ": " + node_name;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const std::string& out : node.outputs) {
      if (out.empty()) continue;  // an optional output left out
      auto [it, fresh] = defined_by.emplace(out, node_name);
      RNNC_USER_CHECK(fresh) << node.source << ": output '" << out << "' is already defined by " << it->second
                             << " (an ONNX value is assigned once)";
    }
    for (const onnx::AttributeProto& a : n.attribute()) {
      RNNC_USER_CHECK(!node.has(a.name())) << node.source << ": attribute '" << a.name() << "' given twice";
      node.attributes[a.name()] = attribute_from_proto(a, node.source, path);
    }
    info.nodes.push_back(std::move(node));
  }
  return info;
}

}  // namespace rnnc::onnx_io
