// Numericalised splits and padded, time-major batches.
//
// A batch is what the model's inputs take: tokens i32[time][batch] (T = the longest length in the
// batch, shorter sequences padded with <pad> = 1), lengths i32[batch], labels i32[batch]. Batches of an
// epoch come from a seeded permutation of the split (seed and epoch mixed), so a (seed, epoch) pair gives
// the same batches on every machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/imdb.h"
#include "data/vocab.h"

namespace rnnc::data {

// Examples as one flat id array: example i is tokens[offsets[i] .. offsets[i + 1]).
struct EncodedSplit {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> labels;

  size_t size() const { return labels.size(); }
  int32_t length(size_t i) const { return static_cast<int32_t>(offsets[i + 1] - offsets[i]); }
  std::span<const int32_t> example(size_t i) const {
    return {tokens.data() + offsets[i], static_cast<size_t>(length(i))};
  }
  void add(std::span<const int32_t> ids, int32_t label);
  // The first `n` examples (all when n <= 0 or n >= size()).
  EncodedSplit head(int64_t n) const;
};

// Each review's first `max_len` token ids, or with `keep` Tail its last (max_len <= 0: no truncation).
// Every review yields at least one token (the reader drops empty ones); one that does not anyway is a
// UserError naming it.
EncodedSplit encode_reviews(const std::vector<Review>& reviews, const Vocab& vocab, int32_t max_len = 200,
                            Truncate keep = Truncate::Head);

// Each example of `split` cut to its first (Head) or last (Tail) `max_len` ids, as encode_reviews would
// have cut it (max_len <= 0: unchanged).
EncodedSplit truncate_examples(const EncodedSplit& split, int32_t max_len, Truncate keep);

struct Batch {
  int32_t max_length = 0;        // T
  int32_t batch_size = 0;        // B
  std::vector<int32_t> tokens;   // [T][B], time-major: token t of example b at tokens[t * B + b]
  std::vector<int32_t> lengths;  // [B], 1 <= lengths[b] <= T
  std::vector<int32_t> labels;   // [B]
  std::vector<int64_t> indices;  // [B], the examples' indices in the split

  int32_t at(int32_t t, int32_t b) const { return tokens[static_cast<size_t>(t) * batch_size + b]; }
};

struct BatchOptions {
  int32_t batch_size = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;  // drop a last batch smaller than batch_size
};

// The example indices of each batch of one epoch: the split in a seeded order (mix_seed(seed, epoch)),
// or in order when !shuffle, cut into batch_size pieces.
std::vector<std::vector<int64_t>> batch_plan(size_t examples, const BatchOptions& options, int64_t epoch);

// One padded batch of the given examples, in the given order.
Batch make_batch(const EncodedSplit& split, std::span<const int64_t> indices, int32_t pad_id = Vocab::kPad);

// All batches of one epoch (batch_plan + make_batch).
std::vector<Batch> make_batches(const EncodedSplit& split, const BatchOptions& options, int64_t epoch);

}  // namespace rnnc::data
