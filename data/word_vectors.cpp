#include "data/word_vectors.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>

#include "data/random.h"
#include "data/vocab.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::data {
namespace {

// Noise words: ids drawn with probability proportional to count^0.75, by Walker's alias method (one
// uniform draw, one comparison; 8 bytes an id, so the tables stay in L2, where word2vec's 10^8-entry
// table missed the cache on every draw).
class NoiseDistribution {
 public:
  explicit NoiseDistribution(const std::vector<int64_t>& counts) : accept_(counts.size()), alias_(counts.size()) {
    const size_t n = counts.size();
    std::vector<double> scaled(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += scaled[i] = std::pow(static_cast<double>(counts[i]), 0.75);
    std::vector<size_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] *= static_cast<double>(n) / total;
      (scaled[i] < 1 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const size_t s = small.back(), l = large.back();
      small.pop_back();
      accept_[s] = static_cast<float>(scaled[s]);
      alias_[s] = static_cast<int32_t>(l);
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (size_t i : large) accept_[i] = 1, alias_[i] = static_cast<int32_t>(i);
    for (size_t i : small) accept_[i] = 1, alias_[i] = static_cast<int32_t>(i);  // rounding leftovers
  }
  int32_t draw(SplitMix64& rng) const {
    const uint64_t r = rng.next();
    const size_t column = static_cast<size_t>(((r >> 32) * accept_.size()) >> 32);
    const float u = static_cast<float>(r & 0xFFFFFF) * (1.0f / 16777216.0f);
    return u < accept_[column] ? static_cast<int32_t>(column) : alias_[column];
  }

 private:
  std::vector<float> accept_;
  std::vector<int32_t> alias_;
};

// A dot product in eight fixed lanes: vectorisable without reassociating (so without -ffast-math), and
// the same sum on every machine.
float dot(const float* __restrict a, const float* __restrict b, size_t n) {
  float lanes[8] = {};
  size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (size_t l = 0; l < 8; ++l) lanes[l] += a[d + l] * b[d + l];
  }
  float sum = 0;
  for (; d < n; ++d) sum += a[d] * b[d];
  for (float l : lanes) sum += l;
  return sum;
}

// y += g * x over n values (x and y never overlap: rows of different matrices, or a row and a scratch).
void add_scaled(float* __restrict y, float g, const float* __restrict x, size_t n) {
  for (size_t d = 0; d < n; ++d) y[d] += g * x[d];
}

float uniform01(SplitMix64& rng) { return static_cast<float>(rng.next() >> 40) * (1.0f / 16777216.0f); }

struct CorpusCounts {
  std::vector<char> excluded;   // per id
  std::vector<int64_t> counts;  // per id, excluded ids 0
  int64_t total_words = 0;      // tokens not excluded
};

CorpusCounts count_corpus(const EncodedSplit& corpus, int64_t vocab_size, const WordVectorOptions& o) {
  RNNC_USER_CHECK(vocab_size > 0 && o.dim > 0 && o.window > 0 && o.negatives >= 0 && o.epochs > 0)
      << "word vectors: vocabulary, dim, window and epochs must be positive (got " << vocab_size << ", " << o.dim << ", "
      << o.window << ", " << o.epochs << ")";
  RNNC_USER_CHECK(!corpus.tokens.empty()) << "word vectors: the corpus has no tokens";
  CorpusCounts c;
  c.excluded.assign(static_cast<size_t>(vocab_size), 0);
  for (int32_t id : o.excluded) {
    if (id >= 0 && id < vocab_size) c.excluded[static_cast<size_t>(id)] = 1;
  }
  c.counts.assign(static_cast<size_t>(vocab_size), 0);
  for (int32_t id : corpus.tokens) {
    RNNC_USER_CHECK(id >= 0 && id < vocab_size) << "word vectors: token id " << id << " is outside the vocabulary [0, "
                                                << vocab_size << ")";
    if (c.excluded[static_cast<size_t>(id)]) continue;
    ++c.counts[static_cast<size_t>(id)];
    ++c.total_words;
  }
  RNNC_USER_CHECK(c.total_words > 0) << "word vectors: every token of the corpus is excluded";
  return c;
}

// word2vec's subsampling: an occurrence of a word of frequency f is kept with probability
// (sqrt(f / s) + 1) * s / f, s = subsample, at most 1 (words up to ~2.6 s are always kept).
std::vector<float> keep_probabilities(const CorpusCounts& c, double subsample) {
  std::vector<float> keep(c.counts.size(), 1.0f);
  if (subsample <= 0) return keep;
  const double threshold = subsample * static_cast<double>(c.total_words);
  for (size_t id = 0; id < keep.size(); ++id) {
    if (c.counts[id] == 0) continue;
    const double n = static_cast<double>(c.counts[id]);
    keep[id] = static_cast<float>(std::min(1.0, (std::sqrt(n / threshold) + 1) * threshold / n));
  }
  return keep;
}

}  // namespace

