#include "frontend/error_exit.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "ir/error.h"

namespace rnnc {
namespace {

[[noreturn]] void report_and_exit() {
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const Error& err) {
      std::fprintf(stderr, "error: %s\n", err.what());
    } catch (const std::exception& err) {
      std::fprintf(stderr, "error: %s\n", err.what());
    } catch (...) {
      std::fprintf(stderr, "error: unknown exception\n");
    }
  } else {
    std::fprintf(stderr, "error: terminate called without an exception\n");
  }
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

void install_error_exit() {
  static const bool installed = (std::set_terminate(report_and_exit), true);
  (void)installed;
}

}  // namespace rnnc
