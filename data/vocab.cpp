#include "data/vocab.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "data/imdb.h"
#include "data/text.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::data {

namespace {
constexpr std::string_view kHeaderMagic = "rnnc-vocab";
constexpr int kFormatVersion = 1;

bool has_ascii_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
}
}  // namespace

namespace {
// FNV-1a, 64 bits: tokens are short, so a byte loop is as fast as anything wider.
uint64_t hash_token(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h ^ (h >> 29);
}
}  // namespace

int32_t TokenIndex::find(std::string_view token) const {
  if (slots_.empty()) return -1;
  uint64_t h = hash_token(token);
  uint64_t tag = h >> 32, mask = slots_.size() - 1;
  for (uint64_t i = h & mask;; i = (i + 1) & mask) {
    uint64_t slot = slots_[i];
    if (slot == 0) return -1;
    if ((slot >> 32) == tag) {
      int32_t index = static_cast<int32_t>((slot & 0xFFFFFFFFu) - 1);
      if (tokens_[static_cast<size_t>(index)] == token) return index;
    }
  }
}

int32_t TokenIndex::insert(std::string_view token) {
  if ((tokens_.size() + 1) * 2 > slots_.size()) grow();
  uint64_t h = hash_token(token);
  uint64_t tag = h >> 32, mask = slots_.size() - 1;
  for (uint64_t i = h & mask;; i = (i + 1) & mask) {
    uint64_t slot = slots_[i];
    if (slot == 0) {
      int32_t index = static_cast<int32_t>(tokens_.size());
      tokens_.emplace_back(token);
      slots_[i] = (tag << 32) | static_cast<uint64_t>(index + 1);
      return index;
    }
    if ((slot >> 32) == tag) {
      int32_t index = static_cast<int32_t>((slot & 0xFFFFFFFFu) - 1);
      if (tokens_[static_cast<size_t>(index)] == token) return index;
    }
  }
}

void TokenIndex::reserve(size_t n) {
  tokens_.reserve(n);
  while (slots_.size() < 2 * n) grow();
}

void TokenIndex::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(std::max<size_t>(64, old.size() * 2), 0);
  uint64_t mask = slots_.size() - 1;
  for (size_t index = 0; index < tokens_.size(); ++index) {
    uint64_t h = hash_token(tokens_[index]);
    uint64_t i = h & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = ((h >> 32) << 32) | static_cast<uint64_t>(index + 1);
  }
}

TokenCounts::TokenCounts(std::initializer_list<std::pair<std::string_view, int64_t>> counts) {
  for (const auto& [token, n] : counts) add(token, n);
}

void TokenCounts::add(std::string_view token, int64_t n) {
  size_t i = static_cast<size_t>(index_.insert(token));
  if (i == counts_.size()) counts_.push_back(0);
  counts_[i] += n;
}

int64_t TokenCounts::count(std::string_view token) const {
  int32_t i = index_.find(token);
  return i < 0 ? 0 : counts_[static_cast<size_t>(i)];
}

void count_tokens(std::string_view text, TokenCounts& counts) {
  for_each_basic_english_token(text, [&](std::string_view token) { counts.add(token); });
}

TokenCounts count_tokens(const std::vector<Review>& reviews) {
  TokenCounts counts;
  for (const Review& r : reviews) count_tokens(r.text, counts);
  return counts;
}

Vocab::Vocab() {
  for (std::string_view s : kSpecials) index_.insert(s);
}

Vocab Vocab::from_counts(const TokenCounts& counts, int64_t max_tokens, int64_t min_freq) {
  RNNC_USER_CHECK(max_tokens >= 0) << "vocabulary: max_tokens must be >= 0, not " << max_tokens;
  std::vector<std::pair<std::string_view, int64_t>> entries;
  entries.reserve(counts.size());
  Vocab v;
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts.count_at(i) >= min_freq && !v.contains(counts.token(i))) entries.emplace_back(counts.token(i), counts.count_at(i));
  auto order = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  size_t keep = std::min<size_t>(entries.size(), static_cast<size_t>(max_tokens));
  std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(keep), entries.end(), order);
  v.index_.reserve(keep + kSpecials.size());
  for (size_t i = 0; i < keep; ++i) v.index_.insert(entries[i].first);
  return v;
}

Vocab Vocab::build(const std::vector<Review>& reviews, int64_t max_tokens, int64_t min_freq) {
  return from_counts(count_tokens(reviews), max_tokens, min_freq);
}

