// Errors in rnnc are exceptions, never aborts.
//
// Two kinds, as in Halide: a UserError is the user's mistake (a shape mismatch in the DSL, malformed IR
// text, a bad file) and its message names the problem and where; an InternalError is ours (a broken
// invariant inside the compiler) and carries the source location. Both derive from rnnc::Error so a tool's
// main() catches one type, prints the message and exits non-zero.
//
//   RNNC_USER_CHECK(a == b) << "matmul: inner dimensions differ: " << a << " vs " << b;
//   RNNC_INTERNAL_CHECK(node < n) << "node id out of range";
#pragma once

#include <cstdint>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>

namespace rnnc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UserError : public Error {
 public:
  using Error::Error;
};

class InternalError : public Error {
 public:
  using Error::Error;
};

// "1 operand", "3 operands": messages count things in proper English.
inline std::string counted(int64_t n, const std::string& noun) {
  if (n == 1) return "1 " + noun;
  bool consonant_y = noun.size() > 1 && noun.back() == 'y' && std::string("aeiou").find(noun[noun.size() - 2]) == std::string::npos;
  return std::to_string(n) + " " + (consonant_y ? noun.substr(0, noun.size() - 1) + "ies" : noun + "s");
}

[[noreturn]] inline void throw_user_error(const std::string& message) { throw UserError(message); }

// Collects a message with operator<< and throws when the statement ends. Throwing from a destructor is
// what makes the one-line `CHECK(cond) << ...` form possible; it is safe because the object is always a
// temporary that is not destroyed during unwinding (guarded by uncaught_exceptions).
class ErrorReport {
 public:
  enum class Kind { User, Internal };
  ErrorReport(Kind kind, const char* file, int line) : kind_(kind), exceptions_at_start_(std::uncaught_exceptions()) {
    if (kind == Kind::Internal) message_ << "internal error at " << file << ":" << line << ": ";
  }
  ErrorReport(const ErrorReport&) = delete;
  ErrorReport& operator=(const ErrorReport&) = delete;

  template <typename T>
  ErrorReport& operator<<(const T& value) {
    message_ << value;
    return *this;
  }

  ~ErrorReport() noexcept(false) {
    if (std::uncaught_exceptions() > exceptions_at_start_) return;
    if (kind_ == Kind::User) throw UserError(message_.str());
    throw InternalError(message_.str());
  }

 private:
  Kind kind_;
  int exceptions_at_start_;
  std::ostringstream message_;
};

}  // namespace rnnc

#define RNNC_USER_CHECK(cond) \
  if (cond) {               \
  } else                    \
    ::rnnc::ErrorReport(::rnnc::ErrorReport::Kind::User, __FILE__, __LINE__)

#define RNNC_INTERNAL_CHECK(cond) \
  if (cond) {                   \
  } else                        \
    ::rnnc::ErrorReport(::rnnc::ErrorReport::Kind::Internal, __FILE__, __LINE__)
