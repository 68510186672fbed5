#include "tools/output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "ir/durable_file.h"
#include "ir/error.h"

namespace rnnc::cli {

Output::Output(const Args& args) : path_(args.get("output")), std_out_(std::cout) {
  if (args.has("output")) check_writable(path_, "the output");
}

void Output::commit() {
  if (!path_.empty()) {
    write_file_atomically(path_, buffer_.str());
    return;
  }
  errno = 0;
  std_out_.flush();
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;  // before the message is built, which may change errno
  RNNC_USER_CHECK(std_out_.good() && flushed)
      << "cannot write standard output" << (error ? std::string(": ") + std::strerror(error) : std::string());
}

}  // namespace rnnc::cli
