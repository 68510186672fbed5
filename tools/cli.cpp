#include "tools/cli.h"

#include <charconv>
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
    std::cerr << tool << ": " << e.what() << "\n(run '" << tool << " --help' for usage)\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace rnnc::cli
