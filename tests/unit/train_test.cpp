// The training runtime: optimizers against PyTorch's update rules, gradient clipping, checkpoints
// (round trip, truncation, corruption, atomic writes), and the shared training loop on a small compiled
// classifier: the loss falls, a resumed run repeats the uninterrupted one exactly, a diverging run stops
// with a clear message and keeps its last checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "codegen/jit.h"
#include "frontend/zoo.h"
#include "ir/error.h"
#include "runtime/device.h"
#include "runtime/train/checkpoint.h"
#include "runtime/train/fit.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/trainable_model.h"
#include "support/user_error.h"

namespace rnnc::train {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rnnc_train_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(Optimizer, AdamMatchesPyTorchsUpdateRule) {
  // Two steps of torch.optim.Adam(lr=0.1) on p = [1, -2] with gradients g1 = [0.5, -1], g2 = [0.25, 3],
  // computed by hand from the algorithm in PyTorch's documentation.
  ParamMap params{{"p", Tensor<float>({2}, {1.0f, -2.0f})}};
  auto adam = make_adam({.lr = 0.1});
  std::vector<float> g1{0.5f, -1.0f}, g2{0.25f, 3.0f};
  adam->step(params, {{"p", {g1.data(), 2}}}, 1.0f);
  // Step 1: m̂ = g, v̂ = g², update = lr * g / (|g| + eps) = ±0.1.
  EXPECT_NEAR(params["p"][0], 0.9, 1e-6);
  EXPECT_NEAR(params["p"][1], -1.9, 1e-6);
  adam->step(params, {{"p", {g2.data(), 2}}}, 1.0f);
  for (int i = 0; i < 2; ++i) {
    double m = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
    double v = 0.999 * 0.001 * g1[i] * g1[i] + 0.001 * g2[i] * g2[i];
    double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
    double expected = (i == 0 ? 0.9 : -1.9) - 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
    EXPECT_NEAR(params["p"][i], expected, 1e-5) << i;
  }
  // The state round-trips: a fresh optimizer loaded with it takes the same third step.
  auto copy = make_adam({.lr = 0.1});
  copy->load_state(adam->state());
  ParamMap a = params, b = params;
  adam->step(a, {{"p", {g1.data(), 2}}}, 1.0f);
  copy->step(b, {{"p", {g1.data(), 2}}}, 1.0f);
  EXPECT_EQ(a["p"].data, b["p"].data);
}

TEST(Optimizer, SgdWithMomentumAndScale) {
  ParamMap params{{"w", Tensor<float>({1}, {1.0f})}};
  auto sgd = make_sgd({.lr = 0.5, .momentum = 0.9});
  std::vector<float> g{2.0f};
  sgd->step(params, {{"w", {g.data(), 1}}}, 0.5f);  // v = 1, w = 1 - 0.5
  EXPECT_FLOAT_EQ(params["w"][0], 0.5f);
  sgd->step(params, {{"w", {g.data(), 1}}}, 0.5f);  // v = 0.9 + 1, w = 0.5 - 0.95
  EXPECT_FLOAT_EQ(params["w"][0], -0.45f);
  EXPECT_THROW(make_optimizer("adagrad", 0.1), UserError);
  EXPECT_THROW(make_optimizer("adam", -1), UserError);
}

TEST(Optimizer, EveryOptimizerRefusesALearningRateThatIsNotAPositiveNumber) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double lr : {0.0, -1e-3, nan, inf}) {
    EXPECT_THROW(make_adam({.lr = lr}), UserError) << lr;
    EXPECT_THROW(make_sgd({.lr = lr}), UserError) << lr;
    auto adam = make_adam({.lr = 1e-3});
    EXPECT_THROW(adam->set_learning_rate(lr), UserError) << lr;
    EXPECT_EQ(adam->learning_rate(), 1e-3);  // a refused rate leaves the old one
  }
}

TEST(Optimizer, ClipGradNormAsPyTorch) {
  std::vector<float> a{3.0f, 0.0f}, b{4.0f};
  ClipResult r = clip_grad_norm({{"a", {a.data(), 2}}, {"b", {b.data(), 1}}}, 1.0);
  EXPECT_DOUBLE_EQ(r.total_norm, 5.0);
  EXPECT_NEAR(r.scale, 1.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_EQ(clip_grad_norm({{"a", {a.data(), 2}}, {"b", {b.data(), 1}}}, 10.0).scale, 1.0f);
  EXPECT_EQ(clip_grad_norm({{"a", {a.data(), 2}}}, 0.0).scale, 1.0f);
}

Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.text["config"] = "hidden=8\nlayers=2\n";
  c.text["vocab"] = std::string("a\nb\0c\n", 6);
  c.tensors["param/w"] = Tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  c.tensors["param/scalar"] = Tensor<float>({}, {7});
  c.tensors["param/empty"] = Tensor<float>({0, 4});
  return c;
}

