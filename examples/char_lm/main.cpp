// char-lm: a character-level LSTM language model of Moby Dick, written in rnnc's DSL and trained by
// rnnc's runtime. It reports bits per character on a held-out tenth of the book against the unigram
// baseline (the entropy of the character frequencies), which it must beat, and samples text.
//
//   char-lm [--data FILE] [--epochs N] [--hidden N] [--seq N] [--steps N] [--seed N]
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <random>

#include "frontend/zoo.h"
#include "ir/durable_file.h"
#include "ir/error.h"
#include "runtime/train/fit.h"
#include "tools/cli.h"

namespace rnnc::charlm {
namespace {

const char* kUsage = R"(usage: char-lm [options]
  --data FILE   plain text (default ../shared/data/moby-dick.txt)
  --epochs N (4)  --steps N (steps per epoch, 300)  --seq N (64)  --batch N (32)  --hidden N (256)
  --embed N (32)  --lr X (3e-3)  --seed N (0)  --sample N (characters to sample, 300)  --prime TEXT
  --checkpoint FILE (char-lm.ckpt)  --curve FILE (char-lm.svg)  --target T (host)  --resume
)";

constexpr double kLn2 = 0.6931471805599453;

// Bytes of the text as symbols: the model works on the UTF-8 bytes that occur, in byte order.
struct Alphabet {
  std::vector<int32_t> id_of = std::vector<int32_t>(256, -1);
  std::vector<unsigned char> byte_of;
  int32_t size() const { return static_cast<int32_t>(byte_of.size()); }
};

std::string read_text(const std::string& path) {
  std::string text = read_file_or_say_why(path, "the text to model", "see ../shared/data/README.md");
  RNNC_USER_CHECK(text.size() >= 10000) << path << ": only " << text.size() << " bytes; need at least 10000";
  return text;
}

class Chunks : public train::BatchSource {
 public:
  Chunks(const std::vector<int32_t>& ids, int64_t seq, int64_t batch, int64_t steps, uint64_t seed)
      : ids_(ids), seq_(seq), batch_(batch), steps_(steps), seed_(seed) {}
  int64_t num_batches(int) const override { return steps_; }
  // Random windows of the training text, a pure function of (seed, epoch, index).
  train::Batch batch(int epoch, int64_t index) const override {
    std::mt19937_64 gen(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) * 1000003 + static_cast<uint64_t>(index));
    std::uniform_int_distribution<int64_t> start(0, static_cast<int64_t>(ids_.size()) - seq_ - 1);
    std::vector<int64_t> starts(static_cast<size_t>(batch_));
    for (auto& s : starts) s = start(gen);
    return window(starts);
  }
  train::Batch window(const std::vector<int64_t>& starts) const {
    const int64_t b = static_cast<int64_t>(starts.size());
    std::vector<int32_t> in(static_cast<size_t>(seq_ * b)), out(static_cast<size_t>(seq_ * b));
    for (int64_t j = 0; j < b; ++j) {
      for (int64_t t = 0; t < seq_; ++t) {
        in[static_cast<size_t>(t * b + j)] = ids_[static_cast<size_t>(starts[static_cast<size_t>(j)] + t)];
        out[static_cast<size_t>(t * b + j)] = ids_[static_cast<size_t>(starts[static_cast<size_t>(j)] + t + 1)];
      }
    }
    train::Batch batch;
    batch.inputs["text"] = train::i32_buffer(in, {seq_, b});
    batch.inputs["next"] = train::i32_buffer(out, {seq_, b});
    batch.examples = b;
    return batch;
  }

 private:
  const std::vector<int32_t>& ids_;
  int64_t seq_, batch_, steps_;
  uint64_t seed_;
};

// Mean bits per character over `ids`, in non-overlapping windows of `seq` (each starts from a zero state).
double bits_per_char(train::TrainableModel& model, const std::vector<int32_t>& ids, int64_t seq, int32_t vocab) {
  Chunks chunks(ids, seq, 1, 0, 0);
  double nats = 0;
  int64_t count = 0;
  const int64_t windows = (static_cast<int64_t>(ids.size()) - 1) / seq;
  for (int64_t w0 = 0; w0 < windows; w0 += 256) {
    std::vector<int64_t> starts;
    for (int64_t w = w0; w < std::min(windows, w0 + 256); ++w) starts.push_back(w * seq);
    train::Batch b = chunks.window(starts);
    const float* logits = static_cast<const float*>(model.infer(b.inputs).at("logits").data());
    const int32_t* next = static_cast<const int32_t*>(b.inputs.at("next").data());
    const int64_t rows = seq * static_cast<int64_t>(starts.size());
    for (int64_t r = 0; r < rows; ++r) {
      const float* l = logits + r * vocab;
      float mx = *std::max_element(l, l + vocab);
      double sum = 0;
      for (int32_t c = 0; c < vocab; ++c) sum += std::exp(static_cast<double>(l[c] - mx));
      nats += std::log(sum) + mx - l[next[r]];
    }
    count += rows;
  }
  return nats / static_cast<double>(count) / kLn2;
}

