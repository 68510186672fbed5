// Where a tool's text goes: standard output, or with --output FILE, a buffer written to FILE atomically
// once the tool has succeeded, so that a failure (a bad pass, a full disk) leaves FILE as it was. commit()
// makes sure the text arrived: a write error is a UserError (exit 1), never exit 0 with the output lost.
#pragma once

#include <ostream>
#include <sstream>
#include <string>

#include "tools/cli.h"

namespace rnnc::cli {

class Output {
 public:
  // With --output, checks at once that FILE can be written (before any work).
  explicit Output(const Args& args);
  std::ostream& stream() { return path_.empty() ? static_cast<std::ostream&>(std_out_) : buffer_; }
  // Writes FILE, or flushes standard output; UserError naming what could not be written and why.
  void commit();

 private:
  std::string path_;
  std::ostringstream buffer_;
  std::ostream& std_out_;
};

}  // namespace rnnc::cli
