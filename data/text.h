// Text handling for the data layer: UTF-8 repair and torchtext's `basic_english` tokenizer.
//
// basic_english (torchtext/data/utils.py) is: line.lower(), then these regex substitutions in order,
// then str.split():
//     '  -> " '  "    "  -> ""     .  -> " . "   <br \/>  -> " "   ,  -> " , "   (  -> " ( "
//     )  -> " ) "     !  -> " ! "  ?  -> " ? "   ;  -> " "         :  -> " "     \s+ -> " "
// tokenize_basic_english gives the same tokens as that Python code on the same string, byte for byte:
//   - lower-casing is Python 3.11's str.lower() (Unicode 14 tables in unicode_tables.inc, including
//     U+0130 -> "i\u0307" and the final-sigma rule), not ASCII-only;
//   - whitespace is Python's str.isspace() set (which also is `\s` for str patterns): ASCII \t\n\v\f\r
//     and space, \x1c-\x1f, U+0085 (NEL, frequent in IMDB), U+00A0, U+1680, U+2000-U+200A, U+2028,
//     U+2029, U+202F, U+205F, U+3000;
//   - `"` is deleted before `<br />` is matched, so `<br /">` is a line break too, as in the regexes.
// Bytes that are not valid UTF-8 are read as U+FFFD, with Python's errors="replace" rule (one U+FFFD
// per maximal ill-formed subsequence), so every byte string tokenises without error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rnnc::data {

// Replaces every ill-formed UTF-8 subsequence of `text` by U+FFFD (EF BF BD), exactly as Python's
// bytes.decode("utf-8", errors="replace") does. Returns how many replacements were made.
int64_t repair_utf8(std::string& text);

// True when `text` is well-formed UTF-8 (no surrogates, no overlong forms, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Python's str.lower() of the UTF-8 text (invalid bytes become U+FFFD first).
std::string lower_python(std::string_view text);

// Calls `emit` with each basic_english token of `text` in order. The views point into a buffer owned
// by the call: copy them if they must outlive `emit`. Faster than tokenize_basic_english when the
// caller only counts or looks tokens up.
void for_each_basic_english_token(std::string_view text, const std::function<void(std::string_view)>& emit);

// The tokens of `text`, as torchtext's get_tokenizer("basic_english") returns them.
std::vector<std::string> tokenize_basic_english(std::string_view text);

// True when `text` has at least one basic_english token (so a review is not empty after tokenising).
bool has_basic_english_token(std::string_view text);

}  // namespace rnnc::data
