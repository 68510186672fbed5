// Word vectors learnt from unlabelled text: skip-gram with negative sampling (Mikolov et al. 2013,
// "Distributed Representations of Words and Phrases", the word2vec tool's algorithm and defaults).
//
// The classic IMDB LSTM starts its 100-wide embedding from pretrained word vectors (GloVe 100d); none
// can be downloaded here, so rnnc learns its own from the training reviews' text (labels unused,
// validation text unseen) and starts the embedding from them.
//
// Deterministic: one thread and a seeded generator, so a seed gives the same vectors on every run of the
// same build (across compilers or libms, exp and rounding may differ in the last bits).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/batch.h"

namespace rnnc::data {

struct WordVectorOptions {
  int64_t dim = 100;
  int32_t window = 5;              // context words on each side, at most (each position draws 1..window)
  int32_t negatives = 5;           // noise words per (word, context) pair, drawn from unigram^0.75
  int32_t epochs = 5;
  double subsample = 1e-3;         // frequent words are dropped with word2vec's probability for this threshold
  double learning_rate = 0.025;    // falls linearly to 1e-4 of itself over the whole run
  uint64_t seed = 0;
  std::vector<int32_t> excluded;   // ids never trained nor drawn (e.g. <pad>); their rows stay zero
};

constexpr int64_t kMinEmbeddingStartPositions = int64_t{1} << 20;
// More epochs than this asked for is a mistake, not a setting (one over IMDB's reviews takes ~8 s):
// what the tools' --word-vectors accepts.
constexpr int64_t kMaxWordVectorEpochs = 1000;

struct WordVectors {
  int64_t vocab_size = 0, dim = 0;
  int32_t epochs = 0;
  std::vector<float> values;  // [vocab_size][dim]: row i is the vector of id i
  int64_t trained_tokens = 0;  // positions used as centre words, over all epochs (after subsampling)
  double seconds = 0;
};

// Vectors for ids [0, vocab_size) from the examples of `corpus` (each one text; context windows do not
// cross examples). Ids that never occur keep their small random start. UserError for an id out of
// range, an empty corpus, or a non-positive size.
WordVectors train_word_vectors(const EncodedSplit& corpus, int64_t vocab_size, const WordVectorOptions& options = {});

// The centre words one epoch trains on average: tokens not excluded, each weighted by the probability
// that subsampling keeps it. UserError as train_word_vectors.
double expected_centre_words_per_epoch(const EncodedSplit& corpus, int64_t vocab_size, const WordVectorOptions& options);

// Scales `v` in place so that its entries, over the rows that are not all zero, have root mean square
// `target_std` (word2vec's are ~0.1-0.5; an embedding starts at N(0, 1)). Not centred: skip-gram vectors
// share a common direction (45 % of their energy on the IMDB reviews), and removing it measured worse
// there (validation accuracy after 5 epochs 85.9 % and 87.8 % centred at spread 1.0 and 0.75, 88.8 %
// not centred; docs/performance.md).
void rescale_word_vectors(WordVectors& v, double target_std);

// The starting values of an embedding over `vocab_size` ids: vectors learnt from `corpus` (<pad>
// excluded: its row stays zero, as the embedding's padding_idx wants), their entries scaled to spread
// `target_std`; a corpus too small for options.epochs to see kMinEmbeddingStartPositions centre words
// (after subsampling) gets as many more epochs as it needs (WordVectors::epochs says how many ran).
// What `imdb-sentiment train` starts from, and what `imdb-tokens --word-vectors` writes for the
// PyTorch side.
WordVectors embedding_start(const EncodedSplit& corpus, int64_t vocab_size, WordVectorOptions options, double target_std);

// A WordVectors as a file: "RNNCVEC1", int64 rows, int64 dim, then rows x dim float32, little-endian.
void write_word_vectors(const std::string& path, const WordVectors& v);

}  // namespace rnnc::data