TEST(Checkpoint, RoundTripsAndIsWrittenAtomically) {
  fs::path dir = temp_dir("roundtrip");
  std::string path = (dir / "model.ckpt").string();
  save_checkpoint_atomically(sample_checkpoint(), path);
  save_checkpoint_atomically(sample_checkpoint(), path);  // over an existing one
  Checkpoint back = load_checkpoint(path);
  Checkpoint expected = sample_checkpoint();
  EXPECT_EQ(back.text, expected.text);
  ASSERT_EQ(back.tensors.size(), expected.tensors.size());
  for (const auto& [name, t] : expected.tensors) {
    EXPECT_EQ(back.tensors[name].shape, t.shape) << name;
    EXPECT_EQ(back.tensors[name].data, t.data) << name;
  }
  // Nothing but the checkpoint is left in the directory: the temporary file was renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

using testing_support::user_error_of;

TEST(Checkpoint, EveryTruncationAndCorruptionIsAClearError) {
  const std::string bytes = serialize_checkpoint(sample_checkpoint());
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::string msg = user_error_of([&] { parse_checkpoint(bytes.substr(0, len), "cut.ckpt"); });
    ASSERT_NE(msg.find("checkpoint cut.ckpt: "), std::string::npos) << len << ": " << msg;
  }
  std::mt19937 gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = bytes;
    size_t at = gen() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 + gen() % 255));
    std::string msg = user_error_of([&] { parse_checkpoint(bad, "flip.ckpt"); });
    ASSERT_NE(msg.find("checkpoint flip.ckpt: "), std::string::npos) << "flipped byte " << at;
  }
  EXPECT_NE(user_error_of([] { parse_checkpoint("PK\x03\x04 zip file", "x.zip"); }).find("not an rnnc checkpoint"),
            std::string::npos);
  EXPECT_NE(user_error_of([] { load_checkpoint("/nonexistent/dir/model.ckpt"); }).find(
                "cannot read checkpoint '/nonexistent/dir/model.ckpt': no such file or directory"),
            std::string::npos);
  const std::string dir = fs::temp_directory_path().string();
  EXPECT_NE(user_error_of([&] { load_checkpoint(dir); }).find("cannot read checkpoint '" + dir + "': it is a directory"),
            std::string::npos);
}

// Found by fuzz_checkpoint (fuzz/): a zero dim made the size bound skip the dims after it, so
// [0, 2^62, 2^62] loaded, and the products of its dims overflow in whatever reads it.
TEST(Checkpoint, DimsBesideAZeroDimAreBoundedToo) {
  Checkpoint c;
  c.tensors["param/w"] = Tensor<float>({0, int64_t{1} << 62, int64_t{1} << 62}, std::vector<float>{});
  std::string msg = user_error_of([&] { parse_checkpoint(serialize_checkpoint(c), "big.ckpt"); });
  EXPECT_NE(msg.find("checkpoint big.ckpt: tensor 'param/w' has an impossible dimension 4611686018427387904"),
            std::string::npos) << msg;
  // A zero-sized tensor itself is fine (and copies nothing: memcpy from a null pointer was UB).
  c.tensors["param/w"] = Tensor<float>({0, 4, 1 << 20});
  EXPECT_EQ(parse_checkpoint(serialize_checkpoint(c), "zero.ckpt").tensors.at("param/w").shape,
            (runtime::Dims{0, 4, 1 << 20}));
}

// A toy sentiment task: label 1 when token 3 occurs in the sequence.
class ToyData : public BatchSource {
 public:
  static constexpr int64_t kVocab = 12;
  explicit ToyData(int64_t batch = 16) : batch_(batch) {}
  int64_t num_batches(int epoch) const override { return 6; }
  Batch batch(int epoch, int64_t index) const override {
    std::mt19937 gen(static_cast<uint32_t>(1000 * epoch + index));
    int64_t time = 5;
    std::vector<int32_t> tokens(time * batch_, 1), lengths(batch_), labels(batch_);
    for (int64_t b = 0; b < batch_; ++b) {
      lengths[b] = 2 + static_cast<int32_t>(gen() % (time - 1));
      for (int64_t t = 0; t < lengths[b]; ++t) tokens[t * batch_ + b] = 2 + static_cast<int32_t>(gen() % (kVocab - 2));
      labels[b] = 0;
      for (int64_t t = 0; t < lengths[b]; ++t) labels[b] |= tokens[t * batch_ + b] == 3;
    }
    Batch out;
    out.inputs["tokens"] = i32_buffer(tokens, {time, batch_});
    out.inputs["lengths"] = i32_buffer(lengths, {batch_});
    out.inputs["labels"] = i32_buffer(labels, {batch_});
    out.examples = batch_;
    return out;
  }
  int64_t correct(const Batch& batch, const NamedBuffers& outputs) const override {
    const float* logits = static_cast<const float*>(outputs.at("logits").data());
    const int32_t* labels = static_cast<const int32_t*>(batch.inputs.at("labels").data());
    int64_t n = 0;
    for (int64_t b = 0; b < batch_; ++b) n += (logits[2 * b + 1] > logits[2 * b]) == (labels[b] == 1);
    return n;
  }

