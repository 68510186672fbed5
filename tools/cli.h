// The small command-line parser the rnnc tools share: positional words and --flags, where a flag takes
// its value as `--name=value` or `--name value`. Unknown flags and bad numbers are UsageErrors with a
// message naming them; a tool's main turns them into exit status 2.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rnnc::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `valued` lists the flags that take a value; `switches` those that do not.
  Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& switches);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const { return values_.count(flag) != 0; }
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  int64_t get_int(const std::string& flag, int64_t fallback) const;
  double get_double(const std::string& flag, double fallback) const;
  // A finite number > 0 (a learning rate) when the flag is given: a UsageError naming it otherwise. The
  // fallback is returned unchecked.
  double get_positive_double(const std::string& flag, double fallback) const;
  // For a tool that takes flags only: a UsageError naming the first positional word, if any.
  void expect_no_positional() const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
};

// `text` safe to print on a terminal: valid UTF-8 is kept, as are newlines and tabs; any other byte (an
// invalid sequence, a control character such as ESC or a C1 one such as U+009B) becomes \xNN, and a
// backslash is doubled (a name holding the four characters \xff prints as \\xff, not as the byte).
// Messages quote names from the user's files (ONNX node names, paths), which may hold anything.
std::string printable(std::string_view text);

// Runs a tool's body, mapping exceptions to messages and exit statuses: 0 ok, 1 error, 2 usage. The
// messages are printed through printable().
int run_tool(const char* tool, const std::string& usage, int (*body)(int, char**), int argc, char** argv);

}  // namespace rnnc::cli
