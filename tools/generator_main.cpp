// main() of a model generator: a user's DSL source defines
//
//   rnnc::ir::Module rnnc_model();
//
// and rnnc_add_model(NAME GENERATOR source.cpp …) links it with this file into a program that runs the
// pipeline and compiles the model ahead of time, taking the flags of `rnnc compile`.
#include <set>
#include <string>

#include "tools/cli.h"
#include "tools/compile_command.h"
#include "tools/pass_flags.h"

rnnc::ir::Module rnnc_model();

namespace {

const std::string kUsage = std::string(R"(usage: GENERATOR [options]

Builds this program's model with the rnnc DSL and compiles it ahead of time.

)") + rnnc::cli::kCompileFlagsHelp;

int generator_main(int argc, char** argv) {
  std::set<std::string> valued = rnnc::cli::kPassValuedFlags;
  valued.insert(rnnc::cli::kCompileValuedFlags.begin(), rnnc::cli::kCompileValuedFlags.end());
  rnnc::cli::Args args(argc, argv, valued, rnnc::cli::kPassSwitches);
  args.expect_no_positional();
  return rnnc::cli::compile_command(args, rnnc_model());
}

}  // namespace

int main(int argc, char** argv) { return rnnc::cli::run_tool("generator", kUsage, generator_main, argc, argv); }
