// libFuzzer target: the vocabulary file reader (data/vocab.h, Vocab::parse) and, on the same bytes, the
// basic_english tokenizer (data/text.h) that the vocabulary and the IMDB reader are built on.
//
//   - Vocab::parse accepts or throws a UserError; an accepted vocabulary starts with the specials,
//     serialises, and parses back to itself.
//   - Every byte string tokenises without error (text.h promises it); every token is non-empty, valid
//     UTF-8 and free of ASCII whitespace; encoding with the accepted vocabulary gives ids in range.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "data/text.h"
#include "data/vocab.h"
#include "fuzz/fuzz_common.h"

using namespace rnnc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<data::Vocab> vocab;
  fuzz::expect_user_errors_only("Vocab::parse", [&] { vocab = data::Vocab::parse(text, "<fuzz>"); });
  if (vocab) {
    for (int32_t i = 0; i < 3; ++i) {
      if (vocab->token(i) != data::Vocab::kSpecials[static_cast<size_t>(i)]) {
        fuzz::finding("accepted vocabulary without its special tokens in place");
      }
    }
    fuzz::expect_user_errors_only("Vocab round trip", [&] {
      std::string serialized = vocab->serialize();
      data::Vocab again = data::Vocab::parse(serialized, "<serialized>");
      if (!(again == *vocab)) fuzz::finding("Vocab::parse(v.serialize()) != v");
    });
  }
  fuzz::expect_user_errors_only("tokenize_basic_english", [&] {
    const data::Vocab& v = vocab ? *vocab : data::Vocab();
    std::vector<std::string> tokens = data::tokenize_basic_english(text);
    for (const std::string& t : tokens) {
      if (t.empty()) fuzz::finding("empty token");
      if (!data::is_valid_utf8(t)) fuzz::finding("token with invalid UTF-8");
      for (char c : t) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
          fuzz::finding("token with whitespace: '" + t + "'");
        }
      }
    }
    if (data::has_basic_english_token(text) != !tokens.empty()) {
      fuzz::finding("has_basic_english_token disagrees with tokenize_basic_english");
    }
    std::vector<int32_t> ids = v.encode(text, 0);
    if (ids.size() != tokens.size()) fuzz::finding("encode gives another number of ids than tokenize");
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= v.size()) fuzz::finding("encode gives an id out of range");
      if (ids[i] != data::Vocab::kUnk && v.token(ids[i]) != tokens[i]) fuzz::finding("encode maps a token to another one");
    }
  });
  return 0;
}
