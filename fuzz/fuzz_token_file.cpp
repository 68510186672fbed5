// libFuzzer target: the RNNCTOK1 token file reader (data/token_file.h, parse_token_file).
//
// Accepts or throws a UserError. The format has exactly one encoding of each split, so an accepted file
// serialises back to the same bytes, and the split it gives is consistent (offsets from 0 to the token
// count, one label per example).
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/token_file.h"
#include "fuzz/fuzz_common.h"

using namespace rnnc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_user_errors_only("parse_token_file", [&] {
    data::EncodedSplit split = data::parse_token_file(bytes, "<fuzz>");
    if (split.offsets.size() != split.labels.size() + 1 || split.offsets.front() != 0 ||
        split.offsets.back() != static_cast<int64_t>(split.tokens.size())) {
      fuzz::finding("parse_token_file gave an inconsistent split");
    }
    for (size_t i = 0; i < split.size(); ++i) {
      if (split.length(i) < 0) fuzz::finding("parse_token_file accepted a negative length");
    }
    if (data::serialize_token_file(split) != bytes) fuzz::finding("serialize_token_file(parse_token_file(b)) != b");
  });
  return 0;
}
