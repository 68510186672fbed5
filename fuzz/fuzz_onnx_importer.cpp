// libFuzzer target: the ONNX importer (frontend/onnx/importer.h, import_model), from bytes to rnnc IR.
//
// import_model takes a path, so each input is written to one scratch file per process (in $TMPDIR,
// else /tmp). It may succeed or throw a UserError. A module it returns must verify, and its printed
// text must parse back to the same module (the IR round trip of fuzz_ir_parser, on imported graphs).
//
// Byte-level mutations of a protobuf mostly break its framing, and the importer's logic sits behind a
// successful parse; so this target has a structure-aware mutator (LLVMFuzzerCustomMutator): it parses
// the input as a ModelProto, changes one thing an exporter could have written differently (an op type,
// an input name, an attribute's value or kind, an initializer's dims, type or data, a declared shape,
// the node order, the opset) and serialises it again. One mutation in five stays byte-level.
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "frontend/onnx/importer.h"
#include "fuzz/fuzz_common.h"
#include "ir/equal.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace rnnc;

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/rnnc-fuzz-import-" + std::to_string(::getpid()) + ".onnx";
    std::atexit([] { std::remove(scratch_path().c_str()); });
    return p;
  }();
  return path;
}

// --- the structure-aware mutator ------------------------------------------------------------------

using Rng = std::minstd_rand;

template <typename T, size_t N>
const T& pick(const T (&values)[N], Rng& r) {
  return values[r() % N];
}

