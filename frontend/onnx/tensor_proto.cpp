#include "frontend/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <bit>
#include <cstring>

#include "frontend/onnx/proto_convert.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::onnx_io {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; this reader copies it as is");

using runtime::Dims;
using runtime::IntTensor;
using runtime::Tensor;

namespace {

// Copies n little-endian elements of type S out of raw_data into `out` (converted to D).
template <typename S, typename D>
void copy_raw(const std::string& raw, std::vector<D>& out) {
  size_t n = raw.size() / sizeof(S);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    S v;
    std::memcpy(&v, raw.data() + i * sizeof(S), sizeof(S));
    out[i] = static_cast<D>(v);
  }
}

size_t element_size(int32_t dt) {
  switch (static_cast<DataType>(dt)) {
    case DataType::Float:
    case DataType::Int32: return 4;
    case DataType::Int64:
    case DataType::Double: return 8;
    default: return 0;
  }
}

}  // namespace

std::string data_type_name(int32_t data_type) {
  // Names for every TensorProto.DataType, so that an unsupported one reads well in a message.
  if (onnx::TensorProto_DataType_IsValid(data_type)) {
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(data_type));
  }
  return "data type " + std::to_string(data_type);
}

const Dims& TensorFile::dims() const {
  return is_float() ? std::get<Tensor<float>>(value).shape : std::get<IntTensor>(value).shape;
}

TensorFile read_tensor(const std::string& path) {
  const std::string what = "ONNX tensor file";
  std::string bytes = read_file_or_say_why(path, what);
  onnx::TensorProto tp;
  RNNC_USER_CHECK(tp.ParseFromString(bytes))
      << what << " '" << path << "': not a valid TensorProto (protobuf parsing failed on " << bytes.size()
      << " bytes; truncated or corrupted?)";
  return tensor_from_proto(tp, what + " '" + path + "'" + (tp.name().empty() ? "" : " (tensor '" + tp.name() + "')"), path);
}

TensorFile tensor_from_proto(const onnx::TensorProto& tp, const std::string& where, const std::string& path) {
  TensorFile file;
  file.path = path;
  file.name = tp.name();
  file.data_type = tp.data_type();

  RNNC_USER_CHECK(tp.data_location() != onnx::TensorProto::EXTERNAL)
      << where << ": data stored externally is not supported";
  RNNC_USER_CHECK(!tp.has_segment()) << where << ": segmented tensors are not supported";

  Dims dims;
  int64_t count = 1;
  for (int64_t d : tp.dims()) {
    RNNC_USER_CHECK(d >= 0) << where << ": negative dimension " << d;
    RNNC_USER_CHECK(d == 0 || count <= (int64_t{1} << 40) / d)
        << where << ": dims " << runtime::dims_str(Dims(tp.dims().begin(), tp.dims().end())) << " are too large";
    count *= d;
    dims.push_back(d);
  }
  const std::string dims_text = runtime::dims_str(dims);
  const int32_t dt = tp.data_type();
  const size_t esize = element_size(dt);
  RNNC_USER_CHECK(esize != 0) << where << ": unsupported data type " << data_type_name(dt)
                              << " (this reader takes FLOAT, DOUBLE, INT32 and INT64)";

  // Which field holds the data: raw_data, or the typed repeated field of this data type.
  int typed_count = 0;
  switch (static_cast<DataType>(dt)) {
    case DataType::Float: typed_count = tp.float_data_size(); break;
    case DataType::Double: typed_count = tp.double_data_size(); break;
    case DataType::Int32: typed_count = tp.int32_data_size(); break;
    case DataType::Int64: typed_count = tp.int64_data_size(); break;
    default: break;
  }
  const bool raw = !tp.raw_data().empty();
  RNNC_USER_CHECK(!(raw && typed_count > 0))
      << where << ": holds both raw_data and typed data; ONNX allows only one";
  if (raw) {
    RNNC_USER_CHECK(tp.raw_data().size() == static_cast<size_t>(count) * esize)
        << where << ": dims " << dims_text << " need " << count << " " << data_type_name(dt) << " elements ("
        << static_cast<size_t>(count) * esize << " bytes) but raw_data has " << tp.raw_data().size() << " bytes";
  } else {
    RNNC_USER_CHECK(typed_count == count)
        << where << ": dims " << dims_text << " need " << count << " " << data_type_name(dt)
        << " elements but the file holds " << typed_count;
  }

  switch (static_cast<DataType>(dt)) {
    case DataType::Float: {
      Tensor<float> t;
      t.shape = dims;
      if (raw) copy_raw<float>(tp.raw_data(), t.data);
      else t.data.assign(tp.float_data().begin(), tp.float_data().end());
      file.value = std::move(t);
      break;
    }
    case DataType::Double: {
      Tensor<float> t;
      t.shape = dims;
      if (raw) copy_raw<double>(tp.raw_data(), t.data);
      else for (double v : tp.double_data()) t.data.push_back(static_cast<float>(v));
      file.value = std::move(t);
      break;
    }
    case DataType::Int32: {
      IntTensor t;
      t.shape = dims;
      if (raw) copy_raw<int32_t>(tp.raw_data(), t.data);
      else t.data.assign(tp.int32_data().begin(), tp.int32_data().end());
      file.value = std::move(t);
      break;
    }
    case DataType::Int64: {
      IntTensor t;
      t.shape = dims;
      if (raw) copy_raw<int64_t>(tp.raw_data(), t.data);
      else t.data.assign(tp.int64_data().begin(), tp.int64_data().end());
      file.value = std::move(t);
      break;
    }
    default: RNNC_INTERNAL_CHECK(false) << "unhandled data type " << dt;
  }
  return file;
}