double expected_centre_words_per_epoch(const EncodedSplit& corpus, int64_t vocab_size, const WordVectorOptions& options) {
  const CorpusCounts c = count_corpus(corpus, vocab_size, options);
  const std::vector<float> keep = keep_probabilities(c, options.subsample);
  double expected = 0;
  for (size_t id = 0; id < keep.size(); ++id) expected += static_cast<double>(c.counts[id]) * keep[id];
  return expected;
}

WordVectors train_word_vectors(const EncodedSplit& corpus, int64_t vocab_size, const WordVectorOptions& o) {
  const auto start_time = std::chrono::steady_clock::now();
  const size_t dim = static_cast<size_t>(o.dim);

  const CorpusCounts counted = count_corpus(corpus, vocab_size, o);
  const std::vector<char>& excluded = counted.excluded;
  const std::vector<float> keep = keep_probabilities(counted, o.subsample);
  const NoiseDistribution noise(counted.counts);

  WordVectors out;
  out.vocab_size = vocab_size;
  out.dim = o.dim;
  out.values.assign(static_cast<size_t>(vocab_size) * dim, 0.0f);
  std::vector<float> context_weights(out.values.size(), 0.0f);  // word2vec's syn1neg: the output side
  SplitMix64 rng(mix_seed(o.seed, 0x77327663));
  for (size_t id = 0; id < static_cast<size_t>(vocab_size); ++id) {
    if (excluded[id]) continue;
    for (size_t d = 0; d < dim; ++d) out.values[id * dim + d] = (uniform01(rng) - 0.5f) / static_cast<float>(dim);
  }

  std::vector<int32_t> kept;  // one example after subsampling
  std::vector<float> gradient(dim);
  std::vector<int32_t> targets(static_cast<size_t>(o.negatives) + 1);  // the centre word, then noise words
  const double total_steps = static_cast<double>(o.epochs) * static_cast<double>(counted.total_words);
  int64_t seen = 0;
  for (int32_t epoch = 0; epoch < o.epochs; ++epoch) {
    for (size_t e = 0; e < corpus.size(); ++e) {
      kept.clear();
      for (int32_t id : corpus.example(e)) {
        if (excluded[static_cast<size_t>(id)]) continue;
        ++seen;
        if (keep[static_cast<size_t>(id)] < 1.0f && uniform01(rng) > keep[static_cast<size_t>(id)]) continue;
        kept.push_back(id);
      }
      const float lr = static_cast<float>(
          o.learning_rate * std::max(1e-4, 1.0 - static_cast<double>(seen) / (total_steps + 1)));
      const int64_t n = static_cast<int64_t>(kept.size());
      out.trained_tokens += n;
      for (int64_t pos = 0; pos < n; ++pos) {
        const int32_t word = kept[static_cast<size_t>(pos)];
        const int64_t reach = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.window)));
        for (int64_t ctx = std::max<int64_t>(0, pos - reach); ctx <= std::min(n - 1, pos + reach); ++ctx) {
          if (ctx == pos) continue;
          // As word2vec: the context word's vector predicts the centre word (label 1) against noise
          // words (label 0). The noise words are drawn first so that their rows of the 10 MB output
          // matrix can be fetched from memory together rather than one miss at a time.
          targets[0] = word;
          for (size_t k = 1; k < targets.size(); ++k) {
            targets[k] = noise.draw(rng);
            const char* row = reinterpret_cast<const char*>(&context_weights[static_cast<size_t>(targets[k]) * dim]);
            for (size_t byte = 0; byte < dim * sizeof(float); byte += 64) __builtin_prefetch(row + byte, 1);
          }
          float* in = &out.values[static_cast<size_t>(kept[static_cast<size_t>(ctx)]) * dim];
          std::fill(gradient.begin(), gradient.end(), 0.0f);
          for (size_t k = 0; k < targets.size(); ++k) {
            if (k > 0 && targets[k] == word) continue;
            const float label = k == 0 ? 1.0f : 0.0f;
            float* w = &context_weights[static_cast<size_t>(targets[k]) * dim];
            const float score = dot(in, w, dim);
            // Past |6| the logistic is 0 or 1 to word2vec's table precision.
            const float p = score > 6 ? 1.0f : score < -6 ? 0.0f : 1.0f / (1.0f + std::exp(-score));
            const float g = (label - p) * lr;
            add_scaled(gradient.data(), g, w, dim);
            add_scaled(w, g, in, dim);
          }
          add_scaled(in, 1.0f, gradient.data(), dim);
        }
      }
    }
  }
  out.epochs = o.epochs;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return out;
}

