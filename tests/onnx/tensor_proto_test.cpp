// rnnc_onnx_io: reading TensorProto and ModelProto files, and every way that fails with a UserError
// naming the file (missing, corrupted, truncated, wrong data type, dims that do not match the data).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "frontend/onnx/tensor_proto.h"
#include "ir/error.h"

namespace rnnc::onnx_io {
namespace {

namespace fs = std::filesystem;
using runtime::Dims;

const std::string kNodeDir = RNNC_ONNX_NODE_DATA_DIR;
const std::string kExtraDir = RNNC_ONNX_EXTRA_DATA_DIR;

// A protobuf message written by hand, so that these tests need no ONNX headers.
class ProtoWriter {
 public:
  ProtoWriter& varint_field(int field, int64_t v) {
    tag(field, 0);
    varint(static_cast<uint64_t>(v));
    return *this;
  }
  ProtoWriter& bytes_field(int field, const std::string& s) {
    tag(field, 2);
    varint(s.size());
    bytes_ += s;
    return *this;
  }
  template <typename T>
  ProtoWriter& packed_fixed(int field, const std::vector<T>& values) {  // float_data, double_data
    std::string raw(values.size() * sizeof(T), '\0');
    if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
    return bytes_field(field, raw);
  }
  ProtoWriter& packed_varints(int field, const std::vector<int64_t>& values) {  // int32_data, int64_data
    ProtoWriter inner;
    for (int64_t v : values) inner.varint(static_cast<uint64_t>(v));
    return bytes_field(field, inner.bytes_);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void tag(int field, int wire) { varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    bytes_ += static_cast<char>(v);
  }
  std::string bytes_;
};

// TensorProto field numbers and data types.
enum Field { kDims = 1, kDataType = 2, kFloatData = 4, kInt32Data = 5, kInt64Data = 7, kName = 8, kRawData = 9, kDoubleData = 10 };
enum Type { kFloat = 1, kUint8 = 2, kInt32 = 6, kInt64 = 7, kString = 8, kDouble = 11 };

ProtoWriter tensor_header(const std::vector<int64_t>& dims, int type, const std::string& name = "t") {
  ProtoWriter w;
  for (int64_t d : dims) w.varint_field(kDims, d);
  w.varint_field(kDataType, type);
  if (!name.empty()) w.bytes_field(kName, name);
  return w;
}

template <typename T>
std::string raw_of(const std::vector<T>& values) {
  std::string raw(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  return raw;
}

class TensorProtoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("rnnc_onnx_io_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  fs::path dir_;
};

// Runs `f`, which must throw a UserError whose message names `path` and contains `fragment`.
template <typename F>
void expect_user_error(F f, const std::string& path, const std::string& fragment = "") {
  try {
    f();
    ADD_FAILURE() << "no UserError for " << path;
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "the message does not name the file: " << msg;
    if (!fragment.empty()) {
      EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a UserError, got another exception: " << e.what();
  }
}

// --- reading ----------------------------------------------------------------------------------------

TEST_F(TensorProtoTest, FloatFromRawData) {
  std::vector<float> v{0.5f, -1.f, 2.f, 3.25f, 4.f, -5.5f};
  std::string p = write("a.pb", tensor_header({2, 3}, kFloat).bytes_field(kRawData, raw_of(v)).bytes());
  runtime::Tensor<float> t = read_float_tensor(p);
  EXPECT_EQ(t.shape, (Dims{2, 3}));
  EXPECT_EQ(t.data, v);
  TensorFile f = read_tensor(p);
  EXPECT_EQ(f.name, "t");
  EXPECT_TRUE(f.is_float());
}

TEST_F(TensorProtoTest, FloatFromFloatData) {
  std::vector<float> v{1.f, 2.f, 3.f, 4.f};
  std::string p = write("a.pb", tensor_header({2, 1, 2}, kFloat).packed_fixed(kFloatData, v).bytes());
  runtime::Tensor<float> t = read_float_tensor(p);
  EXPECT_EQ(t.shape, (Dims{2, 1, 2}));
  EXPECT_EQ(t.data, v);
}

TEST_F(TensorProtoTest, ScalarAndEmptyTensors) {
  runtime::Tensor<float> s = read_float_tensor(write("s.pb", tensor_header({}, kFloat).packed_fixed(kFloatData, std::vector<float>{7.f}).bytes()));
  EXPECT_EQ(s.shape, Dims{});
  EXPECT_EQ(s.data, std::vector<float>{7.f});
  runtime::Tensor<float> e = read_float_tensor(write("e.pb", tensor_header({0, 3}, kFloat).bytes()));
  EXPECT_EQ(e.shape, (Dims{0, 3}));
  EXPECT_TRUE(e.data.empty());
}

TEST_F(TensorProtoTest, DoubleIsReadAsFloatByReadTensorOnly) {
  std::string p = write("d.pb", tensor_header({2}, kDouble).packed_fixed(kDoubleData, std::vector<double>{1.5, -2.0}).bytes());
  TensorFile f = read_tensor(p);
  ASSERT_TRUE(f.is_float());
  EXPECT_EQ(std::get<runtime::Tensor<float>>(f.value).data, (std::vector<float>{1.5f, -2.f}));
  expect_user_error([&] { read_float_tensor(p); }, p, "expected a FLOAT tensor, found DOUBLE");
}

TEST_F(TensorProtoTest, IntegersFromEveryField) {
  std::vector<int64_t> want{3, -1, 0, 2147483647};
  runtime::IntTensor a = read_int_tensor(write("a.pb", tensor_header({4}, kInt32).packed_varints(kInt32Data, want).bytes()));
  EXPECT_EQ(a.data, want);
  std::vector<int32_t> raw32{3, -1, 0, 2147483647};
  runtime::IntTensor b = read_int_tensor(write("b.pb", tensor_header({2, 2}, kInt32).bytes_field(kRawData, raw_of(raw32)).bytes()));
  EXPECT_EQ(b.shape, (Dims{2, 2}));
  EXPECT_EQ(b.data, want);
  std::vector<int64_t> big{int64_t{1} << 40, -(int64_t{1} << 35)};
  runtime::IntTensor c = read_int_tensor(write("c.pb", tensor_header({2}, kInt64).packed_varints(kInt64Data, big).bytes()));
  EXPECT_EQ(c.data, big);
  runtime::IntTensor d = read_int_tensor(write("d.pb", tensor_header({2}, kInt64).bytes_field(kRawData, raw_of(big)).bytes()));
  EXPECT_EQ(d.data, big);
}

TEST_F(TensorProtoTest, ReadsOnnxTestData) {
  runtime::Tensor<float> x = read_float_tensor(kNodeDir + "/test_lstm_defaults/test_data_set_0/input_0.pb");
  EXPECT_EQ(x.shape, (Dims{1, 3, 2}));
  EXPECT_EQ(x.data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  TensorFile lens = read_tensor(kNodeDir + "/test_lstm_with_peepholes/test_data_set_0/input_4.pb");
  EXPECT_EQ(lens.name, "sequence_lens");
  EXPECT_EQ(data_type_name(lens.data_type), "INT32");
  EXPECT_EQ(std::get<runtime::IntTensor>(lens.value).data, (std::vector<int64_t>{1, 1}));
}

TEST_F(TensorProtoTest, ReadsModelAttributes) {
  ModelInfo m = read_model(kNodeDir + "/test_gru_batchwise/model.onnx");
  EXPECT_EQ(m.node.op_type, "GRU");
  EXPECT_EQ(m.num_nodes, 1u);
  EXPECT_GE(m.opset, 14);
  EXPECT_EQ(m.node.inputs, (std::vector<std::string>{"X", "W", "R"}));
  EXPECT_EQ(m.node.outputs, (std::vector<std::string>{"Y", "Y_h"}));
  EXPECT_EQ(m.graph_inputs, (std::vector<std::string>{"X", "W", "R"}));
  EXPECT_EQ(m.node.get_int("hidden_size"), 6);
  EXPECT_EQ(m.node.get_int("layout"), 1);
  EXPECT_EQ(m.node.get_int("linear_before_reset", 0), 0);
  EXPECT_EQ(m.node.input(5), "");

  ModelInfo r = read_model(kExtraDir + "/rnnc_rnn_relu_bidirectional/model.onnx");
  EXPECT_EQ(r.node.get_strings("activations"), (std::vector<std::string>{"Relu", "Relu"}));
  EXPECT_EQ(r.node.get_string("direction"), "bidirectional");
  EXPECT_EQ(r.node.input(4), "sequence_lens");
  expect_user_error([&] { r.node.get_int("direction"); }, r.path, "attribute 'direction' is STRING, expected INT");
  expect_user_error([&] { r.node.get_float("clip"); }, r.path, "no attribute 'clip'");
  EXPECT_FLOAT_EQ(r.node.get_float("clip", 2.5f), 2.5f);
}

// --- failures -----------------------------------------------------------------------------------------

TEST_F(TensorProtoTest, MissingFile) {
  std::string p = (dir_ / "no_such_input_9.pb").string();
  expect_user_error([&] { read_float_tensor(p); }, p, "no such file");
  expect_user_error([&] { read_int_tensor(p); }, p, "no such file");
  expect_user_error([&] { read_model(p); }, p, "no such file");
  expect_user_error([&] { read_tensor(dir_.string()); }, dir_.string(), "directory");
}

TEST_F(TensorProtoTest, GarbageBytes) {
  const std::vector<std::string> garbage{
      std::string("this is not a protobuf\n"),
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12),  // a varint that never ends
      std::string("\x42\x7f" "abc", 5),                                      // name claims 127 bytes, has 3
      std::string("\x0b\x0c\x0d", 3),                                        // mismatched groups
  };
  for (size_t i = 0; i < garbage.size(); ++i) {
    std::string p = write("garbage_" + std::to_string(i) + ".pb", garbage[i]);
    expect_user_error([&] { read_float_tensor(p); }, p);
    expect_user_error([&] { read_tensor(p); }, p);
    expect_user_error([&] { read_model(p); }, p);
  }
}

TEST_F(TensorProtoTest, TruncatedFiles) {
  for (const std::string& src : {kNodeDir + "/test_gru_seq_length/test_data_set_0/input_1.pb",
                                kNodeDir + "/test_gru_seq_length/model.onnx"}) {
    std::ifstream in(src, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 40u) << src;
    for (size_t keep : {bytes.size() / 2, bytes.size() - 1, size_t{3}}) {
      std::string p = write("truncated_" + std::to_string(keep) + fs::path(src).extension().string(), bytes.substr(0, keep));
      if (fs::path(src).extension() == ".onnx") expect_user_error([&] { read_model(p); }, p);
      else expect_user_error([&] { read_float_tensor(p); }, p);
    }
  }
}

TEST_F(TensorProtoTest, EmptyFileHasNoDataType) {
  std::string p = write("empty.pb", "");
  expect_user_error([&] { read_tensor(p); }, p, "unsupported data type UNDEFINED");
  expect_user_error([&] { read_model(p); }, p, "has no graph");
}

TEST_F(TensorProtoTest, DimsDisagreeWithTheData) {
  std::string raw = write("raw.pb", tensor_header({3}, kFloat).bytes_field(kRawData, raw_of(std::vector<float>{1, 2})).bytes());
  expect_user_error([&] { read_float_tensor(raw); }, raw, "raw_data has 8 bytes");
  std::string typed = write("typed.pb", tensor_header({2, 2}, kFloat).packed_fixed(kFloatData, std::vector<float>{1, 2, 3}).bytes());
  expect_user_error([&] { read_float_tensor(typed); }, typed, "need 4 FLOAT elements but the file holds 3");
  std::string ints = write("ints.pb", tensor_header({5}, kInt64).packed_varints(kInt64Data, {1, 2}).bytes());
  expect_user_error([&] { read_int_tensor(ints); }, ints, "need 5 INT64 elements but the file holds 2");
  std::string nodata = write("nodata.pb", tensor_header({2}, kInt32).bytes());
  expect_user_error([&] { read_int_tensor(nodata); }, nodata, "holds 0");
  std::string both = write("both.pb", tensor_header({1}, kFloat)
                                          .packed_fixed(kFloatData, std::vector<float>{1})
                                          .bytes_field(kRawData, raw_of(std::vector<float>{1}))
                                          .bytes());
  expect_user_error([&] { read_float_tensor(both); }, both, "both raw_data and typed data");
  std::string negative = write("neg.pb", tensor_header({-2}, kFloat).bytes());
  expect_user_error([&] { read_float_tensor(negative); }, negative, "negative dimension");
}

TEST_F(TensorProtoTest, WrongDataType) {
  std::string ints = write("ints.pb", tensor_header({2}, kInt32).packed_varints(kInt32Data, {1, 2}).bytes());
  expect_user_error([&] { read_float_tensor(ints); }, ints, "expected a FLOAT tensor, found INT32");
  std::string floats = write("floats.pb", tensor_header({1}, kFloat).packed_fixed(kFloatData, std::vector<float>{1}).bytes());
  expect_user_error([&] { read_int_tensor(floats); }, floats, "expected an INT32 or INT64 tensor, found FLOAT");
  std::string bytes = write("u8.pb", tensor_header({2}, kUint8).bytes_field(kRawData, "\x01\x02").bytes());
  expect_user_error([&] { read_tensor(bytes); }, bytes, "unsupported data type UINT8");
  std::string strings = write("str.pb", tensor_header({1}, kString).bytes());
  expect_user_error([&] { read_tensor(strings); }, strings, "unsupported data type STRING");
  std::string odd = write("odd.pb", tensor_header({1}, 977).bytes());
  expect_user_error([&] { read_tensor(odd); }, odd, "data type 977");
}

}  // namespace
}  // namespace rnnc::onnx_io