Tensor<float> read_float_tensor(const std::string& path) {
  TensorFile f = read_tensor(path);
  RNNC_USER_CHECK(f.data_type == static_cast<int32_t>(DataType::Float))
      << "ONNX tensor file '" << path << "'" << (f.name.empty() ? "" : " (tensor '" + f.name + "')")
      << ": expected a FLOAT tensor, found " << data_type_name(f.data_type);
  return std::get<Tensor<float>>(std::move(f.value));
}

IntTensor read_int_tensor(const std::string& path) {
  TensorFile f = read_tensor(path);
  RNNC_USER_CHECK(!f.is_float()) << "ONNX tensor file '" << path << "'"
                                 << (f.name.empty() ? "" : " (tensor '" + f.name + "')")
                                 << ": expected an INT32 or INT64 tensor, found " << data_type_name(f.data_type);
  return std::get<IntTensor>(std::move(f.value));
}

// --- models -----------------------------------------------------------------------------------------

const char* attribute_kind_name(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::Int: return "INT";
    case Attribute::Kind::Float: return "FLOAT";
    case Attribute::Kind::String: return "STRING";
    case Attribute::Kind::Ints: return "INTS";
    case Attribute::Kind::Floats: return "FLOATS";
    case Attribute::Kind::Strings: return "STRINGS";
    case Attribute::Kind::Tensor: return "TENSOR";
    case Attribute::Kind::Other: return "another kind";
  }
  return "?";
}

const Attribute& NodeInfo::get(const std::string& attr, Attribute::Kind kind) const {
  auto it = attributes.find(attr);
  RNNC_USER_CHECK(it != attributes.end()) << source << ": has no attribute '" << attr << "'";
  RNNC_USER_CHECK(it->second.kind == kind) << source << ": attribute '" << attr << "' is "
                                           << attribute_kind_name(it->second.kind) << ", expected "
                                           << attribute_kind_name(kind);
  return it->second;
}

