// Shared by the libFuzzer targets in fuzz/ (see docs/reliability.md).
//
// The contract every target checks: on any input, the code under test either succeeds or throws
// rnnc::UserError. Anything else is a finding and stops the run with a message:
//   - an rnnc::InternalError (the input reached a state the code thinks impossible),
//   - any other exception (std::out_of_range from a stray .at(), std::bad_alloc, ...),
//   - a property that must hold for accepted input (a round trip) and does not,
//   - and, from the sanitizers, every crash, leak, out-of-bounds access or undefined behaviour.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "ir/error.h"

namespace rnnc::fuzz {

// Stops the run: libFuzzer saves the input that got here as a crash artifact.
[[noreturn]] inline void finding(const std::string& what, const std::string& detail = "") {
  std::fprintf(stderr, "\n==rnnc-fuzz== FINDING: %s\n", what.c_str());
  if (!detail.empty()) std::fprintf(stderr, "%s\n", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs `body`; a UserError is the expected way to reject an input, everything else is a finding.
template <typename F>
void expect_user_errors_only(const char* stage, F&& body) {
  try {
    body();
  } catch (const rnnc::UserError&) {
    // the input was rejected with a message: fine
  } catch (const rnnc::InternalError& e) {
    finding(std::string(stage) + ": rnnc::InternalError escaped", e.what());
  } catch (const std::exception& e) {
    finding(std::string(stage) + ": an exception other than rnnc::UserError escaped (" + typeid(e).name() + ")", e.what());
  } catch (...) {
    finding(std::string(stage) + ": a non-std exception escaped");
  }
}

}  // namespace rnnc::fuzz
