// The vocabulary: special tokens at fixed ids, then the most frequent tokens.
//
//   id 0 <unk>   id 1 <pad> (the embedding's padding_idx)   id 2 <bos>   id 3.. tokens
//
// Tokens are ordered by descending count, ties by ascending byte order of the UTF-8 token (which is
// code-point order, so Python's sorted(counter.items(), key=lambda x: (-x[1], x[0])) agrees, as does
// torchtext's build_vocab_from_iterator). Special strings met in the text count as themselves and are
// not added twice.
//
// Text format (save/load): a header line, then one token per line, token id = line number - 2:
//   rnnc-vocab 1 <size>
//   <unk>
//   <pad>
//   ...
// Tokens never contain whitespace (the tokenizer splits on it), so lines are unambiguous. A file with a
// wrong header, a line count that disagrees with the header, an empty or duplicate token, whitespace in
// a token or misplaced specials is a UserError naming the file and the line.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace rnnc::data {

struct Review;

// Strings -> dense indices 0, 1, 2, ... in insertion order: a flat open-addressing table (the
// std::unordered_map it replaced spent most of the vocabulary's time in cache misses).
class TokenIndex {
 public:
  int32_t find(std::string_view token) const;  // -1 when absent
  int32_t insert(std::string_view token);      // the existing index, or a new one
  const std::string& token(int32_t index) const { return tokens_[static_cast<size_t>(index)]; }
  const std::vector<std::string>& tokens() const { return tokens_; }
  size_t size() const { return tokens_.size(); }
  void reserve(size_t n);

 private:
  void grow();
  std::vector<std::string> tokens_;
  std::vector<uint64_t> slots_;  // (hash high 32 bits << 32) | (index + 1); 0 = empty
};

// Token -> number of occurrences.
class TokenCounts {
 public:
  TokenCounts() = default;
  TokenCounts(std::initializer_list<std::pair<std::string_view, int64_t>> counts);
  void add(std::string_view token, int64_t n = 1);
  int64_t count(std::string_view token) const;
  size_t size() const { return index_.size(); }
  const std::string& token(size_t i) const { return index_.token(static_cast<int32_t>(i)); }
  int64_t count_at(size_t i) const { return counts_[i]; }

 private:
  TokenIndex index_;
  std::vector<int64_t> counts_;
};

// Adds the basic_english tokens of `text` to `counts`.
void count_tokens(std::string_view text, TokenCounts& counts);
TokenCounts count_tokens(const std::vector<Review>& reviews);

// Which end of a text longer than max_len tokens is kept.
enum class Truncate { Head, Tail };

class Vocab {
 public:
  static constexpr int32_t kUnk = 0, kPad = 1, kBos = 2;
  static constexpr std::array<std::string_view, 3> kSpecials = {"<unk>", "<pad>", "<bos>"};
  static constexpr int64_t kDefaultMaxTokens = 25000;

  Vocab();  // the specials only

  // The `max_tokens` most frequent tokens with at least `min_freq` occurrences, after the specials:
  // size() <= max_tokens + 3.
  static Vocab from_counts(const TokenCounts& counts, int64_t max_tokens = kDefaultMaxTokens, int64_t min_freq = 1);
  static Vocab build(const std::vector<Review>& reviews, int64_t max_tokens = kDefaultMaxTokens, int64_t min_freq = 1);
  // From a token list whose first entries are the specials (as stored).
  static Vocab from_tokens(std::vector<std::string> tokens, const std::string& name = "<tokens>");

  int32_t size() const { return static_cast<int32_t>(index_.size()); }
  int32_t id(std::string_view token) const;  // kUnk when absent
  bool contains(std::string_view token) const { return index_.find(token) >= 0; }
  const std::string& token(int32_t id) const;  // UserError when out of range
  const std::vector<std::string>& tokens() const { return index_.tokens(); }

  // The ids of the first `max_len` tokens of `text` (max_len <= 0: all of them); Truncate::Tail keeps
  // the last `max_len` instead (a review's verdict is often at its end).
  std::vector<int32_t> encode(std::string_view text, int32_t max_len = 200, Truncate keep = Truncate::Head) const;

  std::string serialize() const;
  static Vocab parse(std::string_view text, const std::string& name = "<memory>");
  void save(const std::string& path) const;
  static Vocab load(const std::string& path);

  bool operator==(const Vocab& other) const { return tokens() == other.tokens(); }

 private:
  TokenIndex index_;  // token i has id i
};

}  // namespace rnnc::data