int64_t some_int(Rng& r) {
  static const int64_t values[] = {0, 1, 2, 3, 4, 5, -1, -2, -3, 7, 8, 16, 255, 256, 1 << 20, int64_t{1} << 40,
                                   std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                                   std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
  return pick(values, r);
}

float some_float(Rng& r) {
  static const float values[] = {0.f, -0.f, 1.f, -1.f, 0.5f, 3.f, 1e30f, -1e30f, 1e-40f,
                                 std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity()};
  return pick(values, r);
}

const char* const kOpTypes[] = {
    "LSTM", "GRU", "RNN", "Transpose", "Squeeze", "Unsqueeze", "Reshape", "Slice", "Gather", "Shape", "Concat",
    "Expand", "Constant", "ConstantOfShape", "Cast", "Identity", "Flatten", "MatMul", "Gemm", "Add", "Sub", "Mul",
    "Div", "Neg", "Exp", "Log", "Abs", "Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Clip", "Dropout", "Elu",
    "LeakyRelu", "HardSigmoid", "Softplus", "Softsign", "ThresholdedRelu", "Conv", ""};
const char* const kAttrNames[] = {"hidden_size", "direction", "activations", "activation_alpha", "activation_beta",
                                  "clip", "layout", "linear_before_reset", "input_forget", "axis", "axes", "perm",
                                  "starts", "ends", "to", "alpha", "beta", "value", "allowzero", "start", "end",
                                  "min", "max", "transA", "transB", "keepdims"};
const char* const kStrings[] = {"forward", "reverse", "bidirectional", "Tanh", "Sigmoid", "Relu", "Affine",
                                "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Softsign",
                                "Softplus", "", "batch", "time", "seq", "tanh"};

// Every value name the graph mentions, and "" (an omitted optional input).
std::vector<std::string> value_names(const onnx::GraphProto& g) {
  std::vector<std::string> names{""};
  for (const auto& v : g.input()) names.push_back(v.name());
  for (const auto& v : g.output()) names.push_back(v.name());
  for (const auto& t : g.initializer()) names.push_back(t.name());
  for (const auto& n : g.node()) names.insert(names.end(), n.output().begin(), n.output().end());
  return names;
}

void mutate_tensor(onnx::TensorProto& t, Rng& r) {
  switch (r() % 7) {
    case 0:
      if (t.dims_size()) t.set_dims(static_cast<int>(r() % t.dims_size()), some_int(r));
      else t.add_dims(some_int(r));
      break;
    case 1:
      if (t.dims_size() && r() % 2) t.mutable_dims()->RemoveLast();
      else t.add_dims(r() % 2 ? 1 : some_int(r));
      break;
    case 2: {
      static const int32_t types[] = {0, 1, 2, 6, 7, 9, 10, 11, 16, 99};
      t.set_data_type(pick(types, r));
      break;
    }
    case 3: t.mutable_raw_data()->resize(r() % (t.raw_data().size() + 17)); break;
    case 4: {
      std::string& raw = *t.mutable_raw_data();
      if (raw.size() >= 4) {
        float f = some_float(r);
        std::memcpy(&raw[(r() % (raw.size() / 4)) * 4], &f, 4);
      }
      break;
    }
    case 5:  // raw_data -> typed data, or the reverse
      if (!t.raw_data().empty()) {
        t.clear_raw_data();
        for (int i = 0, n = static_cast<int>(r() % 5); i < n; ++i) t.add_float_data(some_float(r));
      } else {
        t.add_int64_data(some_int(r));
      }
      break;
    case 6: t.set_data_location(r() % 2 ? onnx::TensorProto::EXTERNAL : onnx::TensorProto::DEFAULT); break;
  }
}

void mutate_attribute(onnx::AttributeProto& a, Rng& r) {
  switch (r() % 9) {
    case 0: a.set_i(some_int(r)); break;
    case 1: a.set_f(some_float(r)); break;
    case 2: a.set_s(pick(kStrings, r)); break;
    case 3:
      if (a.ints_size() && r() % 2) a.set_ints(static_cast<int>(r() % a.ints_size()), some_int(r));
      else if (a.ints_size() && r() % 2) a.mutable_ints()->RemoveLast();
      else a.add_ints(r() % 2 ? static_cast<int64_t>(r() % 4) : some_int(r));
      break;
    case 4:
      if (a.floats_size() && r() % 2) a.set_floats(static_cast<int>(r() % a.floats_size()), some_float(r));
      else if (a.floats_size() && r() % 2) a.mutable_floats()->RemoveLast();
      else a.add_floats(some_float(r));
      break;
    case 5:
      if (a.strings_size() && r() % 2) a.set_strings(static_cast<int>(r() % a.strings_size()), pick(kStrings, r));
      else if (a.strings_size() && r() % 2) a.mutable_strings()->RemoveLast();
      else a.add_strings(pick(kStrings, r));
      break;
    case 6: a.set_name(pick(kAttrNames, r)); break;
    case 7: {
      int type = static_cast<int>(r() % 15);
      if (onnx::AttributeProto_AttributeType_IsValid(type)) a.set_type(static_cast<onnx::AttributeProto_AttributeType>(type));
      break;
    }
    case 8: mutate_tensor(*a.mutable_t(), r); break;
  }
}

void mutate_value_info(onnx::ValueInfoProto& v, const std::vector<std::string>& names, Rng& r) {
  onnx::TypeProto_Tensor* tt = v.mutable_type()->mutable_tensor_type();
  onnx::TensorShapeProto* shape = tt->mutable_shape();
  switch (r() % 5) {
    case 0: {
      static const int32_t types[] = {0, 1, 6, 7, 10, 11};
      tt->set_elem_type(pick(types, r));
      break;
    }
    case 1:
      if (shape->dim_size()) {
        auto* d = shape->mutable_dim(static_cast<int>(r() % shape->dim_size()));
        if (r() % 2) d->set_dim_value(some_int(r));
        else d->set_dim_param(pick(kStrings, r));
      }
      break;
    case 2:
      if (shape->dim_size() && r() % 2) shape->mutable_dim()->RemoveLast();
      else shape->add_dim()->set_dim_value(r() % 4);
      break;
    case 3: v.set_name(names[r() % names.size()]); break;
    case 4: v.clear_type(); break;
  }
}

void mutate_node(onnx::GraphProto& g, const std::vector<std::string>& names, Rng& r) {
  onnx::NodeProto& n = *g.mutable_node(static_cast<int>(r() % g.node_size()));
  switch (r() % 8) {
    case 0: n.set_op_type(pick(kOpTypes, r)); break;
    case 1:
      if (n.input_size()) n.set_input(static_cast<int>(r() % n.input_size()), names[r() % names.size()]);
      break;
    case 2:
      if (n.input_size() && r() % 2) n.mutable_input()->RemoveLast();
      else n.add_input(names[r() % names.size()]);
      break;
    case 3:
      if (n.output_size() && r() % 3) n.set_output(static_cast<int>(r() % n.output_size()), names[r() % names.size()]);
      else if (n.output_size() && r() % 2) n.mutable_output()->RemoveLast();
      else n.add_output("fuzz_" + std::to_string(r() % 4));
      break;
    case 4:
    case 5:
      if (n.attribute_size()) mutate_attribute(*n.mutable_attribute(static_cast<int>(r() % n.attribute_size())), r);
      break;
    case 6:
      if (n.attribute_size() && r() % 2) {
        n.mutable_attribute()->DeleteSubrange(static_cast<int>(r() % n.attribute_size()), 1);
      } else {
        onnx::AttributeProto* a = n.add_attribute();
        a->set_name(pick(kAttrNames, r));
        mutate_attribute(*a, r);
      }
      break;
    case 7: n.set_domain(r() % 2 ? "" : "com.microsoft"); break;
  }
}

void mutate_model(onnx::ModelProto& m, Rng& r) {
  onnx::GraphProto& g = *m.mutable_graph();
  const std::vector<std::string> names = value_names(g);
  switch (r() % 12) {
    case 0: case 1: case 2: case 3:
      if (g.node_size()) mutate_node(g, names, r);
      break;
    case 4:
      if (g.node_size()) g.mutable_node()->DeleteSubrange(static_cast<int>(r() % g.node_size()), 1);
      break;
    case 5:
      if (g.node_size()) *g.add_node() = g.node(static_cast<int>(r() % g.node_size()));
      break;
    case 6:
      if (g.node_size() > 1) g.mutable_node()->SwapElements(static_cast<int>(r() % g.node_size()), static_cast<int>(r() % g.node_size()));
      break;
    case 7:
      if (g.initializer_size()) {
        onnx::TensorProto& t = *g.mutable_initializer(static_cast<int>(r() % g.initializer_size()));
        if (r() % 8 == 0) t.set_name(names[r() % names.size()]);
        else mutate_tensor(t, r);
      }
      break;
    case 8:
      if (g.initializer_size() && r() % 4 == 0) g.mutable_initializer()->RemoveLast();
      else if (g.input_size()) mutate_value_info(*g.mutable_input(static_cast<int>(r() % g.input_size())), names, r);
      break;
    case 9:
      if (g.input_size() && r() % 4 == 0) g.mutable_input()->DeleteSubrange(static_cast<int>(r() % g.input_size()), 1);
      else if (g.output_size()) mutate_value_info(*g.mutable_output(static_cast<int>(r() % g.output_size())), names, r);
      break;
    case 10:
      if (g.output_size() && r() % 3 == 0) g.mutable_output()->DeleteSubrange(static_cast<int>(r() % g.output_size()), 1);
      else g.add_output()->set_name(names[r() % names.size()]);
      break;
    case 11: {
      onnx::OperatorSetIdProto* op = m.opset_import_size() ? m.mutable_opset_import(0) : m.add_opset_import();
      static const int64_t versions[] = {1, 6, 7, 9, 11, 13, 14, 17, 21, -1};
      op->set_version(pick(versions, r));
      break;
    }
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng r(seed);
  onnx::ModelProto m;
  if (r() % 5 == 0 || !m.ParseFromArray(data, static_cast<int>(size)) || !m.has_graph()) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  for (int k = 0, n = 1 + static_cast<int>(r() % 3); k < n; ++k) mutate_model(m, r);
  std::string out;
  if (!m.SerializeToString(&out) || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size)) fuzz::finding("cannot write " + scratch_path());
  std::fclose(f);

  std::optional<onnx_import::ImportedModel> imported;
  fuzz::expect_user_errors_only("import_model", [&] { imported = onnx_import::import_model(scratch_path()); });
  if (!imported) return 0;
  try {
    std::vector<ir::Violation> violations = ir::verify(imported->module);
    if (!violations.empty()) fuzz::finding("import_model returned a module that does not verify", violations.front().str());
    std::string printed = ir::print_module(imported->module), difference;
    ir::Module reparsed = ir::parse_module(printed, "<imported>");
    if (!ir::structurally_equal(imported->module, reparsed, &difference)) {
      fuzz::finding("the imported module does not survive print + parse", difference + "\n" + printed);
    }
    if (ir::print_module(reparsed) != printed) fuzz::finding("the imported module prints differently after a round trip");
  } catch (const std::exception& e) {
    fuzz::finding("verifying, printing or reparsing an imported module threw", e.what());
  }
  return 0;
}
