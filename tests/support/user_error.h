// The message of the UserError `body` throws, or "(no UserError)": tests then look for the words a
// message must hold, and a body that does not throw fails every such look.
#pragma once

#include <functional>
#include <string>

#include "ir/error.h"

namespace rnnc::testing_support {

inline std::string user_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

}  // namespace rnnc::testing_support
