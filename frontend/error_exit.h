// A DSL program that lets an rnnc::Error escape main() must still exit with a message and a non-zero
// status, not abort with a core dump. Building a Model installs this terminate handler once; it prints
// the error and exits with status 1.
#pragma once

namespace rnnc {

void install_error_exit();

}  // namespace rnnc
