#include "data/text.h"

#include <algorithm>

namespace rnnc::data {

namespace {

struct LowerRun {
  char32_t start, end;
  int32_t delta;
  int32_t stride;
};
struct CodeRange {
  char32_t start, end;
};
#include "data/unicode_tables.inc"

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at text[i], advancing i. An ill-formed sequence yields U+FFFD and advances past
// its maximal subpart (the longest prefix of a well-formed sequence), never past the offending byte:
// the rule CPython's decoder follows with errors="replace".
char32_t decode_utf8(std::string_view text, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int need;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++i;
    return kReplacement;
  }
  size_t k = i + 1;
  for (int n = 0; n < need; ++n, ++k) {
    if (k >= text.size()) {
      i = k;
      return kReplacement;
    }
    unsigned char b = byte(k);
    if (b < (n == 0 ? lo : 0x80) || b > (n == 0 ? hi : 0xBF)) {
      i = k;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i = k;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool in_ranges(const CodeRange* begin, const CodeRange* end, char32_t cp) {
  const CodeRange* it = std::upper_bound(begin, end, cp, [](char32_t c, const CodeRange& r) { return c < r.start; });
  return it != begin && cp <= (it - 1)->end;
}
bool is_cased(char32_t cp) { return in_ranges(std::begin(kCased), std::end(kCased), cp); }
bool is_case_ignorable(char32_t cp) {
  return in_ranges(std::begin(kCaseIgnorable), std::end(kCaseIgnorable), cp);
}

char32_t lower_simple(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const LowerRun* begin = std::begin(kLowerRuns);
  const LowerRun* end = std::end(kLowerRuns);
  const LowerRun* it = std::upper_bound(begin, end, cp, [](char32_t c, const LowerRun& r) { return c < r.start; });
  if (it == begin) return cp;
  const LowerRun& r = *(it - 1);
  if (cp > r.end || (cp - r.start) % r.stride != 0) return cp;
  return static_cast<char32_t>(static_cast<int32_t>(cp) + r.delta);
}

// CPython's handle_capital_sigma: U+03A3 lower-cases to the final form U+03C2 when a cased code point
// precedes it and none follows (case-ignorable code points skipped on both sides).
char32_t lower_sigma(const std::vector<char32_t>& cps, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(cps[j - 1])) --j;
  bool final_sigma = j > 0 && is_cased(cps[j - 1]);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < cps.size() && is_case_ignorable(cps[k])) ++k;
    final_sigma = k == cps.size() || !is_cased(cps[k]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}

// Lower-cases `text` into `out` as Python does, dropping `"` when asked (the second substitution of
// basic_english, which must happen before `<br />` is matched).
void lower_into(std::string_view text, std::string& out, bool drop_quotes) {
  out.clear();
  out.reserve(text.size());
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    for (char c : text) {
      if (c == '"' && drop_quotes) continue;
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    return;
  }
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) cps.push_back(decode_utf8(text, i));
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t cp = cps[i];
    if (cp == '"' && drop_quotes) continue;
    if (cp == 0x130) {  // the only multi-code-point lower case: LATIN CAPITAL LETTER I WITH DOT ABOVE
      out += 'i';
      append_utf8(out, 0x307);
    } else if (cp == 0x3A3) {
      append_utf8(out, lower_sigma(cps, i));
    } else {
      append_utf8(out, lower_simple(cp));
    }
  }
}

bool is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F); }

// Length of the Unicode (non-ASCII) whitespace code point starting at s[i] in well-formed UTF-8, or 0.
size_t unicode_space_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0; };
  unsigned char b0 = at(i), b1 = at(i + 1), b2 = at(i + 2);
  if (b0 == 0xC2 && (b1 == 0x85 || b1 == 0xA0)) return 2;                  // U+0085, U+00A0
  if (b0 == 0xE1 && b1 == 0x9A && b2 == 0x80) return 3;                    // U+1680
  if (b0 == 0xE2 && b1 == 0x80 && ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF))
    return 3;                                                              // U+2000-200A, 2028, 2029, 202F
  if (b0 == 0xE2 && b1 == 0x81 && b2 == 0x9F) return 3;                    // U+205F
  if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80) return 3;                    // U+3000
  return 0;
}

// Splits the lower-cased, quote-free text into tokens. `emit` returns false to stop early.
template <typename Emit>
void scan_tokens(std::string_view s, Emit&& emit) {
  static constexpr std::string_view kBreak = "<br />";
  size_t start = 0, i = 0;
  bool in_token = false;
  auto flush = [&](size_t end) {
    bool go = true;
    if (in_token) go = emit(s.substr(start, end - start));
    in_token = false;
    return go;
  };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '<' && s.compare(i, kBreak.size(), kBreak) == 0) {
        if (!flush(i)) return;
        i += kBreak.size();
        continue;
      }
      if (is_ascii_space(c) || c == ';' || c == ':') {
        if (!flush(i)) return;
        ++i;
        continue;
      }
      if (c == '\'' || c == '.' || c == ',' || c == '(' || c == ')' || c == '!' || c == '?') {
        if (!flush(i) || !emit(s.substr(i, 1))) return;
        ++i;
        continue;
      }
    } else if (size_t n = unicode_space_length(s, i)) {
      if (!flush(i)) return;
      i += n;
      continue;
    }
    if (!in_token) start = i, in_token = true;
    ++i;
  }
  flush(s.size());
}

}  // namespace

int64_t repair_utf8(std::string& text) {
  if (is_valid_utf8(text)) return 0;
  std::string out;
  out.reserve(text.size() + 16);
  int64_t replaced = 0;
  for (size_t i = 0; i < text.size();) {
    size_t before = i;
    char32_t cp = decode_utf8(text, i);
    if (cp == kReplacement && !(i - before == 3 && text.compare(before, 3, "\xEF\xBF\xBD") == 0)) ++replaced;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      append_utf8(out, cp);
    }
  }
  text = std::move(out);
  return replaced;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t before = i;
    char32_t cp = decode_utf8(text, i);
    if (cp == kReplacement && !(i - before == 3 && text.compare(before, 3, "\xEF\xBF\xBD") == 0)) return false;
  }
  return true;
}

std::string lower_python(std::string_view text) {
  std::string out;
  lower_into(text, out, /*drop_quotes=*/false);
  return out;
}

void for_each_basic_english_token(std::string_view text, const std::function<void(std::string_view)>& emit) {
  std::string buffer;
  lower_into(text, buffer, /*drop_quotes=*/true);
  scan_tokens(buffer, [&](std::string_view token) {
    emit(token);
    return true;
  });
}

std::vector<std::string> tokenize_basic_english(std::string_view text) {
  std::vector<std::string> tokens;
  for_each_basic_english_token(text, [&](std::string_view token) { tokens.emplace_back(token); });
  return tokens;
}

bool has_basic_english_token(std::string_view text) {
  std::string buffer;
  lower_into(text, buffer, /*drop_quotes=*/true);
  bool found = false;
  scan_tokens(buffer, [&](std::string_view) {
    found = true;
    return false;
  });
  return found;
}

}  // namespace rnnc::data
