// The PyTorch anchor: runs bench/torch_rnn.py in a child process and reads its one-line JSON result.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

#include "bench/anchors.h"

#ifndef RNNC_SOURCE_DIR
#error "RNNC_SOURCE_DIR must be defined (the repository root)"
#endif

namespace rnnc::bench {
namespace {

// Single-quotes `s` for /bin/sh.
std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The number after "key": in a flat JSON object; NaN for null or a missing key. Sets `found`.
double json_number(const std::string& json, const std::string& key, bool& found) {
  found = false;
  const std::string k = "\"" + key + "\"";
  size_t p = json.find(k);
  if (p == std::string::npos) return NAN;
  p = json.find(':', p + k.size());
  if (p == std::string::npos) return NAN;
  ++p;
  while (p < json.size() && (json[p] == ' ' || json[p] == '\t')) ++p;
  found = true;
  if (json.compare(p, 4, "null") == 0) return NAN;
  const char* begin = json.c_str() + p;
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin) {
    found = false;
    return NAN;
  }
  return v;
}

}  // namespace

Timing time_torch(const Workload& w, int repeats) {
  Timing r;
  const char* py_env = std::getenv("RNNC_PYTHON");
  const std::string python = py_env && *py_env ? py_env : "/usr/bin/python3";
  const std::string script = std::string(RNNC_SOURCE_DIR) + "/bench/torch_rnn.py";
  const std::string cmd = sh_quote(python) + " " + sh_quote(script) + " --cell " + sh_quote(w.cell) + " --layers " +
                          std::to_string(w.layers) + " --batch " + std::to_string(w.batch) + " --seq " +
                          std::to_string(w.seq) + " --input " + std::to_string(w.input) + " --hidden " +
                          std::to_string(w.hidden) + " --repeats " + std::to_string(repeats);
  std::fflush(nullptr);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    r.note = "could not start " + python;
    return r;
  }
  std::string out, line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  // The last line that looks like a JSON object.
  size_t end = out.find_last_not_of(" \t\r\n");
  if (end != std::string::npos) {
    size_t begin = out.rfind('\n', end);
    line = out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin == std::string::npos ? 0 : begin + 1));
  }
  if (status != 0 || line.empty() || line.front() != '{') {
    r.note = "torch_rnn.py failed (exit status " +
             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return r;
  }
  bool ok_f = false, ok_t = false;
  r.forward_ms = json_number(line, "forward_ms", ok_f);
  r.train_ms = json_number(line, "train_ms", ok_t);
  if (!ok_f || !ok_t) r.note = "could not parse torch_rnn.py output: " + line;
  const size_t n = line.find("\"note\"");
  if (n != std::string::npos) {
    // "note": "..." (no escaped quotes are written by torch_rnn.py)
    size_t a = line.find('"', line.find(':', n) + 1);
    size_t b = a == std::string::npos ? a : line.find('"', a + 1);
    if (b != std::string::npos) {
      r.note += (r.note.empty() ? "" : "; ") + line.substr(a + 1, b - a - 1);
    }
  }
  return r;
}

}  // namespace rnnc::bench
