#include "data/pipeline.h"

#include <chrono>

#include "data/random.h"
#include "ir/error.h"

namespace rnnc::data {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

ImdbData prepare_imdb(ImdbDataset dataset, const ImdbOptions& options) {
  ImdbData out;
  std::vector<Review> train, validation;
  if (options.use_test_split && dataset.has_test()) {
    train = std::move(dataset.train);
    validation = std::move(dataset.test);
    out.validation_source = "test";
  } else {
    TrainValidation tv = split_train_validation(std::move(dataset.train), options.validation_size, options.seed);
    train = std::move(tv.train);
    validation = std::move(tv.validation);
    out.validation_source = "train";
  }
  if (options.limit_train > 0 && static_cast<size_t>(options.limit_train) < train.size()) {
    // A seeded subset, kept in order; stream 1 so it differs from the validation permutation.
    train = split_train_validation(std::move(train), options.limit_train, mix_seed(options.seed, 1)).validation;
  }
  dataset.train.clear();
  dataset.test.clear();
  out.source_info = std::move(dataset);

  auto start = std::chrono::steady_clock::now();
  out.vocab = Vocab::build(train, options.vocab_tokens, options.min_freq);
  out.vocab_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  for (const Review& r : train) out.train_paths.push_back(r.path);
  for (const Review& r : validation) out.validation_paths.push_back(r.path);
  if (options.keep_untruncated_train) {
    out.train_untruncated = encode_reviews(train, out.vocab, 0);
    out.train = truncate_examples(out.train_untruncated, options.max_len, options.truncate);
  } else {
    out.train = encode_reviews(train, out.vocab, options.max_len, options.truncate);
  }
  out.validation = encode_reviews(validation, out.vocab, options.max_len, options.truncate);
  out.encode_seconds = seconds_since(start);
  return out;
}

ImdbData load_imdb(const std::string& path, const ImdbOptions& options) {
  auto start = std::chrono::steady_clock::now();
  ImdbDataset dataset = read_imdb(path);
  double read_seconds = seconds_since(start);
  ImdbData out = prepare_imdb(std::move(dataset), options);
  out.read_seconds = read_seconds;
  return out;
}

}  // namespace rnnc::data