 private:
  int64_t batch_;
};

std::unique_ptr<TrainableModel> toy_model(const std::string& target = "host") {
  return TrainableModel::jit(zoo::build_imdb_classifier(
      {.vocab_size = ToyData::kVocab, .embed_dim = 6, .hidden_size = 5, .num_layers = 2, .dropout = 0.2}), target);
}

class Fit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = toy_model().release(); }
  static void TearDownTestSuite() { delete model_; }
  static TrainableModel* model_;
};
TrainableModel* Fit::model_ = nullptr;

TEST_F(Fit, LossFallsAndTheCurveIsWritten) {
  fs::path dir = temp_dir("fit");
  model_->init_params(3);
  auto adam = make_adam({.lr = 0.02});
  FitOptions o{.epochs = 6, .clip_norm = 1.0, .seed = 5, .curve_svg = (dir / "curve.svg").string(), .progress_seconds = 1e9};
  FitResult r = fit(*model_, *adam, ToyData(), o);
  ASSERT_EQ(r.history.size(), 6u);
  EXPECT_LT(r.history.back().train_loss, 0.8 * r.history.front().train_loss);
  EXPECT_EQ(r.steps, 36);
  std::ifstream svg(o.curve_svg);
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("polyline"), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(Fit, ResumedRunRepeatsTheUninterruptedOne) {
  fs::path dir = temp_dir("resume");
  std::string ckpt = (dir / "m.ckpt").string();
  FitOptions o{.epochs = 3, .clip_norm = 1.0, .seed = 9, .checkpoint = ckpt, .progress_seconds = 1e9};
  o.checkpoint_text["config"] = "toy";

  model_->init_params(4);
  auto adam = make_adam({.lr = 0.01});
  FitResult whole = fit(*model_, *adam, ToyData(), o);
  ParamMap expected = model_->params();

  // A run that stops after epoch 2 (as if killed during epoch 3), then resumes in a fresh optimizer.
  model_->init_params(4);
  auto first = make_adam({.lr = 0.01});
  FitOptions two = o;
  two.epochs = 2;
  fit(*model_, *first, ToyData(), two);
  EXPECT_EQ(load_checkpoint(ckpt).get_text("config"), "toy");
  model_->init_params(99);  // whatever is in memory, resume takes the checkpoint's state
  auto second = make_adam({.lr = 0.01});
  FitOptions resume = o;
  resume.resume = true;
  FitResult resumed = fit(*model_, *second, ToyData(), resume);
  ASSERT_EQ(resumed.history.size(), 3u);
  EXPECT_EQ(resumed.steps, whole.steps);
  for (const auto& [name, t] : expected) EXPECT_EQ(model_->params().at(name).data, t.data) << name;
  EXPECT_DOUBLE_EQ(resumed.history.back().train_loss, whole.history.back().train_loss);
  fs::remove_all(dir);
}

TEST_F(Fit, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  fs::path dir = temp_dir("nan");
  std::string ckpt = (dir / "m.ckpt").string();
  model_->init_params(4);
  auto adam = make_adam({.lr = 0.01});
  FitOptions o{.epochs = 1, .checkpoint = ckpt, .progress_seconds = 1e9};
  fit(*model_, *adam, ToyData(), o);
  std::string before = serialize_checkpoint(load_checkpoint(ckpt));
  model_->params().at("fc.bias")[0] = NAN;
  o.epochs = 2;
  o.resume = false;
  std::string msg = user_error_of([&] { fit(*model_, *adam, ToyData(), o); });
  EXPECT_NE(msg.find("training diverged: the loss is nan at epoch 1, step 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("last good checkpoint"), std::string::npos) << msg;
  EXPECT_EQ(serialize_checkpoint(load_checkpoint(ckpt)), before);
  fs::remove_all(dir);
}

// A checkpoint or curve that cannot be written fails the run before its first step, not after an epoch;
// a divergence without any checkpoint on disk does not claim one is kept.
TEST_F(Fit, AnUnwritableCheckpointFailsBeforeTraining) {
  struct Counting : ToyData {
    mutable int64_t batches = 0;
    Batch batch(int epoch, int64_t index) const override {
      ++batches;
      return ToyData::batch(epoch, index);
    }
  } data;
  fs::path dir = temp_dir("unwritable");
  auto adam = make_adam({});
  FitOptions o{.epochs = 1, .checkpoint = (dir / "missing" / "m.ckpt").string(), .progress_seconds = 1e9};
  std::string msg = user_error_of([&] { fit(*model_, *adam, data, o); });
  EXPECT_NE(msg.find("cannot write the checkpoint " + o.checkpoint + ": No such file or directory"), std::string::npos)
      << msg;
  FitOptions curve{.epochs = 1, .curve_svg = dir.string(), .progress_seconds = 1e9};
  msg = user_error_of([&] { fit(*model_, *adam, data, curve); });
  EXPECT_NE(msg.find("cannot write the training curve " + dir.string() + ": it is a directory"), std::string::npos)
      << msg;
  EXPECT_EQ(data.batches, 0);

  model_->init_params(4);
  model_->params().at("fc.bias")[0] = NAN;
  FitOptions fresh{.epochs = 1, .checkpoint = (dir / "never.ckpt").string(), .progress_seconds = 1e9};
  msg = user_error_of([&] { fit(*model_, *adam, data, fresh); });
  EXPECT_NE(msg.find("training diverged"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("checkpoint"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST_F(Fit, ResumeRefusesAnotherModelsCheckpoint) {
  fs::path dir = temp_dir("other");
  std::string ckpt = (dir / "m.ckpt").string();
  Checkpoint c;
  c.text["model"] = "something-else";
  save_checkpoint_atomically(c, ckpt);
  auto adam = make_adam({});
  FitOptions o{.epochs = 1, .checkpoint = ckpt, .resume = true};
  EXPECT_NE(user_error_of([&] { fit(*model_, *adam, ToyData(), o); }).find("holds model 'something-else'"), std::string::npos);
  fs::remove_all(dir);
}

// Training with GPU kernels (RNNC_TRAIN_TEST_DEVICE=cuda or opencl; pocl runs the GPU schedules on a
// CPU): a step's saved activations stay on the device between @forward and @backward, parameters go up
// once a step and again after every optimizer step. The same fit as on the CPU, step for step: a stale
// parameter copy or activation would change the losses from the second step on.
TEST(TrainOnDevice, FitMatchesTheCpu) {
  const char* name = std::getenv("RNNC_TRAIN_TEST_DEVICE");
  if (!name || !*name) GTEST_SKIP() << "set RNNC_TRAIN_TEST_DEVICE=cuda or opencl to train with GPU kernels";
  const runtime::Device device = runtime::parse_device(name);
  if (std::string why = runtime::device_unavailable_reason(device); !why.empty()) GTEST_SKIP() << why;
  // 13 rows: on OpenCL, where a view starts at a multiple of 128 bytes (pocl), the steps of a sequence
  // are not such views, and the scans run on copies with padded time strides (steps_viewable).
  const ToyData data(13);
  auto on_device = toy_model(codegen::jit_target(device));
  auto on_cpu = toy_model();
  FitOptions o{.epochs = 2, .clip_norm = 1.0, .seed = 5, .progress_seconds = 1e9};
  std::vector<EpochRecord> history[2];
  int i = 0;
  for (TrainableModel* m : {on_device.get(), on_cpu.get()}) {
    m->init_params(3);
    auto adam = make_adam({.lr = 0.02});
    history[i++] = fit(*m, *adam, data, o).history;
  }
  ASSERT_EQ(history[0].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(history[0][e].train_loss, history[1][e].train_loss, 1e-4 * std::abs(history[1][e].train_loss)) << e;
    // Read from the logits forward_backward brings back (a tie may flip one example of 192).
    EXPECT_NEAR(history[0][e].train_accuracy, history[1][e].train_accuracy, 1.5 / 192) << e;
  }
  for (const auto& [param, expected] : on_cpu->params()) {
    const runtime::Tensor<float>& got = on_device->params().at(param);
    ASSERT_EQ(got.shape, expected.shape) << param;
    for (size_t k = 0; k < expected.data.size(); ++k) {
      ASSERT_NEAR(got.data[k], expected.data[k], 1e-4 * (1 + std::abs(expected.data[k]))) << param << "[" << k << "]";
    }
  }
}

}  // namespace
}  // namespace rnnc::train
