#include "imdb_job.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "data/word_vectors.h"
#include "frontend/zoo.h"
#include "ir/error.h"

namespace rnnc::imdb {
namespace {

int64_t argmax_correct(const float* logits, const int32_t* labels, int64_t n) {
  int64_t correct = 0;
  for (int64_t b = 0; b < n; ++b) correct += (logits[2 * b + 1] > logits[2 * b] ? 1 : 0) == labels[b];
  return correct;
}

}  // namespace

std::string JobConfig::serialize() const {
  std::ostringstream out;
  out.precision(17);
  out << "vocab_tokens=" << vocab_tokens << "\nmax_len=" << max_len << "\ntruncate=" << truncate << "\nembed_dim=" << embed_dim
      << "\nhidden_size=" << hidden_size << "\nnum_layers=" << num_layers << "\ndropout=" << dropout
      << "\nbidirectional=" << (bidirectional ? 1 : 0) << "\nbatch_size=" << batch_size << "\noptimizer=" << optimizer
      << "\nlr=" << lr << "\nclip=" << clip << "\nepochs=" << epochs << "\nseed=" << seed << "\nsplit_seed=" << split_seed
      << "\nvalidation_size=" << validation_size << "\nlimit_train=" << limit_train
      << "\nword_vector_epochs=" << word_vector_epochs << "\nword_vector_std=" << word_vector_std << "\n";
  return out.str();
}

JobConfig JobConfig::parse(const std::string& text, const std::string& origin) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    size_t eq = line.find('=');
    RNNC_USER_CHECK(eq != std::string::npos && eq > 0) << origin << ": config line " << line_no << " is not key=value: '"
                                                       << line << "'";
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  JobConfig c;
  auto num = [&](const char* key, auto& field) {
    auto it = kv.find(key);
    RNNC_USER_CHECK(it != kv.end()) << origin << ": config has no '" << key << "'";
    std::istringstream value(it->second);
    value >> field;
    RNNC_USER_CHECK(value && value.peek() == EOF) << origin << ": config '" << key << "' is not a number: '"
                                                  << it->second << "'";
  };
  int bidirectional = 0;
  num("vocab_tokens", c.vocab_tokens);
  num("max_len", c.max_len);
  num("embed_dim", c.embed_dim);
  num("hidden_size", c.hidden_size);
  num("num_layers", c.num_layers);
  num("dropout", c.dropout);
  num("bidirectional", bidirectional);
  num("batch_size", c.batch_size);
  num("lr", c.lr);
  num("clip", c.clip);
  num("epochs", c.epochs);
  num("seed", c.seed);
  num("split_seed", c.split_seed);
  num("validation_size", c.validation_size);
  num("limit_train", c.limit_train);
  c.bidirectional = bidirectional != 0;
  // Checkpoints written before word vectors existed started from N(0, 1).
  c.word_vector_epochs = 0;
  if (kv.count("word_vector_epochs")) num("word_vector_epochs", c.word_vector_epochs);
  if (kv.count("word_vector_std")) num("word_vector_std", c.word_vector_std);
  RNNC_USER_CHECK(c.word_vector_epochs >= 0 && c.word_vector_epochs <= data::kMaxWordVectorEpochs && c.word_vector_std > 0)
      << origin << ": config 'word_vector_epochs' (" << c.word_vector_epochs << ") or 'word_vector_std' ("
      << c.word_vector_std << ") is out of range";
  RNNC_USER_CHECK(kv.count("optimizer")) << origin << ": config has no 'optimizer'";
  c.optimizer = kv["optimizer"];
  // Checkpoints written before the option existed kept the head.
  if (auto t = kv.find("truncate"); t != kv.end()) c.truncate = t->second;
  RNNC_USER_CHECK(c.truncate == "head" || c.truncate == "tail")
      << origin << ": config 'truncate' is '" << c.truncate << "', expected head or tail";
  RNNC_USER_CHECK(c.embed_dim > 0 && c.hidden_size > 0 && c.num_layers > 0 && c.batch_size > 0)
      << origin << ": config has a non-positive size";
  return c;
}

data::Truncate truncation(const std::string& name) {
  if (name == "head") return data::Truncate::Head;
  RNNC_USER_CHECK(name == "tail") << "--truncate must be head or tail, not '" << name << "'";
  return data::Truncate::Tail;
}

