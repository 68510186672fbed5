// `compile`: the optimisation pipeline, then AOT code generation of a module into a library, a header
// and any --emit outputs. Shared by `rnnc compile MODEL` (zoo models) and the generator programs
// rnnc_add_model builds from a user's own DSL source (tools/generator_main.cpp).
#pragma once

#include <set>
#include <string>

#include "ir/function.h"
#include "tools/cli.h"

namespace rnnc::cli {

extern const std::set<std::string> kCompileValuedFlags;  // mode, target, output, emit, name
extern const char* kCompileFlagsHelp;

// Runs the pipeline chosen by --mode (train | infer) on `module` and writes the AOT outputs.
int compile_command(const Args& args, ir::Module module);

}  // namespace rnnc::cli
