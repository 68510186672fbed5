#include "data/imdb.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "data/archive.h"
#include "data/random.h"
#include "data/text.h"
#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::data {

namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Collects reviews as they are found, then sorts and checks them.
class Collector {
 public:
  explicit Collector(std::string origin) { ds_.origin = std::move(origin); }

  // `where` names the file in messages.
  void add(const std::string& split, int32_t label, std::string relative, std::string text, const std::string& where) {
    if (int64_t replaced = repair_utf8(text)) {
      ++ds_.repaired_utf8;
      ds_.warnings.push_back(where + ": " + counted(replaced, "invalid UTF-8 sequence") + " replaced by U+FFFD");
    }
    if (!has_basic_english_token(text)) {
      ++ds_.skipped_empty;
      ds_.warnings.push_back(where + ": empty review (no tokens), skipped");
      return;
    }
    auto& reviews = split == "train" ? ds_.train : ds_.test;
    reviews.push_back(Review{std::move(text), label, std::move(relative)});
  }

  ImdbDataset finish(const std::string& layout_hint) {
    auto by_path = [](const Review& a, const Review& b) { return a.path < b.path; };
    for (auto* reviews : {&ds_.train, &ds_.test}) {
      std::sort(reviews->begin(), reviews->end(), by_path);
      auto dup = std::adjacent_find(reviews->begin(), reviews->end(),
                                    [](const Review& a, const Review& b) { return a.path == b.path; });
      RNNC_USER_CHECK(dup == reviews->end()) << ds_.origin << ": " << dup->path << " appears twice";
    }
    auto count = [](const std::vector<Review>& reviews, int32_t label) {
      return std::count_if(reviews.begin(), reviews.end(), [&](const Review& r) { return r.label == label; });
    };
    for (const char* split : {"train", "test"}) {
      const auto& reviews = std::string(split) == "train" ? ds_.train : ds_.test;
      if (reviews.empty() && std::string(split) == "test") continue;
      for (auto [label, name] : {std::pair{kLabelPos, "pos"}, std::pair{kLabelNeg, "neg"}}) {
        RNNC_USER_CHECK(count(reviews, label) > 0)
            << ds_.origin << ": no " << split << "/" << name << " reviews found" << layout_hint;
      }
    }
    return std::move(ds_);
  }

 private:
  ImdbDataset ds_;
};

ImdbDataset read_tar_stream(const std::string& name, bool gzipped, const std::function<void(const std::function<void(std::string_view)>&)>& produce) {
  Collector collector(name);
  TarParser tar(
      name,
      [](const std::string& path) {
        std::string split, relative;
        int32_t label;
        return classify_imdb_path(path, split, label, relative);
      },
      [&](const std::string& path, std::string&& contents) {
        std::string split, relative;
        int32_t label = 0;
        classify_imdb_path(path, split, label, relative);
        collector.add(split, label, std::move(relative), std::move(contents), name + ": " + path);
      });
  if (gzipped) {
    GzipDecoder gzip(name, [&](std::string_view chunk) { tar.feed(chunk); });
    produce([&](std::string_view chunk) { gzip.feed(chunk); });
    gzip.finish();
  } else {
    produce([&](std::string_view chunk) { tar.feed(chunk); });
  }
  tar.finish();
  return collector.finish(" (expected entries like aclImdb/train/pos/0_9.txt)");
}

}  // namespace

bool classify_imdb_path(std::string_view path, std::string& split, int32_t& label, std::string& relative) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  if (parts.size() < 3) return false;
  std::string_view file = parts[parts.size() - 1], lab = parts[parts.size() - 2], spl = parts[parts.size() - 3];
  if (spl != "train" && spl != "test") return false;
  if (lab != "pos" && lab != "neg") return false;
  if (file.front() == '.' || !ends_with(file, ".txt")) return false;
  split = std::string(spl);
  label = lab == "pos" ? kLabelPos : kLabelNeg;
  relative = split + "/" + std::string(lab) + "/" + std::string(file);
  return true;
}

ImdbDataset read_imdb(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  RNNC_USER_CHECK(!ec && fs::exists(st)) << path << ": no such file or directory"
                                         << " (expected the aclImdb folder or aclImdb_v1.tar.gz; scripts/fetch-imdb.sh finds it)";
  if (fs::is_directory(st)) return read_imdb_dir(path);
  return read_imdb_archive(path);
}

