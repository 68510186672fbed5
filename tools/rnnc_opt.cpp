// rnnc-opt: reads textual IR, verifies it and prints it back (the passes arrive with the pass manager).
#include <iostream>
#include <iterator>

#include "ir/dot.h"
#include "ir/durable_file.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "tools/cli.h"
#include "tools/output.h"
#include "tools/pass_flags.h"

namespace {

const std::string kUsage = std::string(R"(usage: rnnc-opt FILE [options]

Parses the textual IR in FILE ('-' for standard input), verifies it, runs the passes asked for (the
verifier runs after each) and prints the result. Errors name the line and column (parse), the violated
invariant (verify) or the pass and node (passes); exit status 1.

options:
  --dot            print a graphviz picture instead of the text
  --output FILE    write to FILE instead of standard output
)") + rnnc::cli::kPassFlagsHelp;

std::string read_input(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  return rnnc::read_file_or_say_why(path, "IR file");
}

int opt_main(int argc, char** argv) {
  std::set<std::string> valued = rnnc::cli::kPassValuedFlags, switches = rnnc::cli::kPassSwitches;
  valued.insert("output");
  switches.insert("dot");
  rnnc::cli::Args args(argc, argv, valued, switches);
  if (args.positional().size() != 1) throw rnnc::cli::UsageError("needs exactly one input FILE");
  const std::string& path = args.positional()[0];
  rnnc::ir::Module m = rnnc::ir::parse_module(read_input(path), path == "-" ? "<stdin>" : path);
  rnnc::ir::verify_or_throw(m, "in " + path);
  rnnc::cli::Output output(args);
  std::ostream* out = &output.stream();
  rnnc::passes::PassManager pm;
  rnnc::cli::configure_passes(args, pm, out);
  pm.run(m);
  if (args.has("dot")) {
    rnnc::ir::write_dot(*out, m);
  } else {
    rnnc::ir::print_module(*out, m);
  }
  output.commit();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return rnnc::cli::run_tool("rnnc-opt", kUsage, opt_main, argc, argv); }