std::string sample(train::TrainableModel& model, const Alphabet& a, const std::string& prime, int64_t length, uint64_t seed,
                   double temperature) {
  std::vector<int32_t> ids;
  for (unsigned char c : prime) ids.push_back(std::max(a.id_of[c], 0));
  std::mt19937_64 gen(seed);
  std::string out = prime;
  constexpr int64_t kContext = 128;  // the model sees the last kContext characters
  for (int64_t i = 0; i < length; ++i) {
    int64_t from = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - kContext), t = static_cast<int64_t>(ids.size()) - from;
    std::vector<int32_t> window(ids.begin() + from, ids.end());
    train::NamedBuffers in{{"text", train::i32_buffer(window, {t, 1})}, {"next", train::i32_buffer(window, {t, 1})}};
    const float* l = static_cast<const float*>(model.infer(in).at("logits").data()) + (t - 1) * a.size();
    std::vector<double> p(static_cast<size_t>(a.size()));
    float mx = *std::max_element(l, l + a.size());
    for (int32_t c = 0; c < a.size(); ++c) p[static_cast<size_t>(c)] = std::exp((l[c] - mx) / temperature);
    int32_t next = static_cast<int32_t>(std::discrete_distribution<int32_t>(p.begin(), p.end())(gen));
    ids.push_back(next);
    out += static_cast<char>(a.byte_of[static_cast<size_t>(next)]);
  }
  return out;
}

int body(int argc, char** argv) {
  cli::Args args(argc, argv,
                 {"data", "epochs", "steps", "seq", "batch", "hidden", "embed", "lr", "seed", "sample", "prime",
                  "checkpoint", "curve", "target"},
                 {"resume"});
  const std::string path = args.get("data", "../shared/data/moby-dick.txt");
  const int64_t seq = args.get_int("seq", 64), batch = args.get_int("batch", 32), hidden = args.get_int("hidden", 256);
  const int64_t embed = args.get_int("embed", 32), steps = args.get_int("steps", 300);
  const int epochs = static_cast<int>(args.get_int("epochs", 4));
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed", 0));
  if (seq < 2 || batch <= 0 || hidden <= 0 || embed <= 0 || steps <= 0 || epochs <= 0) {
    throw cli::UsageError("--seq >= 2; --batch, --hidden, --embed, --steps and --epochs > 0");
  }
  const double lr = args.get_positive_double("lr", 3e-3);
  args.expect_no_positional();

  const std::string text = read_text(path);
  Alphabet a;
  for (unsigned char c : text) a.id_of[c] = 0;
  for (int c = 0; c < 256; ++c) {
    if (a.id_of[static_cast<size_t>(c)] == 0) {
      a.id_of[static_cast<size_t>(c)] = a.size();
      a.byte_of.push_back(static_cast<unsigned char>(c));
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(a.id_of[c]);
  const size_t split = ids.size() * 9 / 10;
  std::vector<int32_t> train_ids(ids.begin(), ids.begin() + static_cast<int64_t>(split)), held_out(ids.begin() + static_cast<int64_t>(split), ids.end());
  // A window is seq + 1 bytes (its inputs and the next byte of each), drawn from the training text and
  // tiled over the held-out tenth.
  RNNC_USER_CHECK(seq < static_cast<int64_t>(held_out.size()))
      << "--seq " << seq << " is too long for " << path << ": a window needs " << seq + 1
      << " bytes, and the held-out tenth of the text has " << held_out.size();

  // The unigram baseline: each held-out byte coded with the training text's byte frequencies.
  std::vector<double> freq(static_cast<size_t>(a.size()), 1.0);  // add-one smoothing
  for (int32_t id : train_ids) freq[static_cast<size_t>(id)] += 1;
  double total = static_cast<double>(train_ids.size()) + a.size(), unigram_bits = 0;
  for (int32_t id : held_out) unigram_bits -= std::log2(freq[static_cast<size_t>(id)] / total);
  unigram_bits /= static_cast<double>(held_out.size());
  std::printf("data: %s: %zu bytes, %d distinct; training on %zu, held out %zu; unigram baseline %.3f bits/char\n",
              path.c_str(), text.size(), a.size(), train_ids.size(), held_out.size(), unigram_bits);

  std::printf("compiling the model (JIT, cached after the first run)...\n");
  std::fflush(stdout);
  auto model = train::TrainableModel::jit(
      zoo::build_char_lm({.vocab_size = a.size(), .embed_dim = embed, .hidden_size = hidden}), args.get("target", "host"));
  model->init_params(seed);
  auto adam = train::make_adam({.lr = lr});
  train::FitOptions f;
  f.epochs = epochs;
  f.clip_norm = 1.0;
  f.seed = seed;
  f.checkpoint = args.get("checkpoint", "char-lm.ckpt");
  f.resume = args.has("resume");
  f.curve_svg = args.get("curve", "char-lm.svg");
  f.progress_seconds = 10;
  f.evaluate = [&] {
    double bpc = bits_per_char(*model, held_out, seq, a.size());
    char line[96];
    std::snprintf(line, sizeof line, "held-out %.3f bits/char (unigram %.3f)", bpc, unigram_bits);
    return train::EvalResult{bpc * kLn2, -1, line};
  };
  train::fit(*model, *adam, Chunks(train_ids, seq, batch, steps, seed), f);

  const double bpc = bits_per_char(*model, held_out, seq, a.size());
  std::printf("\nsample (temperature 0.7):\n%s\n\n",
              sample(*model, a, args.get("prime", "Call me Ishmael. "), args.get_int("sample", 300), seed, 0.7).c_str());
  std::printf("held-out: %.3f bits/char, unigram baseline %.3f bits/char: %s\n", bpc, unigram_bits,
              bpc < unigram_bits ? "beats the baseline" : "does NOT beat the baseline");
  return bpc < unigram_bits ? 0 : 3;
}

}  // namespace
}  // namespace rnnc::charlm

int main(int argc, char** argv) { return rnnc::cli::run_tool("char-lm", rnnc::charlm::kUsage, rnnc::charlm::body, argc, argv); }
