// The pass-manager flags the tools share: --passes=a,b,c, --pipeline=train|infer, --print-after-all,
// --print-before-all, --print-after=NAME[,NAME], --print-before=NAME[,NAME].
#pragma once

#include <iosfwd>
#include <set>
#include <string>

#include "passes/pass_manager.h"
#include "tools/cli.h"

namespace rnnc::cli {

// Flags taking a value / switches, to merge into a tool's own.
extern const std::set<std::string> kPassValuedFlags;
extern const std::set<std::string> kPassSwitches;
extern const char* kPassFlagsHelp;

// Fills `pm` from the flags (both --pipeline and --passes may be given: the pipeline runs first) and
// sets where the IR dumps go.
void configure_passes(const Args& args, passes::PassManager& pm, std::ostream* dumps);
// The --print-* flags alone: which IR dumps `pm` prints, to `dumps`.
void configure_printing(const Args& args, passes::PassManager& pm, std::ostream* dumps);

}  // namespace rnnc::cli
