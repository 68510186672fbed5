#include "data/token_file.h"

#include <bit>
#include <cstring>

#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::data {

static_assert(std::endian::native == std::endian::little, "token files are written in the host's byte order");

namespace {
constexpr std::string_view kMagic = "RNNCTOK1";

// 24 + 4 * (2n + total) for a message, without overflowing on a corrupt header's counts.
std::string needed_bytes(int64_t n, int64_t total) {
  int64_t v;
  if (__builtin_mul_overflow(n, 2, &v) || __builtin_add_overflow(v, total, &v) || __builtin_mul_overflow(v, 4, &v) ||
      __builtin_add_overflow(v, 24, &v)) {
    return "more than 2^63";
  }
  return std::to_string(v);
}

template <typename T>
void append(std::string& out, const T* values, size_t n) {
  out.append(reinterpret_cast<const char*>(values), n * sizeof(T));
}
}  // namespace

std::string serialize_token_file(const EncodedSplit& split) {
  std::string out(kMagic);
  int64_t n = static_cast<int64_t>(split.size()), total = static_cast<int64_t>(split.tokens.size());
  append(out, &n, 1);
  append(out, &total, 1);
  append(out, split.labels.data(), split.labels.size());
  std::vector<int32_t> lengths(split.size());
  for (size_t i = 0; i < split.size(); ++i) lengths[i] = split.length(i);
  append(out, lengths.data(), lengths.size());
  append(out, split.tokens.data(), split.tokens.size());
  return out;
}

EncodedSplit parse_token_file(std::string_view bytes, const std::string& name) {
  RNNC_USER_CHECK(bytes.size() >= 24 && bytes.substr(0, 8) == kMagic)
      << name << ": not an rnnc token file (expected the magic " << kMagic << ")";
  int64_t n, total;
  std::memcpy(&n, bytes.data() + 8, 8);
  std::memcpy(&total, bytes.data() + 16, 8);
  uint64_t body = bytes.size() - 24;
  RNNC_USER_CHECK(n >= 0 && total >= 0 && static_cast<uint64_t>(n) <= body / 8 &&
                  static_cast<uint64_t>(total) <= body / 4 && body == 4 * (2 * static_cast<uint64_t>(n) + static_cast<uint64_t>(total)))
      << name << ": truncated or corrupt token file (" << n << " examples and " << total << " tokens need "
      << needed_bytes(n, total) << " bytes, the file has " << bytes.size() << ")";
  EncodedSplit split;
  auto read_i32 = [&](size_t index) {
    int32_t v;
    std::memcpy(&v, bytes.data() + 24 + 4 * index, 4);
    return v;
  };
  split.labels.resize(static_cast<size_t>(n));
  split.tokens.resize(static_cast<size_t>(total));
  split.offsets.resize(static_cast<size_t>(n) + 1);
  for (int64_t i = 0; i < n; ++i) {
    split.labels[static_cast<size_t>(i)] = read_i32(static_cast<size_t>(i));
    int32_t length = read_i32(static_cast<size_t>(n + i));
    RNNC_USER_CHECK(length >= 0) << name << ": example " << i << " has a negative length";
    split.offsets[static_cast<size_t>(i) + 1] = split.offsets[static_cast<size_t>(i)] + length;
  }
  RNNC_USER_CHECK(split.offsets.back() == total)
      << name << ": corrupt token file (the lengths add up to " << split.offsets.back() << ", not " << total << ")";
  if (total) std::memcpy(split.tokens.data(), bytes.data() + 24 + 8 * n, 4 * static_cast<size_t>(total));
  return split;
}

void write_token_file(const std::string& path, const EncodedSplit& split) {
  write_file_atomically(path, serialize_token_file(split));
}

EncodedSplit read_token_file(const std::string& path) { return parse_token_file(read_file_or_say_why(path, "token file"), path); }

}  // namespace rnnc::data