void rescale_word_vectors(WordVectors& v, double target_std) {
  const size_t dim = static_cast<size_t>(v.dim);
  double sum_sq = 0;
  int64_t n = 0;
  for (size_t row = 0; row * dim < v.values.size(); ++row) {
    const float* r = &v.values[row * dim];
    if (std::all_of(r, r + dim, [](float x) { return x == 0.0f; })) continue;
    for (size_t d = 0; d < dim; ++d) sum_sq += static_cast<double>(r[d]) * r[d];
    n += static_cast<int64_t>(dim);
  }
  if (n == 0 || sum_sq == 0) return;
  const float scale = static_cast<float>(target_std / std::sqrt(sum_sq / static_cast<double>(n)));
  for (float& x : v.values) x *= scale;
}

WordVectors embedding_start(const EncodedSplit& corpus, int64_t vocab_size, WordVectorOptions options, double target_std) {
  options.excluded.push_back(Vocab::kPad);
  // A small corpus gets more epochs: undertrained vectors all lean along one shared direction, and once
  // scaled, every word looks alike to the model (the job test's synthetic corpus of ~14k tokens after 5
  // epochs: the task it carries was not learnt; after 20, it was). At most 2^20 epochs (one token).
  const double per_epoch = std::max(1.0, expected_centre_words_per_epoch(corpus, vocab_size, options));
  const double needed = std::ceil(static_cast<double>(kMinEmbeddingStartPositions) / per_epoch);
  options.epochs = static_cast<int32_t>(std::max<double>(options.epochs, needed));
  WordVectors v = train_word_vectors(corpus, vocab_size, options);
  rescale_word_vectors(v, target_std);
  return v;
}

void write_word_vectors(const std::string& path, const WordVectors& v) {
  static_assert(std::endian::native == std::endian::little, "the file format is little-endian");
  const int64_t header[2] = {v.vocab_size, v.dim};
  std::string bytes = "RNNCVEC1";
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(reinterpret_cast<const char*>(v.values.data()), v.values.size() * sizeof(float));
  write_file_atomically(path, bytes);
}

}  // namespace rnnc::data
