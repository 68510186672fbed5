// imdb-sentiment: the seed's LSTM sentiment classifier on the IMDB reviews, written in rnnc's DSL,
// compiled by the passes and Halide, trained, evaluated and served by rnnc's runtime.
//
//   imdb-sentiment train   --data PATH [--epochs 5] [--checkpoint FILE] [--seed N] [--resume] ...
//   imdb-sentiment eval    --data PATH --checkpoint FILE
//   imdb-sentiment predict --checkpoint FILE "text" ["text" ...]
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include "codegen/jit.h"
#include "data/pipeline.h"
#include "imdb_job.h"
#include "ir/error.h"
#include "runtime/device.h"
#include "runtime/train/checkpoint.h"
#include "tools/cli.h"

namespace rnnc::imdb {
namespace {

const char* kUsage = R"(usage:
  imdb-sentiment train --data PATH [options]      train the seed's LSTMClassifier, checkpoint each epoch
  imdb-sentiment eval --data PATH --checkpoint FILE
                                                   accuracy on PATH's test split, else on the validation split
  imdb-sentiment predict --checkpoint FILE TEXT... the sentiment of each TEXT, with its confidence

PATH is the aclImdb directory or its .tar.gz (scripts/fetch-imdb.sh prints where it is).

train options (defaults are the seed's settings):
  --epochs N (5)  --batch N (64)  --lr X (1e-3)  --clip X (1.0)  --optimizer adam|sgd (adam)
  --max-len N (200)  --truncate head|tail (head: which end of a longer review is kept)  --vocab N (25000)  --embed N (100)  --hidden N (128)  --layers N (2)
  --dropout X (0.3)  --bidirectional  --seed N (0)  --validation N (5000)  --split-seed N (1234)
  --word-vectors N (5: the embedding starts from word vectors learnt by N skip-gram epochs over the
        training reviews' text, labels unused, as the classic recipe starts from GloVe's; 0: from
        N(0,1), as PyTorch's)  --word-vector-std X (1.0: the vectors' entries scaled to this spread)
  --checkpoint FILE (imdb-sentiment.ckpt)  --resume (continue from the checkpoint when it exists)
  --curve FILE (the checkpoint's name with .svg)  --limit N (train on N reviews only)
  --max-steps N (steps per epoch, for quick runs)  --no-eval (skip the per-epoch validation)
  --progress-seconds X (2; 0 prints a progress line after every step)
common: --device cpu|cuda|opencl (cpu): where the kernels run; a GPU this machine cannot use (no
        driver, no device) falls back to the CPU with a one-line note on stderr. opencl runs the GPU
        schedules through an OpenCL driver (pocl on a CPU: for testing)
        --target T (Halide CPU target, default host; with --device cpu only)
)";

// The JIT target for --device/--target. A GPU this machine cannot use is not an error: one line on
// stderr says why, and the kernels run on the CPU.
std::string kernel_target(const cli::Args& args) {
  const std::string name = args.get("device", "cpu");
  if (name != "cpu" && name != "cuda" && name != "opencl") {
    throw cli::UsageError("--device must be cpu, cuda or opencl, got '" + name + "'");
  }
  const runtime::Device requested = runtime::parse_device(name);
  if (requested != runtime::Device::Cpu && args.has("target")) {
    throw cli::UsageError("--target names a CPU target; it cannot be combined with --device " + name);
  }
  std::string note;
  const runtime::Device device = runtime::usable_device_or_cpu(requested, &note);
  if (!note.empty()) std::fprintf(stderr, "imdb-sentiment: %s\n", note.c_str());
  if (device == runtime::Device::Cpu) return args.get("target", "host");
  std::printf("device: %s\n", runtime::device_name(device));
  return codegen::jit_target(device);
}

std::string vocab_summary(const data::Vocab& v) { return std::to_string(v.size()) + " ids"; }

struct Loaded {
  JobConfig config;
  data::Vocab vocab;
  train::Checkpoint checkpoint;
};

Loaded load_job(const std::string& path) {
  Loaded l;
  l.checkpoint = train::load_checkpoint(path);
  l.config = JobConfig::parse(l.checkpoint.get_text("config"), path);
  l.vocab = data::Vocab::parse(l.checkpoint.get_text("vocab"), path + " (vocabulary)");
  return l;
}

// The settings of a new run from its command line, over `c`'s.
void apply_settings(const cli::Args& args, JobConfig& c) {
  c.vocab_tokens = args.get_int("vocab", c.vocab_tokens);
  c.max_len = static_cast<int32_t>(args.get_int("max-len", c.max_len));
  c.truncate = args.get("truncate", c.truncate);
  c.embed_dim = args.get_int("embed", c.embed_dim);
  c.hidden_size = args.get_int("hidden", c.hidden_size);
  c.num_layers = static_cast<int>(args.get_int("layers", c.num_layers));
  c.dropout = args.get_double("dropout", c.dropout);
  c.bidirectional = c.bidirectional || args.has("bidirectional");
  c.batch_size = static_cast<int32_t>(args.get_int("batch", c.batch_size));
  c.optimizer = args.get("optimizer", c.optimizer);
  c.lr = args.get_positive_double("lr", c.lr);
  c.clip = args.get_double("clip", c.clip);
  c.seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int64_t>(c.seed)));
  c.split_seed = static_cast<uint64_t>(args.get_int("split-seed", static_cast<int64_t>(c.split_seed)));
  c.validation_size = args.get_int("validation", c.validation_size);
  c.limit_train = args.get_int("limit", c.limit_train);
  const int64_t word_vector_epochs = args.get_int("word-vectors", c.word_vector_epochs);
  if (word_vector_epochs < 0 || word_vector_epochs > data::kMaxWordVectorEpochs) {
    throw cli::UsageError("--word-vectors must be between 0 and " + std::to_string(data::kMaxWordVectorEpochs));
  }
  c.word_vector_epochs = static_cast<int32_t>(word_vector_epochs);
  c.word_vector_std = args.get_double("word-vector-std", c.word_vector_std);
}

int train_command(const cli::Args& args) {
  const std::string data_path = args.get("data");
  if (data_path.empty()) throw cli::UsageError("train needs --data PATH");
  const std::string checkpoint = args.get("checkpoint", "imdb-sentiment.ckpt");
  const bool resume = args.has("resume") && std::filesystem::exists(checkpoint);

  JobConfig c;
  if (resume) {
    // A resumed run continues with the settings it started with; only the epoch count may grow. The same
    // command line again is fine; a setting that differs from the checkpoint's would be ignored: say so.
    c = load_job(checkpoint).config;
    JobConfig asked = c;
    apply_settings(args, asked);
    asked.epochs = c.epochs;
    std::istringstream kept(c.serialize()), given(asked.serialize());
    std::string differ;
    for (std::string k, g; std::getline(kept, k) && std::getline(given, g);) {
      if (k != g) differ += (differ.empty() ? "" : ", ") + g.substr(0, g.find('=')) + " " + g.substr(g.find('=') + 1) +
                            " (the checkpoint's: " + k.substr(k.find('=') + 1) + ")";
    }
    if (!differ.empty()) {
      throw cli::UsageError("a resumed run keeps the settings " + checkpoint + " started with, and only --epochs may "
                            "change: asked for " + differ);
    }
  } else {
    apply_settings(args, c);
  }
  c.epochs = static_cast<int>(args.get_int("epochs", c.epochs));
  if (c.batch_size <= 0 || c.epochs <= 0 || c.max_len <= 0) throw cli::UsageError("--batch, --epochs and --max-len must be positive");
  if (c.vocab_tokens < 1) throw cli::UsageError("--vocab must be positive (the words kept besides <pad> and <unk>)");
  if (c.limit_train < 0) throw cli::UsageError("--limit must be 0 (all reviews) or positive");
  if (!(c.clip >= 0)) throw cli::UsageError("--clip must be 0 (no clipping) or positive");
  if (!(c.word_vector_std > 0)) throw cli::UsageError("--word-vector-std must be positive");

  data::ImdbOptions o;
  o.max_len = c.max_len;
  o.truncate = truncation(c.truncate);
  o.vocab_tokens = c.vocab_tokens;
  o.validation_size = c.validation_size;
  o.seed = c.split_seed;
  o.use_test_split = false;  // the test split is for `eval`; model selection uses a carved validation split
  o.limit_train = c.limit_train;
  const bool learn_word_vectors = c.word_vector_epochs > 0 && !resume;  // a resumed run has its embedding
  o.keep_untruncated_train = learn_word_vectors;
  data::ImdbData d = data::load_imdb(data_path, o);
  std::printf("data: %s: %zu training and %zu validation reviews (%s), vocabulary %s; read %.1fs, vocab %.1fs, encode %.1fs\n",
              d.source_info.origin.c_str(), d.train.size(), d.validation.size(), d.validation_source.c_str(),
              vocab_summary(d.vocab).c_str(), d.read_seconds, d.vocab_seconds, d.encode_seconds);
  if (d.source_info.skipped_empty || d.source_info.repaired_utf8) {
    std::printf("data: skipped %" PRId64 " empty reviews, repaired invalid UTF-8 in %" PRId64 "\n",
                d.source_info.skipped_empty, d.source_info.repaired_utf8);
  }
  if (resume) {
    data::Vocab stored = load_job(checkpoint).vocab;
    RNNC_USER_CHECK(stored == d.vocab) << "cannot resume: the vocabulary built from " << data_path
                                       << " differs from the one in " << checkpoint << " (other data or settings?)";
  }

  std::printf("compiling the model (JIT, cached after the first run)...\n");
  std::fflush(stdout);
  auto model = build_model(c, d.vocab.size(), kernel_target(args));
  model->init_params(c.seed);
  if (learn_word_vectors) {
    std::printf("%s\n", start_embedding_from_word_vectors(*model, c, d.train_untruncated, d.vocab.size()).c_str());
    d.train_untruncated = {};  // ~18 MB on IMDB, not needed again
  }
  std::printf("model %s: %" PRId64 " parameters\n", model->name().c_str(), model->num_parameters());
  auto optimizer = train::make_optimizer(c.optimizer, c.lr);

  train::FitOptions f;
  f.epochs = c.epochs;
  f.clip_norm = c.clip;
  f.seed = c.seed;
  f.checkpoint = checkpoint;
  f.resume = resume;
  f.curve_svg = args.get("curve", std::filesystem::path(checkpoint).replace_extension(".svg").string());
  f.max_steps_per_epoch = args.get_int("max-steps", -1);
  f.progress_seconds = args.get_double("progress-seconds", 2.0);
  f.checkpoint_text["config"] = c.serialize();
  f.checkpoint_text["vocab"] = d.vocab.serialize();
  if (!args.has("no-eval")) {
    f.evaluate = [&] {
      Accuracy a = evaluate(*model, d.validation);
      char line[128];
      std::snprintf(line, sizeof line, "validation loss %.4f, accuracy %.2f%%", a.loss, 100 * a.fraction());
      return train::EvalResult{a.loss, a.fraction(), line};
    };
  }
  TrainBatches batches(d.train, c.batch_size, c.seed);
  train::FitResult r = train::fit(*model, *optimizer, batches, f);
  std::printf("\n%-6s %10s %10s %10s %10s %9s\n", "epoch", "train loss", "train acc", "valid loss", "valid acc", "time");
  for (const train::EpochRecord& e : r.history) {
    std::printf("%-6d %10.4f %9.2f%% %10.4f %9.2f%% %9s\n", e.epoch, e.train_loss, 100 * e.train_accuracy, e.eval_loss,
                100 * e.eval_accuracy, train::format_duration(e.seconds).c_str());
  }
  Accuracy final_accuracy = evaluate(*model, d.validation);
  std::printf("validation accuracy: %.2f%% (%" PRId64 "/%" PRId64 ")\n", 100 * final_accuracy.fraction(),
              final_accuracy.correct, final_accuracy.total);
  return 0;
}

int eval_command(const cli::Args& args) {
  const std::string data_path = args.get("data"), checkpoint = args.get("checkpoint");
  if (data_path.empty() || checkpoint.empty()) throw cli::UsageError("eval needs --data PATH and --checkpoint FILE");
  Loaded job = load_job(checkpoint);
  data::ImdbDataset dataset = data::read_imdb(data_path);
  const bool test = dataset.has_test();
  std::vector<data::Review> reviews =
      test ? std::move(dataset.test)
           : data::split_train_validation(std::move(dataset.train), job.config.validation_size, job.config.split_seed).validation;
  data::EncodedSplit split =
      data::encode_reviews(reviews, job.vocab, job.config.max_len, truncation(job.config.truncate));
  auto model = build_model(job.config, job.vocab.size(), kernel_target(args));
  train::restore_params(*model, job.checkpoint);
  Accuracy a = evaluate(*model, split);
  std::printf("%s: %" PRId64 " reviews, mean cross-entropy %.4f\n", test ? "test split" : "validation split (carved from train)",
              a.total, a.loss);
  std::printf("%s accuracy: %.2f%% (%" PRId64 "/%" PRId64 ")\n", test ? "test" : "validation", 100 * a.fraction(), a.correct,
              a.total);
  return 0;
}

int predict_command(const cli::Args& args) {
  const std::string checkpoint = args.get("checkpoint");
  if (checkpoint.empty()) throw cli::UsageError("predict needs --checkpoint FILE");
  std::vector<std::string> texts(args.positional().begin() + 1, args.positional().end());
  if (texts.empty()) throw cli::UsageError("predict needs at least one TEXT");
  Loaded job = load_job(checkpoint);
  data::EncodedSplit split;
  for (const std::string& t : texts) {
    std::vector<int32_t> ids = job.vocab.encode(t, job.config.max_len, truncation(job.config.truncate));
    RNNC_USER_CHECK(!ids.empty()) << "predict: the text '" << t << "' has no words to classify";
    split.add(ids, 0);
  }
  auto model = build_model(job.config, job.vocab.size(), kernel_target(args));
  train::restore_params(*model, job.checkpoint);
  std::vector<float> p = positive_probabilities(*model, split, 64);
  for (size_t i = 0; i < texts.size(); ++i) {
    bool pos = p[i] >= 0.5f;
    if (texts.size() > 1) std::printf("%s\n  ", texts[i].c_str());
    std::printf("%s (confidence: %.2f%%)\n", pos ? "positive" : "negative", 100.0 * (pos ? p[i] : 1 - p[i]));
  }
  return 0;
}

int body(int argc, char** argv) {
  cli::Args args(argc, argv,
                 {"data", "checkpoint", "epochs", "batch", "lr", "clip", "optimizer", "max-len", "truncate", "vocab", "embed", "hidden",
                  "layers", "dropout", "seed", "validation", "word-vectors", "word-vector-std", "split-seed", "curve", "limit", "max-steps", "target", "device", "progress-seconds"},
                 {"resume", "bidirectional", "no-eval"});
  if (args.positional().empty()) throw cli::UsageError("missing command: train, eval or predict");
  const std::string& command = args.positional()[0];
  if (command == "train") return train_command(args);
  if (command == "eval") return eval_command(args);
  if (command == "predict") return predict_command(args);
  throw cli::UsageError("unknown command '" + command + "': expected train, eval or predict");
}

}  // namespace
}  // namespace rnnc::imdb

int main(int argc, char** argv) { return rnnc::cli::run_tool("imdb-sentiment", rnnc::imdb::kUsage, rnnc::imdb::body, argc, argv); }