std::string start_embedding_from_word_vectors(train::TrainableModel& model, const JobConfig& c,
                                              const data::EncodedSplit& corpus, int64_t vocab_size) {
  data::WordVectors v =
      data::embedding_start(corpus, vocab_size, {.dim = c.embed_dim, .epochs = c.word_vector_epochs, .seed = c.seed},
                            c.word_vector_std);
  runtime::Tensor<float>& table = model.params().at("embedding.weight");
  RNNC_INTERNAL_CHECK(table.size() == static_cast<int64_t>(v.values.size())) << "embedding of " << table.size() << " values for "
                                                                    << v.values.size() << " word-vector values";
  table.data = std::move(v.values);
  char line[160];
  std::snprintf(line, sizeof line, "word vectors: %d skip-gram epochs over %zu reviews (%.1fM centre words) in %.1fs",
                v.epochs, corpus.size(), static_cast<double>(v.trained_tokens) / 1e6, v.seconds);
  return line;
}

std::unique_ptr<train::TrainableModel> build_model(const JobConfig& c, int64_t vocab_size, const std::string& target) {
  zoo::ImdbClassifierOptions o;
  o.vocab_size = vocab_size;
  o.embed_dim = c.embed_dim;
  o.hidden_size = c.hidden_size;
  o.num_layers = c.num_layers;
  o.dropout = c.dropout;
  o.padding_idx = data::Vocab::kPad;
  o.bidirectional = c.bidirectional;
  return train::TrainableModel::jit(zoo::build_imdb_classifier(o), target);
}

train::NamedBuffers batch_inputs(const data::Batch& b) {
  train::NamedBuffers in;
  in["tokens"] = train::i32_buffer(b.tokens, {b.max_length, b.batch_size});
  in["lengths"] = train::i32_buffer(b.lengths, {b.batch_size});
  in["labels"] = train::i32_buffer(b.labels, {b.batch_size});
  return in;
}

std::vector<float> positive_probabilities(train::TrainableModel& model, const data::EncodedSplit& split, int32_t batch_size) {
  std::vector<float> out;
  out.reserve(split.size());
  data::BatchOptions order{.batch_size = batch_size, .shuffle = false};
  for (const auto& indices : data::batch_plan(split.size(), order, 0)) {
    data::Batch b = data::make_batch(split, indices);
    train::NamedBuffers result = model.infer(batch_inputs(b));
    const float* logits = static_cast<const float*>(result.at("logits").data());
    for (int32_t i = 0; i < b.batch_size; ++i) {
      // softmax over two classes: p(pos) = 1 / (1 + exp(l_neg - l_pos))
      out.push_back(1.0f / (1.0f + std::exp(logits[2 * i] - logits[2 * i + 1])));
    }
  }
  return out;
}

Accuracy evaluate(train::TrainableModel& model, const data::EncodedSplit& split, int32_t batch_size) {
  std::vector<float> p = positive_probabilities(model, split, batch_size);
  Accuracy a;
  a.total = static_cast<int64_t>(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    bool pos = split.labels[i] == data::kLabelPos;
    a.correct += (p[i] > 0.5f) == pos;
    a.loss -= std::log(std::max(pos ? p[i] : 1 - p[i], 1e-12f));
  }
  if (a.total) a.loss /= static_cast<double>(a.total);
  return a;
}

TrainBatches::TrainBatches(const data::EncodedSplit& split, int32_t batch_size, uint64_t seed)
    : split_(split), options_{.batch_size = batch_size, .shuffle = true, .seed = seed} {}

const std::vector<std::vector<int64_t>>& TrainBatches::plan(int epoch) const {
  if (plan_epoch_ != epoch) {
    plan_ = data::batch_plan(split_.size(), options_, epoch);
    plan_epoch_ = epoch;
  }
  return plan_;
}

int64_t TrainBatches::num_batches(int epoch) const { return static_cast<int64_t>(plan(epoch).size()); }

train::Batch TrainBatches::batch(int epoch, int64_t index) const {
  data::Batch b = data::make_batch(split_, plan(epoch).at(static_cast<size_t>(index)));
  return {batch_inputs(b), b.batch_size};
}

int64_t TrainBatches::correct(const train::Batch& batch, const train::NamedBuffers& outputs) const {
  const train::Buffer& labels = batch.inputs.at("labels");
  return argmax_correct(static_cast<const float*>(outputs.at("logits").data()),
                        static_cast<const int32_t*>(labels.data()), labels.dim(0).extent());
}

}  // namespace rnnc::imdb
