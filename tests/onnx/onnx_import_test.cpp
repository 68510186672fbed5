// The ONNX importer on models it must refuse: truncated and corrupted files, random bytes, unsupported
// ops, attributes and layouts, weights of the wrong shape. Each must be a UserError whose message names
// the problem (node name, op type, attribute or input), and `rnnc onnx-import` / `rnnc onnx-test` must
// exit with status 1 and print it: never a crash, an abort or another exception.
//
// Models are built here with ONNX's protobuf classes (no Python needed); the byte sweeps start from
// libonnx-testdata's test_lstm_defaults.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "frontend/onnx/importer.h"
#include "frontend/onnx/test_case.h"
#include "ir/error.h"
#include "runtime/reference_executor.h"

namespace rnnc::onnx_import {
namespace {

namespace fs = std::filesystem;

const std::string kNodeDir = RNNC_ONNX_NODE_DATA_DIR;
const std::string kRnnc = RNNC_BINARY;

class OnnxImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("rnnc_onnx_import_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  std::string write_model(const std::string& name, const onnx::ModelProto& m) { return write(name, m.SerializeAsString()); }

  fs::path dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Imports `path`; the message of the UserError, or "" when it imports.
std::string import_error(const std::string& path) {
  try {
    import_model(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

void expect_import_error(const std::string& path, const std::vector<std::string>& fragments) {
  std::string msg = import_error(path);
  ASSERT_FALSE(msg.empty()) << path << " imported without an error";
  for (const std::string& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
}

struct ToolRun {
  int status = -1;  // exit status; -1 when the process did not exit normally (a signal: a crash)
  std::string output;
};

ToolRun run_rnnc(const std::string& args) {
  ToolRun r;
  FILE* p = ::popen((kRnnc + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = ::pclose(p);
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

// This test built alone (`--target onnx_import_test`) has the importer but not the rnnc tool, which
// needs the Halide half of the compiler: then the tool's exit-status checks are skipped, and said so.
bool rnnc_built() {
  if (fs::exists(kRnnc)) return true;
  std::printf("[   NOTE   ] %s is not built in this tree: its exit-status checks are skipped\n", kRnnc.c_str());
  return false;
}

void expect_tool_error(const std::string& args, const std::vector<std::string>& fragments) {
  if (!rnnc_built()) return;
  ToolRun r = run_rnnc(args);
  EXPECT_EQ(r.status, 1) << "rnnc " << args << " (status -1: killed by a signal)\n" << r.output;
  EXPECT_NE(r.output.find("rnnc: error: "), std::string::npos) << r.output;
  for (const std::string& f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in: " << r.output;
}

// --- building models ---------------------------------------------------------------------------------

void value_info(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims,
                int elem = onnx::TensorProto::FLOAT) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

void tensor(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims, float fill) {
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i) t->add_float_data(fill + 0.01f * static_cast<float>(i % 7));
}

void int_tensor(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& values) {
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                      const std::vector<std::string>& in, const std::vector<std::string>& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string& s : in) n->add_input(s);
  for (const std::string& s : out) n->add_output(s);
  return n;
}

void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void attr_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void attr_strings(onnx::NodeProto* n, const std::string& name, const std::vector<std::string>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const std::string& s : v) a->add_strings(s);
}

// X [5, 2, 3] -> LSTM (hidden 4, weights as initializers W [1, 16, w_input], R, B) -> Y, Y_h.
onnx::ModelProto lstm_model(int64_t w_input = 3) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(14);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("lstm");
  value_info(g->add_input(), "X", {5, 2, 3});
  tensor(g->add_initializer(), "W", {1, 16, w_input}, 0.1f);
  tensor(g->add_initializer(), "R", {1, 16, 4}, -0.1f);
  tensor(g->add_initializer(), "B", {1, 32}, 0.05f);
  onnx::NodeProto* n = node(g, "LSTM", "encoder", {"X", "W", "R", "B"}, {"Y", "Y_h"});
  attr_int(n, "hidden_size", 4);
  value_info(g->add_output(), "Y", {5, 1, 2, 4});
  value_info(g->add_output(), "Y_h", {1, 2, 4});
  return m;
}

// --- plumbing ops compute what ONNX says ------------------------------------------------------------

void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

TEST_F(OnnxImportTest, PlumbingOpsComputeWhatOnnxSays) {
  // Z = -(0.5 X B + 2 C)[:, 1:3] through Identity, Cast, Gemm (alpha, beta), Unsqueeze, Transpose,
  // Flatten, Slice and Neg; and S = Shape(X)[1] + 1 folded into a constant output.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(14);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("plumbing");
  value_info(g->add_input(), "X", {2, 3});
  tensor(g->add_initializer(), "B", {3, 4}, 0.1f);
  tensor(g->add_initializer(), "C", {4}, 1.0f);
  node(g, "Identity", "id", {"X"}, {"X1"});
  attr_int(node(g, "Cast", "cast", {"X1"}, {"X2"}), "to", onnx::TensorProto::FLOAT);
  onnx::NodeProto* gemm = node(g, "Gemm", "gemm", {"X2", "B", "C"}, {"Y"});
  attr_float(gemm, "alpha", 0.5f);
  attr_float(gemm, "beta", 2.0f);
  int_tensor(g->add_initializer(), "zero", {0});
  node(g, "Unsqueeze", "unsqueeze", {"Y", "zero"}, {"Y3"});
  attr_ints(node(g, "Transpose", "transpose", {"Y3"}, {"Y4"}), "perm", {1, 0, 2});
  node(g, "Flatten", "flatten", {"Y4"}, {"Y5"});
  int_tensor(g->add_initializer(), "starts", {1});
  int_tensor(g->add_initializer(), "ends", {3});
  int_tensor(g->add_initializer(), "axes", {1});
  node(g, "Slice", "slice", {"Y5", "starts", "ends", "axes"}, {"Y6"});
  node(g, "Neg", "neg", {"Y6"}, {"Z"});
  node(g, "Shape", "shape", {"X"}, {"shp"});
  int_tensor(g->add_initializer(), "one", {1});
  node(g, "Gather", "gather", {"shp", "one"}, {"cols"});
  node(g, "Add", "add", {"cols", "one"}, {"S"});
  value_info(g->add_output(), "Z", {2, 2});
  value_info(g->add_output(), "S", {1}, onnx::TensorProto::INT64);
  ImportedModel im = import_model(write_model("plumbing.onnx", m));

  runtime::Tensor<float> x(runtime::Dims{2, 3}, std::vector<float>{0.5f, -1.f, 2.f, 1.5f, 0.25f, -0.75f});
  InputTensors inputs;
  inputs["X"] = onnx_io::TensorFile{"X.pb", "X", onnx::TensorProto::FLOAT, x};
  runtime::ReferenceExecutor<double> exec(im.module);
  for (auto& [name, v] : bind_params<double>(im.bindings, inputs)) exec.set_param(name, v);
  const ir::Function& f = *im.module.find_function("forward");
  std::vector<HostTensor> out = unbind_outputs<double>(im.bindings, f, exec.run("forward", bind_args<double>(im.bindings, f, inputs)));
  ASSERT_EQ(out.size(), 2u);
  const auto& z = std::get<runtime::Tensor<double>>(out[0]);
  ASSERT_EQ(z.shape, (runtime::Dims{2, 2}));
  auto b = [](int k, int j) { return 0.1f + 0.01f * static_cast<float>((k * 4 + j) % 7); };
  auto c = [](int j) { return 1.0f + 0.01f * static_cast<float>(j % 7); };
  for (int i = 0; i < 2; ++i) {
    for (int j = 1; j < 3; ++j) {
      double y = 2.0 * c(j);
      for (int k = 0; k < 3; ++k) y += 0.5 * x[i * 3 + k] * b(k, j);
      EXPECT_NEAR(z[i * 2 + (j - 1)], -y, 1e-6) << "Z[" << i << ", " << j - 1 << "]";
    }
  }
  EXPECT_EQ(std::get<runtime::IntTensor>(out[1]).data, std::vector<int64_t>{4});
}

// --- malformed files ------------------------------------------------------------------------------------

TEST_F(OnnxImportTest, TruncatedModelsAreUserErrors) {
  const std::string bytes = read_file(kNodeDir + "/test_lstm_defaults/model.onnx");
  ASSERT_GT(bytes.size(), 100u);
  // Every prefix: an error or (cut exactly between top-level fields) a model that imports.
  int errors = 0;
  for (size_t keep = 0; keep < bytes.size(); ++keep) {
    std::string p = write("cut.onnx", bytes.substr(0, keep));
    try {
      import_model(p);
    } catch (const UserError& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "the message does not name the file: " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cut at " << keep << " of " << bytes.size() << " bytes: not a UserError: " << e.what();
    }
  }
  EXPECT_GT(errors, static_cast<int>(bytes.size()) / 2);
  std::string half = write("half.onnx", bytes.substr(0, bytes.size() / 2));
  expect_import_error(half, {half, "not a valid ModelProto", "truncated or corrupted"});
  expect_tool_error("onnx-import " + half, {"not a valid ModelProto"});
  std::string empty = write("empty.onnx", "");
  expect_import_error(empty, {"has no graph"});
  expect_tool_error("onnx-import " + empty, {"has no graph"});
}

TEST_F(OnnxImportTest, RandomAndCorruptedBytesAreUserErrors) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 50; ++i) {
    std::string junk(static_cast<size_t>(1 + gen() % 400), '\0');
    for (char& c : junk) c = static_cast<char>(byte(gen));
    std::string p = write("junk.onnx", junk);
    try {
      import_model(p);
    } catch (const UserError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "random bytes: not a UserError: " << e.what();
    }
  }
  // One to three bytes of a real model changed: whatever still parses must import or be refused cleanly.
  const std::string bytes = read_file(kNodeDir + "/test_lstm_defaults/model.onnx");
  std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
  for (int i = 0; i < 400; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 1 + i % 3; ++k) b[pos(gen)] = static_cast<char>(byte(gen));
    std::string p = write("flip.onnx", b);
    try {
      import_model(p);
    } catch (const UserError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "corrupted model " << i << ": not a UserError: " << e.what();
    }
  }
  std::string junk = write("junk.onnx", "this is not an ONNX model at all, just text\n");
  expect_tool_error("onnx-import " + junk, {junk, "not a valid ModelProto"});
}

TEST_F(OnnxImportTest, TruncatedTestDataIsAUserError) {
  const std::string src = kNodeDir + "/test_lstm_defaults";
  fs::copy(src, dir_ / "case", fs::copy_options::recursive);
  const std::string input = (dir_ / "case/test_data_set_0/input_1.pb").string();
  std::string bytes = read_file(input);
  write("case/test_data_set_0/input_1.pb", bytes.substr(0, bytes.size() / 2));
  expect_tool_error("onnx-test " + (dir_ / "case").string(), {input});
}

// --- models it does not support ---------------------------------------------------------------------------

TEST_F(OnnxImportTest, UnsupportedOpIsNamed) {
  onnx::ModelProto m = lstm_model();
  onnx::GraphProto* g = m.mutable_graph();
  node(g, "Sqrt", "root_of_y", {"Y_h"}, {"S"});
  value_info(g->add_output(), "S", {1, 2, 4});
  std::string p = write_model("sqrt.onnx", m);
  expect_import_error(p, {"node 1 'root_of_y' (Sqrt)", "unsupported op type 'Sqrt'", "LSTM"});
  expect_tool_error("onnx-import " + p, {"unsupported op type 'Sqrt'"});
  g->mutable_node(1)->set_domain("com.example");
  g->mutable_node(1)->set_op_type("Relu");
  p = write_model("domain.onnx", m);
  expect_import_error(p, {"'root_of_y' (Relu)", "domain 'com.example'"});
}

TEST_F(OnnxImportTest, OpsetsOutsideWhatRnncReadsAreRefused) {
  for (int64_t version : {int64_t{-1}, int64_t{0}, int64_t{18}, int64_t{1000000}}) {
    onnx::ModelProto m = lstm_model();
    m.mutable_opset_import(0)->set_version(version);
    std::string p = write_model("opset.onnx", m);
    expect_import_error(p, {"opset " + std::to_string(version) + " is not one rnnc reads (1 to 17"});
  }
  onnx::ModelProto twice = lstm_model();
  auto* again = twice.add_opset_import();
  again->set_domain("ai.onnx");
  again->set_version(13);
  expect_import_error(write_model("twice.onnx", twice), {"the default domain's opset is imported twice"});
}

TEST_F(OnnxImportTest, AValueDefinedTwiceIsRefused) {
  onnx::ModelProto m = lstm_model();
  node(m.mutable_graph(), "Identity", "again", {"X"}, {"Y_h"});
  expect_import_error(write_model("ssa.onnx", m),
                      {"node 1 'again' (Identity): output 'Y_h' is already defined by node 0 'encoder' (LSTM)"});
  onnx::ModelProto over_input = lstm_model();
  over_input.mutable_graph()->mutable_node(0)->set_output(1, "W");
  expect_import_error(write_model("over.onnx", over_input), {"output 'W' is already defined by an initializer"});
}

TEST_F(OnnxImportTest, NamesThatAreNotUtf8ArePrintedEscaped) {
  if (!rnnc_built()) GTEST_SKIP() << kRnnc << " is not built in this tree";
  onnx::ModelProto m = lstm_model();
  onnx::GraphProto* g = m.mutable_graph();
  node(g, "Sqrt", "bad\xff\x1b[2Jname\xc3\xa9", {"Y_h"}, {"S"});
  value_info(g->add_output(), "S", {1, 2, 4});
  ToolRun r = run_rnnc("onnx-import " + write_model("bytes.onnx", m));
  EXPECT_EQ(r.status, 1) << r.output;
  // The invalid byte and the terminal escape are shown as \xNN; the valid UTF-8 (é) is kept.
  EXPECT_NE(r.output.find("'bad\\xff\\x1b[2Jname\xc3\xa9' (Sqrt)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\x1b'), std::string::npos) << r.output;
}

TEST_F(OnnxImportTest, UnsupportedAttributesAreNamed) {
  onnx::ModelProto m = lstm_model();
  attr_int(m.mutable_graph()->mutable_node(0), "flavour", 3);
  std::string p = write_model("attr.onnx", m);
  expect_import_error(p, {"'encoder' (LSTM)", "attribute 'flavour' is not an attribute of ONNX's LSTM"});
  expect_tool_error("onnx-import " + p, {"attribute 'flavour'"});

  m = lstm_model();
  attr_string(m.mutable_graph()->mutable_node(0), "direction", "sideways");
  p = write_model("direction.onnx", m);
  expect_import_error(p, {"'encoder' (LSTM)", "attribute 'direction' is 'sideways'"});

  m = lstm_model();
  attr_strings(m.mutable_graph()->mutable_node(0), "activations", {"Sigmoid", "Cosh", "Tanh"});
  p = write_model("activation.onnx", m);
  expect_import_error(p, {"'encoder' (LSTM)", "unknown activation function 'Cosh'"});

  m = lstm_model();
  attr_strings(m.mutable_graph()->mutable_node(0), "activations", {"Sigmoid", "Tanh"});
  p = write_model("activations.onnx", m);
  expect_import_error(p, {"'activations' lists 2 functions", "takes 3"});

  m = lstm_model();
  m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_i(5);  // hidden_size
  p = write_model("hidden.onnx", m);
  expect_import_error(p, {"'hidden_size' is 5 but R's shape says 4"});

  m = lstm_model();
  attr_int(m.mutable_graph()->mutable_node(0), "layout", 2);
  p = write_model("layout.onnx", m);
  expect_import_error(p, {"attribute 'layout' is 2"});
  expect_tool_error("onnx-import " + p, {"'encoder' (LSTM)", "attribute 'layout' is 2"});
}

TEST_F(OnnxImportTest, WrongShapedInitializerIsNamed) {
  std::string p = write_model("w.onnx", lstm_model(/*w_input=*/7));
  expect_import_error(p, {"'encoder' (LSTM)", "W (initializer 'W') has shape [1, 16, 7], expected [1, 16, 3]"});
  expect_tool_error("onnx-import " + p, {"initializer 'W'", "[1, 16, 7]"});
  // An initializer whose data does not fill its dims.
  onnx::ModelProto m = lstm_model();
  m.mutable_graph()->mutable_initializer(1)->add_dims(2);
  p = write_model("r.onnx", m);
  expect_import_error(p, {"initializer 'R'", "elements"});
}

TEST_F(OnnxImportTest, LayoutsTheIrCannotHoldAreExplained) {
  // Y [5, 1, 2, 4] -> Squeeze -> [5, 2, 4] -> Reshape [10, 4]: merges time and batch.
  onnx::ModelProto m = lstm_model();
  onnx::GraphProto* g = m.mutable_graph();
  int_tensor(g->add_initializer(), "axes1", {1});
  node(g, "Squeeze", "squeeze", {"Y", "axes1"}, {"Ys"});
  int_tensor(g->add_initializer(), "flat", {-1, 4});
  node(g, "Reshape", "flatten_time", {"Ys", "flat"}, {"F"});
  value_info(g->add_output(), "F", {10, 4});
  std::string p = write_model("reshape.onnx", m);
  expect_import_error(p, {"'flatten_time' (Reshape)", "Reshape from [5, 2, 4] to [10, 4]"});
  // A recurrent input computed in a layout the IR cannot transpose: X -> Softmax -> Transpose -> LSTM
  // (graph inputs are passed time-major when only axis-keeping ops lie between them and X; not so here).
  m = lstm_model();
  g = m.mutable_graph();
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(2);
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(5);
  onnx::NodeProto lstm = g->node(0);
  g->clear_node();
  node(g, "Softmax", "softmax", {"X"}, {"Xr"});
  onnx::NodeProto* t = node(g, "Transpose", "to_time_major", {"Xr"}, {"Xt"});
  auto* perm = t->add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (int64_t k : {1, 0, 2}) perm->add_ints(k);
  *g->add_node() = lstm;
  g->mutable_node(2)->set_input(0, "Xt");
  p = write_model("transpose.onnx", m);
  expect_import_error(p, {"'encoder' (LSTM)", "X ('Xt'", "the IR has no op to rearrange it"});
}

TEST_F(OnnxImportTest, MismatchIsAFail) {
  // A correct model whose expected output is changed: onnx-test prints FAIL with the worst element.
  if (!rnnc_built()) GTEST_SKIP() << kRnnc << " is not built in this tree";
  fs::copy(kNodeDir + "/test_lstm_defaults", dir_ / "case", fs::copy_options::recursive);
  const std::string out = (dir_ / "case/test_data_set_0/output_0.pb").string();
  onnx::TensorProto t;
  ASSERT_TRUE(t.ParseFromString(read_file(out)));
  ASSERT_GT(t.raw_data().size(), 4 * 4u);
  std::string raw = t.raw_data();
  float v;
  std::memcpy(&v, raw.data() + 4 * 4, 4);
  v += 0.25f;
  std::memcpy(raw.data() + 4 * 4, &v, 4);
  t.set_raw_data(raw);
  write("case/test_data_set_0/output_0.pb", t.SerializeAsString());
  ToolRun r = run_rnnc("onnx-test " + (dir_ / "case").string() + " --executor reference");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL: worst mismatch: reference test_data_set_0 Y_h[0, 1, 1]: got"), std::string::npos) << r.output;
  r = run_rnnc("onnx-test " + (kNodeDir + "/test_lstm_defaults") + " --executor reference");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\nPASS\n"), std::string::npos) << r.output;
}

TEST_F(OnnxImportTest, UsageErrors) {
  if (!rnnc_built()) GTEST_SKIP() << kRnnc << " is not built in this tree";
  ToolRun r = run_rnnc("onnx-test " + kNodeDir + "/test_lstm_defaults --executor gpu");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--executor must be reference, compiled or both"), std::string::npos) << r.output;
  expect_tool_error("onnx-test " + (dir_ / "nothing_here").string(), {"is not a directory"});
  expect_tool_error("onnx-import " + (dir_ / "missing.onnx").string(), {"no such file"});
}

}  // namespace
}  // namespace rnnc::onnx_import
