// The whole IMDB input pipeline in one call: read, split, build the vocabulary, numericalise.
//
//   data::ImdbOptions options;                      // max_len 200, 25000 tokens, 5000 validation, seed
//   data::ImdbData d = data::load_imdb(path, options);
//   for (int epoch = 0; epoch < 5; ++epoch)
//     for (auto& indices : data::batch_plan(d.train.size(), {.batch_size = 64, .seed = 1}, epoch)) {
//       data::Batch b = data::make_batch(d.train, indices);   // tokens [T][B], lengths [B], labels [B]
//       ...
//     }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/imdb.h"
#include "data/vocab.h"

namespace rnnc::data {

struct ImdbOptions {
  int32_t max_len = 200;                           // tokens kept per review (<= 0: all)
  Truncate truncate = Truncate::Head;              // which end of a longer review is kept
  int64_t vocab_tokens = Vocab::kDefaultMaxTokens;  // most frequent tokens kept, besides the 3 specials
  int64_t min_freq = 1;
  int64_t validation_size = 5000;  // carved from train when the test split is not used
  uint64_t seed = 1234;            // the validation split's permutation
  bool use_test_split = true;      // validate on test/ when the data has it; false: always carve
  int64_t limit_train = 0;         // > 0: keep only this many training reviews (a seeded subset), for quick runs
  bool keep_untruncated_train = false;  // also fill ImdbData::train_untruncated (e.g. for word vectors)
};

struct ImdbData {
  Vocab vocab;                    // built on `train` only
  EncodedSplit train, validation;
  EncodedSplit train_untruncated;  // every token of the training reviews, with keep_untruncated_train
  std::vector<std::string> train_paths, validation_paths;  // each example's review, e.g. "train/pos/0_9.txt"
  std::string validation_source;  // "test" or "train" (carved)
  ImdbDataset source_info;        // origin, skipped/repaired counts and warnings (reviews moved out)
  double read_seconds = 0, vocab_seconds = 0, encode_seconds = 0;
};

ImdbData load_imdb(const std::string& path, const ImdbOptions& options = {});
// The same, on reviews already read.
ImdbData prepare_imdb(ImdbDataset dataset, const ImdbOptions& options = {});

}  // namespace rnnc::data