Vocab Vocab::from_tokens(std::vector<std::string> tokens, const std::string& name) {
  RNNC_USER_CHECK(tokens.size() >= kSpecials.size())
      << name << ": a vocabulary needs at least the " << kSpecials.size() << " special tokens";
  for (size_t i = 0; i < kSpecials.size(); ++i)
    RNNC_USER_CHECK(tokens[i] == kSpecials[i]) << name << ": token " << i << " must be " << kSpecials[i] << ", not '"
                                               << tokens[i] << "'";
  Vocab v;
  v.index_ = TokenIndex();
  v.index_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    RNNC_USER_CHECK(!tokens[i].empty() && !has_ascii_space(tokens[i]))
        << name << ": token " << i << " is empty or contains whitespace";
    bool fresh = v.index_.insert(tokens[i]) == static_cast<int32_t>(i);
    RNNC_USER_CHECK(fresh) << name << ": token " << i << " '" << tokens[i] << "' appears twice";
  }
  return v;
}

int32_t Vocab::id(std::string_view token) const {
  int32_t i = index_.find(token);
  return i < 0 ? kUnk : i;
}

const std::string& Vocab::token(int32_t id) const {
  RNNC_USER_CHECK(id >= 0 && id < size()) << "vocabulary: id " << id << " out of range [0, " << size() << ")";
  return index_.token(id);
}

std::vector<int32_t> Vocab::encode(std::string_view text, int32_t max_len, Truncate keep) const {
  std::vector<int32_t> ids;
  for_each_basic_english_token(text, [&](std::string_view token) {
    if (keep == Truncate::Tail || max_len <= 0 || static_cast<int32_t>(ids.size()) < max_len) ids.push_back(id(token));
  });
  if (keep == Truncate::Tail && max_len > 0 && static_cast<int32_t>(ids.size()) > max_len) {
    ids.erase(ids.begin(), ids.end() - max_len);
  }
  return ids;
}

std::string Vocab::serialize() const {
  std::string out = std::string(kHeaderMagic) + " " + std::to_string(kFormatVersion) + " " + std::to_string(size()) + "\n";
  for (const std::string& t : tokens()) out += t + "\n";
  return out;
}

Vocab Vocab::parse(std::string_view text, const std::string& name) {
  auto at = [&](size_t line) { return name + ":" + std::to_string(line) + ": "; };
  RNNC_USER_CHECK(!text.empty()) << at(1) << "empty file (expected an rnnc vocabulary)";
  size_t pos = 0, line = 0;
  auto next_line = [&](std::string_view& out) {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    ++line;
    RNNC_USER_CHECK(nl != std::string_view::npos) << at(line) << "last line has no newline (truncated file?)";
    out = text.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view header;
  next_line(header);
  std::string expected_start = std::string(kHeaderMagic) + " ";
  RNNC_USER_CHECK(header.substr(0, expected_start.size()) == expected_start)
      << at(1) << "not an rnnc vocabulary (the first line must be '" << kHeaderMagic << " " << kFormatVersion
      << " <size>')";
  int version = 0;
  long long size = -1;
  char extra = 0;
  std::string header_string(header);
  int fields = std::sscanf(header_string.c_str() + expected_start.size(), "%d %lld %c", &version, &size, &extra);
  RNNC_USER_CHECK(fields == 2 && size >= 0) << at(1) << "malformed header '" << header << "'";
  RNNC_USER_CHECK(version == kFormatVersion) << at(1) << "vocabulary format version " << version
                                             << " is not supported (this build reads version " << kFormatVersion << ")";
  RNNC_USER_CHECK(size >= static_cast<long long>(kSpecials.size()) && size <= (1ll << 31) - 1)
      << at(1) << "implausible vocabulary size " << size;
  Vocab v;
  v.index_ = TokenIndex();
  v.index_.reserve(static_cast<size_t>(std::min<long long>(size, 1 << 20)));
  std::string_view token;
  while (next_line(token)) {
    size_t id = v.index_.size();
    RNNC_USER_CHECK(static_cast<long long>(id) < size) << at(line) << "more tokens than the " << size << " the header announces";
    RNNC_USER_CHECK(!token.empty()) << at(line) << "empty token";
    RNNC_USER_CHECK(!has_ascii_space(token)) << at(line) << "token contains whitespace";
    if (id < kSpecials.size()) {
      RNNC_USER_CHECK(token == kSpecials[id]) << at(line) << "expected the special token " << kSpecials[id]
                                              << " (id " << id << "), found '" << token << "'";
    }
    bool fresh = v.index_.insert(token) == static_cast<int32_t>(id);
    RNNC_USER_CHECK(fresh) << at(line) << "token '" << token << "' appears twice";
  }
  RNNC_USER_CHECK(static_cast<long long>(v.index_.size()) == size)
      << at(line + 1) << "truncated: the header announces " << size << " tokens, the file has " << v.index_.size();
  return v;
}

void Vocab::save(const std::string& path) const { write_file_atomically(path, serialize()); }

Vocab Vocab::load(const std::string& path) { return parse(read_file_or_say_why(path, "vocabulary"), path); }

}  // namespace rnnc::data
