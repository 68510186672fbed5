// libFuzzer target: the aclImdb archive reader (data/imdb.h) on memory buffers.
//
// Input starting with the gzip magic goes to read_imdb_tar_gz_from_memory (zlib, then the tar parser),
// anything else to read_imdb_tar_from_memory. Checked on every input:
//   - only UserErrors escape;
//   - what is accepted keeps the documented policy: review texts are valid UTF-8 with at least one
//     token, labels are pos or neg, paths are "train|test/pos|neg/<file>.txt", sorted and unique;
//   - the tar parser streams: feeding the bytes in chunks (of a size taken from the input) finds the
//     same files, and the same success or failure, as parsing the whole buffer at once.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/archive.h"
#include "data/imdb.h"
#include "data/text.h"
#include "fuzz/fuzz_common.h"

using namespace rnnc;

namespace {

void check_dataset(const data::ImdbDataset& ds) {
  for (const auto* split : {&ds.train, &ds.test}) {
    for (size_t i = 0; i < split->size(); ++i) {
      const data::Review& r = (*split)[i];
      if (!data::is_valid_utf8(r.text)) fuzz::finding("accepted review with invalid UTF-8", r.path);
      if (!data::has_basic_english_token(r.text)) fuzz::finding("accepted review without tokens", r.path);
      if (r.label != data::kLabelPos && r.label != data::kLabelNeg) fuzz::finding("review with a bad label", r.path);
      std::string split_name, relative;
      int32_t label = -1;
      if (!data::classify_imdb_path(r.path, split_name, label, relative) || relative != r.path || label != r.label ||
          (split_name == "train") != (split == &ds.train)) {
        fuzz::finding("review path does not classify to itself", r.path);
      }
      if (i > 0 && !((*split)[i - 1].path < r.path)) fuzz::finding("reviews not sorted and unique", r.path);
    }
  }
}

using Files = std::vector<std::pair<std::string, std::string>>;

// The whole buffer at once, or in chunks of `chunk` bytes. nullopt: a UserError.
std::optional<Files> tar_files(std::string_view bytes, size_t chunk) {
  Files files;
  auto want = [](const std::string&) { return true; };
  auto on_file = [&](const std::string& path, std::string&& contents) { files.emplace_back(path, std::move(contents)); };
  try {
    if (chunk == 0) {
      data::parse_tar(bytes, "<fuzz>", want, on_file);
    } else {
      data::TarParser parser("<fuzz>", want, on_file);
      for (size_t at = 0; at < bytes.size(); at += chunk) parser.feed(bytes.substr(at, chunk));
      parser.finish();
    }
  } catch (const UserError&) {
    return std::nullopt;
  }
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  fuzz::expect_user_errors_only(gzipped ? "read_imdb_tar_gz_from_memory" : "read_imdb_tar_from_memory", [&] {
    data::ImdbDataset ds = gzipped ? data::read_imdb_tar_gz_from_memory(bytes, "<fuzz>")
                                   : data::read_imdb_tar_from_memory(bytes, "<fuzz>");
    check_dataset(ds);
  });
  if (!gzipped) {
    fuzz::expect_user_errors_only("parse_tar (whole vs chunked)", [&] {
      uint32_t h = 2166136261u;  // FNV-1a of the input picks the chunk size, 1..700 bytes
      for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
      size_t chunk = 1 + h % 700;
      std::optional<Files> whole = tar_files(bytes, 0), chunked = tar_files(bytes, chunk);
      if (whole.has_value() != chunked.has_value()) {
        fuzz::finding("the tar parser fails on " + std::string(whole ? "chunks" : "the whole buffer") +
                      " but not on " + std::string(whole ? "the whole buffer" : "chunks") + " (chunk size " +
                      std::to_string(chunk) + ")");
      }
      if (whole && *whole != *chunked) {
        fuzz::finding("the tar parser finds other files when fed in chunks of " + std::to_string(chunk) + " bytes");
      }
    });
  }
  return 0;
}
