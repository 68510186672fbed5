#include "tools/cli.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "ir/error.h"

namespace rnnc::cli {

Args::Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& switches) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      if (a.size() > 1 && a[0] == '-' && a != "-") throw UsageError("unknown option '" + a + "'");
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (switches.count(name)) {
      if (inline_value) throw UsageError("option '--" + name + "' takes no value");
      values_[name] = "";
    } else if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argc) throw UsageError("option '--" + name + "' needs a value");
        value = argv[++i];
      }
      values_[name] = value;
    } else {
      throw UsageError("unknown option '--" + name + "'");
    }
  }
}

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

int64_t Args::get_int(const std::string& flag, int64_t fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  int64_t v = 0;
  const std::string& s = it->second;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    throw UsageError("option '--" + flag + "' needs an integer, got '" + s + "'");
  }
  return v;
}

double Args::get_double(const std::string& flag, double fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("option '--" + flag + "' needs a number, got '" + s + "'");
}

double Args::get_positive_double(const std::string& flag, double fallback) const {
  const double v = get_double(flag, fallback);
  // Only a value given on the command line is the flag's fault; a fallback (a resumed checkpoint's) is
  // checked where it is used.
  if (has(flag) && !(v > 0 && std::isfinite(v))) throw UsageError("option '--" + flag + "' needs a positive number, got '" + get(flag) + "'");
  return v;
}

void Args::expect_no_positional() const {
  if (!positional_.empty()) throw UsageError("unexpected argument '" + positional_[0] + "'");
}

namespace {

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // C1 controls (U+0080..U+009F, C2 80..C2 9F) are valid UTF-8 but act on a terminal too (U+009B is CSI).
    const bool c1_control = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    if (c == '\\') {
      out += "\\\\";  // doubled, so that a \xNN in the text is told apart from an escaped byte
      ++i;
    } else if ((c >= 0x20 && c < 0x7F) || c == '\n' || c == '\t') {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = c >= 0x80 && !c1_control ? utf8_sequence_length(text.substr(i)) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
      ++i;
    }
  }
  return out;
}

int run_tool(const char* tool, const std::string& usage, int (*body)(int, char**), int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << usage;
      return 0;
    }
  }
  try {
    return body(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << tool << ": " << printable(e.what()) << "\n(run '" << tool << " --help' for usage)\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << tool << ": error: " << printable(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace rnnc::cli
