#include "data/batch.h"

#include <algorithm>
#include <numeric>

#include "data/random.h"
#include "ir/error.h"

namespace rnnc::data {

void EncodedSplit::add(std::span<const int32_t> ids, int32_t label) {
  tokens.insert(tokens.end(), ids.begin(), ids.end());
  offsets.push_back(static_cast<int64_t>(tokens.size()));
  labels.push_back(label);
}

EncodedSplit EncodedSplit::head(int64_t n) const {
  if (n <= 0 || static_cast<size_t>(n) >= size()) return *this;
  EncodedSplit out;
  out.offsets.assign(offsets.begin(), offsets.begin() + n + 1);
  out.tokens.assign(tokens.begin(), tokens.begin() + offsets[static_cast<size_t>(n)]);
  out.labels.assign(labels.begin(), labels.begin() + n);
  return out;
}

EncodedSplit encode_reviews(const std::vector<Review>& reviews, const Vocab& vocab, int32_t max_len, Truncate keep) {
  EncodedSplit out;
  out.labels.reserve(reviews.size());
  out.offsets.reserve(reviews.size() + 1);
  out.tokens.reserve(reviews.size() * static_cast<size_t>(max_len > 0 ? max_len : 256));
  for (const Review& r : reviews) {
    std::vector<int32_t> ids = vocab.encode(r.text, max_len, keep);
    RNNC_USER_CHECK(!ids.empty()) << r.path << ": review has no tokens";
    out.add(ids, r.label);
  }
  return out;
}

EncodedSplit truncate_examples(const EncodedSplit& split, int32_t max_len, Truncate keep) {
  if (max_len <= 0) return split;
  EncodedSplit out;
  for (size_t i = 0; i < split.size(); ++i) {
    std::span<const int32_t> ids = split.example(i);
    if (ids.size() > static_cast<size_t>(max_len)) {
      ids = keep == Truncate::Head ? ids.first(static_cast<size_t>(max_len)) : ids.last(static_cast<size_t>(max_len));
    }
    out.add(ids, split.labels[i]);
  }
  return out;
}

std::vector<std::vector<int64_t>> batch_plan(size_t examples, const BatchOptions& options, int64_t epoch) {
  RNNC_USER_CHECK(options.batch_size > 0) << "batch size must be positive, not " << options.batch_size;
  std::vector<int64_t> order(examples);
  std::iota(order.begin(), order.end(), 0);
  if (options.shuffle) seeded_shuffle(order, mix_seed(options.seed, static_cast<uint64_t>(epoch)));
  std::vector<std::vector<int64_t>> plan;
  size_t b = static_cast<size_t>(options.batch_size);
  for (size_t start = 0; start < examples; start += b) {
    size_t end = std::min(examples, start + b);
    if (options.drop_last && end - start < b) break;
    plan.emplace_back(order.begin() + static_cast<ptrdiff_t>(start), order.begin() + static_cast<ptrdiff_t>(end));
  }
  return plan;
}

Batch make_batch(const EncodedSplit& split, std::span<const int64_t> indices, int32_t pad_id) {
  Batch batch;
  batch.batch_size = static_cast<int32_t>(indices.size());
  for (int64_t i : indices) {
    RNNC_USER_CHECK(i >= 0 && static_cast<size_t>(i) < split.size())
        << "batch: example index " << i << " out of range [0, " << split.size() << ")";
    batch.max_length = std::max(batch.max_length, split.length(static_cast<size_t>(i)));
  }
  size_t B = indices.size();
  batch.tokens.assign(static_cast<size_t>(batch.max_length) * B, pad_id);
  batch.lengths.reserve(B);
  batch.labels.reserve(B);
  batch.indices.assign(indices.begin(), indices.end());
  for (size_t b = 0; b < B; ++b) {
    std::span<const int32_t> ids = split.example(static_cast<size_t>(indices[b]));
    for (size_t t = 0; t < ids.size(); ++t) batch.tokens[t * B + b] = ids[t];
    batch.lengths.push_back(static_cast<int32_t>(ids.size()));
    batch.labels.push_back(split.labels[static_cast<size_t>(indices[b])]);
  }
  return batch;
}

std::vector<Batch> make_batches(const EncodedSplit& split, const BatchOptions& options, int64_t epoch) {
  std::vector<Batch> batches;
  for (const std::vector<int64_t>& indices : batch_plan(split.size(), options, epoch))
    batches.push_back(make_batch(split, indices));
  return batches;
}

}  // namespace rnnc::data