ImdbDataset read_imdb_dir(const std::string& dir) {
  fs::path root(dir);
  std::error_code ec;
  RNNC_USER_CHECK(fs::is_directory(root, ec)) << dir << ": not a directory";
  if (!fs::is_directory(root / "train", ec) && fs::is_directory(root / "aclImdb" / "train", ec)) root /= "aclImdb";
  Collector collector(root.string());
  for (const char* split : {"train", "test"}) {
    bool present = fs::is_directory(root / split, ec);
    if (!present && std::string(split) == "test") continue;
    for (const char* label : {"pos", "neg"}) {
      fs::path folder = root / split / label;
      RNNC_USER_CHECK(fs::is_directory(folder, ec))
          << folder.string() << ": missing folder (expected the aclImdb layout: train/pos, train/neg, optional test/)";
      std::vector<fs::path> files;
      fs::directory_iterator it(folder, ec), end;
      RNNC_USER_CHECK(!ec) << folder.string() << ": cannot list: " << ec.message();
      for (; it != end; it.increment(ec)) {
        RNNC_USER_CHECK(!ec) << folder.string() << ": cannot list: " << ec.message();
        std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || !ends_with(name, ".txt")) continue;
        if (it->is_directory(ec)) continue;
        files.push_back(it->path());
      }
      for (const fs::path& file : files) {
        std::string s, relative;
        int32_t lab = 0;
        classify_imdb_path(std::string(split) + "/" + label + "/" + file.filename().string(), s, lab, relative);
        collector.add(split, lab, relative, read_file_or_say_why(file.string(), "review"), file.string());
      }
    }
  }
  return collector.finish("");
}

ImdbDataset read_imdb_archive(const std::string& file) {
  std::string head = read_file_prefix(file, 512);
  RNNC_USER_CHECK(!head.empty()) << file << ": empty file (expected a .tar.gz or .tar archive)";
  bool gzipped = looks_like_gzip(head);
  RNNC_USER_CHECK(gzipped || looks_like_tar(head)) << file << ": not a .tar.gz or .tar archive";
  return read_tar_stream(file, gzipped, [&](const std::function<void(std::string_view)>& sink) {
    read_file_chunks(file, sink);
  });
}

ImdbDataset read_imdb_tar_gz_from_memory(std::string_view bytes, const std::string& name) {
  RNNC_USER_CHECK(!bytes.empty()) << name << ": empty file (expected a .tar.gz archive)";
  RNNC_USER_CHECK(looks_like_gzip(bytes)) << name << ": not a gzip file";
  return read_tar_stream(name, true, [&](const std::function<void(std::string_view)>& sink) { sink(bytes); });
}

ImdbDataset read_imdb_tar_from_memory(std::string_view bytes, const std::string& name) {
  RNNC_USER_CHECK(!bytes.empty()) << name << ": empty file (expected a .tar archive)";
  return read_tar_stream(name, false, [&](const std::function<void(std::string_view)>& sink) { sink(bytes); });
}

TrainValidation split_train_validation(std::vector<Review> reviews, int64_t validation_size, uint64_t seed) {
  RNNC_USER_CHECK(validation_size >= 0 && static_cast<size_t>(validation_size) < reviews.size())
      << "a validation split of " << validation_size << " needs more than " << reviews.size()
      << " training reviews";
  std::vector<size_t> order(reviews.size());
  std::iota(order.begin(), order.end(), size_t{0});
  seeded_shuffle(order, seed);
  std::vector<char> in_validation(reviews.size(), 0);
  for (int64_t i = 0; i < validation_size; ++i) in_validation[order[static_cast<size_t>(i)]] = 1;
  TrainValidation out;
  out.train.reserve(reviews.size() - static_cast<size_t>(validation_size));
  out.validation.reserve(static_cast<size_t>(validation_size));
  for (size_t i = 0; i < reviews.size(); ++i) (in_validation[i] ? out.validation : out.train).push_back(std::move(reviews[i]));
  return out;
}

}  // namespace rnnc::data
