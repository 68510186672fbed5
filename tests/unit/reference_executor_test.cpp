// The reference executor, op by op against values worked out by hand, and its error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/zoo.h"
#include "ir/error.h"
#include "runtime/dropout_mask.h"
#include "runtime/reference_executor.h"

namespace rnnc::runtime {
namespace {

using ir::Attrs;
using ir::DType;
using ir::Dim;
using ir::OpKind;
using ir::TensorType;

TensorType f64(std::vector<int64_t> dims, DType dt = DType::F32) {
  TensorType t{dt, {}};
  for (int64_t d : dims) t.shape.push_back(Dim::fixed(d));
  return t;
}

// A module whose @forward applies one op to its arguments.
ir::Module one_op(OpKind op, const std::vector<TensorType>& args, Attrs attrs = {}) {
  ir::Module m("m");
  ir::Function& f = m.add_function(ir::Function("forward"));
  std::vector<ir::Value> values;
  for (size_t i = 0; i < args.size(); ++i) values.push_back(f.add_arg(std::string(1, static_cast<char>('a' + i)), args[i]));
  f.set_results({f.add(op, values, std::move(attrs))});
  return m;
}

Tensor<double> run1(const ir::Module& m, const std::vector<Value<double>>& args) {
  ReferenceExecutor<double> ex(m);
  return std::get<Tensor<double>>(ex.run("forward", args)[0]);
}

TEST(ReferenceOps, MatmulInAllThreeForms) {
  Tensor<double> a({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<double> b({3, 2}, {1, 0, 0, 1, 1, 1});
  EXPECT_EQ(run1(one_op(OpKind::MatMul, {f64({2, 3}), f64({3, 2})}), {a, b}).data, (std::vector<double>{4, 5, 10, 11}));
  Tensor<double> bt({2, 3}, {1, 0, 1, 0, 1, 1});  // the same matrix stored [N, K]
  EXPECT_EQ(run1(one_op(OpKind::MatMul, {f64({2, 3}), f64({2, 3})}, Attrs().set_flag("transpose_b")), {a, bt}).data,
            (std::vector<double>{4, 5, 10, 11}));
  Tensor<double> dy({2, 2}, {1, 2, 3, 4});
  // aᵀ · dy: [3, 2]
  EXPECT_EQ(run1(one_op(OpKind::MatMul, {f64({2, 3}), f64({2, 2})}, Attrs().set_flag("transpose_a")), {a, dy}).data,
            (std::vector<double>{13, 18, 17, 24, 21, 30}));
}

TEST(ReferenceOps, SuffixBroadcastingConcatSliceReduce) {
  Tensor<double> x({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<double> bias({3}, {10, 20, 30});
  EXPECT_EQ(run1(one_op(OpKind::Sub, {f64({3}), f64({2, 3})}), {bias, x}).data, (std::vector<double>{9, 18, 27, 6, 15, 24}));
  EXPECT_EQ(run1(one_op(OpKind::Concat, {f64({2, 3}), f64({2, 3})}, Attrs().set("axis", int64_t{1})), {x, x}).data,
            (std::vector<double>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}));
  EXPECT_EQ(run1(one_op(OpKind::Slice, {f64({2, 3})}, Attrs().set("axis", int64_t{1}).set("start", int64_t{1}).set("size", int64_t{2})), {x}).data,
            (std::vector<double>{2, 3, 5, 6}));
  EXPECT_EQ(run1(one_op(OpKind::ReduceSum, {f64({2, 3})}, Attrs().set("axes", std::vector<int64_t>{0})), {x}).data,
            (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(run1(one_op(OpKind::ReduceSum, {f64({2, 3})}, Attrs().set("axes", std::vector<int64_t>{0, 1})), {x}).data,
            (std::vector<double>{21}));
}

TEST(ReferenceOps, LayerNormSoftmaxCrossEntropyMse) {
  Tensor<double> x({2, 4}, {1, 2, 3, 4, -1, 0, 0, 5});
  Tensor<double> y = run1(one_op(OpKind::LayerNorm, {f64({2, 4})}, Attrs().set("eps", 0.0)), {x});
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < 4; ++i) mean += y[r * 4 + i] / 4;
    for (int i = 0; i < 4; ++i) var += (y[r * 4 + i] - mean) * (y[r * 4 + i] - mean) / 4;
    EXPECT_NEAR(mean, 0, 1e-12);
    EXPECT_NEAR(var, 1, 1e-12);
  }
  EXPECT_NEAR(y[0], -1.5 / std::sqrt(1.25), 1e-12);

  Tensor<double> s = run1(one_op(OpKind::Softmax, {f64({2, 4})}), {x});
  EXPECT_NEAR(s[0] + s[1] + s[2] + s[3], 1, 1e-12);
  EXPECT_NEAR(s[3] / s[2], std::exp(1.0), 1e-12);

  Tensor<double> logits({2, 2}, {0, 0, 2, 0});
  IntTensor labels({2}, {1, 0});
  double expected = (std::log(2.0) + (std::log(std::exp(2.0) + 1) - 2)) / 2;
  EXPECT_NEAR(run1(one_op(OpKind::CrossEntropy, {f64({2, 2}), f64({2}, DType::I32)}), {logits, labels})[0], expected, 1e-12);
  IntTensor bad({2}, {1, 2});
  EXPECT_THROW(run1(one_op(OpKind::CrossEntropy, {f64({2, 2}), f64({2}, DType::I32)}), {logits, bad}), UserError);

  Tensor<double> t({2, 2}, {1, 0, 2, 0});
  EXPECT_NEAR(run1(one_op(OpKind::Mse, {f64({2, 2}), f64({2, 2})}), {logits, t})[0], 0.25, 1e-12);
}

TEST(ReferenceOps, EmbeddingGathersRowsAndRejectsBadIds) {
  Tensor<double> table({3, 2}, {0, 0, 1, 2, 3, 4});
  IntTensor ids({2, 2}, {2, 1, 0, 2});
  ir::Module m = one_op(OpKind::Embedding, {f64({3, 2}), f64({2, 2}, DType::I32)}, Attrs().set("padding_idx", int64_t{0}));
  Tensor<double> y = run1(m, {table, ids});
  EXPECT_EQ(y.shape, (Dims{2, 2, 2}));
  EXPECT_EQ(y.data, (std::vector<double>{3, 4, 1, 2, 0, 0, 3, 4}));
  IntTensor bad({2, 2}, {2, 1, 3, 0});
  try {
    run1(m, {table, bad});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "embedding: id 3 at flat position 2 is outside the table's 3 rows");
  }
}

TEST(ReferenceOps, DropoutIsAReproducibleScaledMask) {
  ir::Module m = one_op(OpKind::Dropout, {f64({100, 100}), TensorType{DType::I64, {}}}, Attrs().set("p", 0.3).set("salt", int64_t{5}));
  Tensor<double> x({100, 100}, 1.0);
  Tensor<double> a = run1(m, {x, IntTensor(Dims{}, std::vector<int64_t>{11})});
  Tensor<double> b = run1(m, {x, IntTensor(Dims{}, std::vector<int64_t>{11})});
  Tensor<double> c = run1(m, {x, IntTensor(Dims{}, std::vector<int64_t>{12})});
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  int kept = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i] == 0 || std::abs(a[i] - 1 / 0.7) < 1e-12);
    kept += a[i] != 0;
    EXPECT_EQ(a[i] != 0, dropout_keep(11, 5, i, 0.3));
  }
  EXPECT_NEAR(kept / 10000.0, 0.7, 0.02);
}

TEST(ReferenceExecutorErrors, ShapesParametersAndLengthsAreChecked) {
  ir::Module m = zoo::build_cell_model("lstm", {.input_size = 3, .hidden_size = 4});
  ReferenceExecutor<float> ex(m);
  Tensor<float> x({5, 2, 3});
  IntTensor lengths({2}, {5, 3});
  auto message = [&](const std::vector<Value<float>>& args) {
    try {
      ex.run("forward", args);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("(ran)");
  };
  EXPECT_EQ(message({x, lengths}).rfind("parameter @rnn.l0.", 0), 0u) << "parameters not set yet";
  ex.init_params(1);
  EXPECT_EQ(message({x, lengths}), "(ran)");
  EXPECT_EQ(message({x}), "@forward takes 2 arguments, got 1");
  EXPECT_EQ(message({Tensor<float>({5, 2, 4}), lengths}),
            "@forward: argument 'x' has shape [5, 2, 4] but is declared f32[time, batch, 3]");
  EXPECT_EQ(message({x, IntTensor({3}, {1, 1, 1})}),
            "@forward: dimension 'batch' is 2 elsewhere but argument 'lengths' [3] makes it 3");
  EXPECT_EQ(message({x, IntTensor({2}, {6, 1})}), "scan: lengths[0] = 6 is outside [0, 5]");
  EXPECT_EQ(message({x, Tensor<float>({2})}), "@forward: argument 'lengths' must be an integer tensor (i32[batch])");
  EXPECT_THROW(ex.set_param("rnn.l0.W_ii", Tensor<float>({4, 4})), UserError);
  EXPECT_THROW(ex.set_param("nope", Tensor<float>({4})), UserError);
  EXPECT_THROW(ex.run("backward", {x, lengths}), UserError);
}

TEST(ReferenceExecutor, LengthsZeroKeepsTheInitialStateAndZeroOutputs) {
  ir::Module m = zoo::build_cell_model("gru", {.input_size = 2, .hidden_size = 3});
  ReferenceExecutor<double> ex(m);
  ex.init_params(3);
  Tensor<double> x({4, 2, 2}, 0.5);
  auto out = ex.run("forward", {x, IntTensor({2}, {0, 4})});
  const auto& y = std::get<Tensor<double>>(out[0]);
  const auto& h = std::get<Tensor<double>>(out[1]);
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(y[(t * 2 + 0) * 3 + k], 0.0);
      EXPECT_NE(y[(t * 2 + 1) * 3 + k], 0.0);
    }
  for (int k = 0; k < 3; ++k) EXPECT_EQ(h[k], 0.0);
}

TEST(ReferenceExecutor, InitFollowsTheDeclaredInitialisers) {
  ir::Module m = zoo::build_imdb_classifier({.vocab_size = 40, .embed_dim = 8, .hidden_size = 16});
  ReferenceExecutor<double> ex(m);
  ex.init_params(5);
  const Tensor<double>& emb = ex.param("embedding.weight");
  for (int k = 0; k < 8; ++k) EXPECT_EQ(emb[1 * 8 + k], 0.0) << "padding row";
  double bound = 1 / std::sqrt(16.0);
  for (double w : ex.param("lstm.l0.W_hi").data) EXPECT_LE(std::abs(w), bound);
  double sq = 0;
  for (double w : emb.data) sq += w * w;
  EXPECT_NEAR(sq / (39 * 8), 1.0, 0.3) << "N(0, 1) embedding";
}

}  // namespace
}  // namespace rnnc::runtime
