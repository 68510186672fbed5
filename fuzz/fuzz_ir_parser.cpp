// libFuzzer target: the text IR parser (ir/parser.h), then the verifier, then the printer.
//
// Any text either parses or is a UserError. For text that parses and verifies, the round trip must hold:
// the printed module parses again, verifies, is structurally equal to the first parse (ir/equal.h) and
// prints to the same text. A mismatch is a finding, reported with both texts.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/fuzz_common.h"
#include "ir/equal.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace rnnc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<ir::Module> module;
  fuzz::expect_user_errors_only("parse", [&] { module = ir::parse_module(text, "<fuzz>"); });
  if (!module) return 0;

  bool verified = false;
  fuzz::expect_user_errors_only("verify", [&] { verified = ir::verify(*module).empty(); });
  if (!verified) return 0;

  // From here on the module is valid: nothing may throw at all.
  std::string printed, reprinted, difference;
  std::optional<ir::Module> reparsed;
  try {
    printed = ir::print_module(*module);
  } catch (const std::exception& e) {
    fuzz::finding("printing a verified module threw", e.what());
  }
  try {
    reparsed = ir::parse_module(printed, "<printed>");
  } catch (const std::exception& e) {
    fuzz::finding("the printed form of a verified module does not parse", std::string(e.what()) +
                  "\n--- input ---\n" + text + "\n--- printed ---\n" + printed);
  }
  try {
    std::vector<ir::Violation> violations = ir::verify(*reparsed);
    if (!violations.empty()) {
      fuzz::finding("the printed form of a verified module does not verify",
                    violations.front().str() + "\n--- input ---\n" + text + "\n--- printed ---\n" + printed);
    }
    if (!ir::structurally_equal(*module, *reparsed, &difference)) {
      fuzz::finding("parse(print(m)) is not structurally equal to m",
                    difference + "\n--- input ---\n" + text + "\n--- printed ---\n" + printed);
    }
    reprinted = ir::print_module(*reparsed);
  } catch (const std::exception& e) {
    fuzz::finding("verifying or printing the reparsed module threw", e.what());
  }
  if (reprinted != printed) {
    fuzz::finding("print(parse(print(m))) != print(m)",
                  "--- input ---\n" + text + "\n--- printed ---\n" + printed + "\n--- reprinted ---\n" + reprinted);
  }
  return 0;
}
