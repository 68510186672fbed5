// The IMDB sentiment data set (Maas et al. 2011) in its official aclImdb layout:
//   aclImdb/train/{pos,neg}/<id>_<rating>.txt   and, optionally, aclImdb/test/{pos,neg}/...
// read from the directory (or its parent) or straight from the .tar.gz / .tar, without extracting.
//
// Policy for odd files (documented in docs/architecture.md, "Data"):
//   - a review with no basic_english token (an empty or whitespace-only file) is skipped, counted and
//     named in `warnings`;
//   - bytes that are not valid UTF-8 are replaced by U+FFFD (Python's errors="replace" rule); the review
//     is kept, counted and named in `warnings`;
//   - names starting with '.' (editor and macOS "._" files) and files not ending in .txt are ignored;
//   - a missing train/pos or train/neg folder, an unreadable file, a split with no reviews, a corrupt or
//     truncated archive: rnnc::UserError naming the file.
// Reviews are sorted by their path inside the split ("neg/0_3.txt" < "pos/0_9.txt"), so a directory and
// its archive give the same, platform-independent order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rnnc::data {

constexpr int32_t kLabelNeg = 0;
constexpr int32_t kLabelPos = 1;

struct Review {
  std::string text;  // valid UTF-8
  int32_t label = 0;   // kLabelPos or kLabelNeg
  std::string path;  // inside the data set: "train/pos/0_9.txt"
};

struct ImdbDataset {
  std::string origin;                 // the directory or archive read
  std::vector<Review> train;
  std::vector<Review> test;           // empty when the data has no test split
  int64_t skipped_empty = 0;          // reviews dropped: no tokens
  int64_t repaired_utf8 = 0;          // reviews kept with invalid UTF-8 replaced
  std::vector<std::string> warnings;  // one line per skipped or repaired file, naming it

  bool has_test() const { return !test.empty(); }
};

// A directory (aclImdb itself, or a folder holding aclImdb/) or an archive (.tar.gz or .tar, recognised
// by its first bytes, not by its name).
ImdbDataset read_imdb(const std::string& path);
ImdbDataset read_imdb_dir(const std::string& dir);
ImdbDataset read_imdb_archive(const std::string& file);
// Entry points on memory buffers (for tests and fuzzing); `name` is used in messages.
ImdbDataset read_imdb_tar_gz_from_memory(std::string_view bytes, const std::string& name = "<memory>");
ImdbDataset read_imdb_tar_from_memory(std::string_view bytes, const std::string& name = "<memory>");

// Where a path inside an archive or data directory belongs: "<anything>/train/pos/<file>.txt" gives
// split "train", label kLabelPos. Returns false for everything else (README, imdb.vocab, train/unsup,
// hidden files).
bool classify_imdb_path(std::string_view path, std::string& split, int32_t& label, std::string& relative);

// A seeded, reproducible split of `reviews` into (train, validation): `validation_size` reviews drawn
// by a seeded permutation become the validation set; both keep the input order otherwise. Disjoint by
// construction. UserError when validation_size >= reviews.size().
struct TrainValidation {
  std::vector<Review> train, validation;
};
TrainValidation split_train_validation(std::vector<Review> reviews, int64_t validation_size, uint64_t seed);

}  // namespace rnnc::data