int64_t NodeInfo::get_int(const std::string& attr) const { return get(attr, Attribute::Kind::Int).i; }
int64_t NodeInfo::get_int(const std::string& attr, int64_t fallback) const {
  return has(attr) ? get_int(attr) : fallback;
}
float NodeInfo::get_float(const std::string& attr) const { return get(attr, Attribute::Kind::Float).f; }
float NodeInfo::get_float(const std::string& attr, float fallback) const {
  return has(attr) ? get_float(attr) : fallback;
}
std::string NodeInfo::get_string(const std::string& attr) const { return get(attr, Attribute::Kind::String).s; }
std::string NodeInfo::get_string(const std::string& attr, const std::string& fallback) const {
  return has(attr) ? get_string(attr) : fallback;
}
std::vector<int64_t> NodeInfo::get_ints(const std::string& attr) const { return get(attr, Attribute::Kind::Ints).ints; }
std::vector<float> NodeInfo::get_floats(const std::string& attr) const {
  return get(attr, Attribute::Kind::Floats).floats;
}
std::vector<std::string> NodeInfo::get_strings(const std::string& attr) const {
  return get(attr, Attribute::Kind::Strings).strings;
}

Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& where, const std::string& path) {
  Attribute out;
  out.name = a.name();
  using A = onnx::AttributeProto;
  A::AttributeType type = a.type();
  if (type == A::UNDEFINED) {
    // IR version 1 files leave the type out; the field that is set says it.
    if (a.has_i()) type = A::INT;
    else if (a.has_f()) type = A::FLOAT;
    else if (a.has_s()) type = A::STRING;
    else if (a.ints_size() > 0) type = A::INTS;
    else if (a.floats_size() > 0) type = A::FLOATS;
    else if (a.strings_size() > 0) type = A::STRINGS;
    else if (a.has_t()) type = A::TENSOR;
  }
  switch (type) {
    case A::INT: out.kind = Attribute::Kind::Int; out.i = a.i(); break;
    case A::FLOAT: out.kind = Attribute::Kind::Float; out.f = a.f(); break;
    case A::STRING: out.kind = Attribute::Kind::String; out.s = a.s(); break;
    case A::INTS:
      out.kind = Attribute::Kind::Ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case A::FLOATS:
      out.kind = Attribute::Kind::Floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case A::STRINGS:
      out.kind = Attribute::Kind::Strings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case A::TENSOR:
      out.kind = Attribute::Kind::Tensor;
      out.tensor = std::make_shared<TensorFile>(
          tensor_from_proto(a.t(), where + ": attribute '" + a.name() + "'", path));
      break;
    default: out.kind = Attribute::Kind::Other; break;
  }
  return out;
}

int64_t default_opset(const onnx::ModelProto& mp, const std::string& where) {
  int64_t opset = 0;
  for (const onnx::OperatorSetIdProto& op : mp.opset_import()) {
    if (!op.domain().empty() && op.domain() != "ai.onnx") continue;
    RNNC_USER_CHECK(opset == 0) << where << ": the default domain's opset is imported twice";
    opset = op.version();
    RNNC_USER_CHECK(opset >= 1 && opset <= kNewestOpset)
        << where << ": opset " << opset << " is not one rnnc reads (1 to " << kNewestOpset
        << ", ONNX 1.12; export with opset_version " << kNewestOpset << " or lower)";
  }
  return opset;
}

ModelInfo read_model(const std::string& path) {
  const std::string what = "ONNX model file";
  std::string bytes = read_file_or_say_why(path, what);
  onnx::ModelProto mp;
  RNNC_USER_CHECK(mp.ParseFromString(bytes))
      << what << " '" << path << "': not a valid ModelProto (protobuf parsing failed on " << bytes.size()
      << " bytes; truncated or corrupted?)";
  RNNC_USER_CHECK(mp.has_graph()) << what << " '" << path << "': has no graph";
  const onnx::GraphProto& g = mp.graph();

  ModelInfo info;
  info.path = path;
  info.graph_name = g.name();
  info.ir_version = mp.ir_version();
  info.opset = default_opset(mp, what + " '" + path + "'");
  for (const onnx::ValueInfoProto& v : g.input()) info.graph_inputs.push_back(v.name());
  for (const onnx::ValueInfoProto& v : g.output()) info.graph_outputs.push_back(v.name());
  info.num_nodes = static_cast<size_t>(g.node_size());
  RNNC_USER_CHECK(g.node_size() > 0) << what << " '" << path << "': graph '" << g.name() << "' has no nodes";

  const onnx::NodeProto& n = g.node(0);
  NodeInfo& node = info.node;
  node.source = what + " '" + path + "': node 0 (" + n.op_type() + ")";
  node.name = n.name();
  node.op_type = n.op_type();
  node.domain = n.domain();
  node.inputs.assign(n.input().begin(), n.input().end());
  node.outputs.assign(n.output().begin(), n.output().end());
  for (const onnx::AttributeProto& a : n.attribute()) {
    RNNC_USER_CHECK(!node.has(a.name())) << node.source << ": attribute '" << a.name() << "' given twice";
    node.attributes[a.name()] = attribute_from_proto(a, node.source, path);
  }
  return info;
}

}  // namespace rnnc::onnx_io
