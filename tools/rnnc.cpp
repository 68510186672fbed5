// rnnc: the compiler driver.
#include <fstream>
#include <iostream>

#include "frontend/zoo.h"
#include "ir/dot.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "tools/cli.h"
#include "tools/compile_command.h"
#include "tools/onnx_command.h"
#include "tools/output.h"
#include "tools/pass_flags.h"

namespace {

const std::string kUsage = std::string(R"(usage: rnnc COMMAND [options]

commands:
  ir MODEL          print the IR of a model from the built-in zoo (after the passes asked for)
  compile MODEL     compile a zoo model ahead of time into a static library and a header
  onnx-import M.onnx  import an ONNX model (RNN/LSTM/GRU and the ops around them) and print its IR
  onnx-test DIR     run an ONNX backend test case (model.onnx, test_data_set_*): PASS or FAIL
  models            list the zoo's models
  passes            list the passes

options of 'ir':
  --dot             print a graphviz picture (one digraph per function and scan body) instead
  -o FILE           (as --output FILE) write to FILE instead of standard output
  --input N         input features of a cell model (default 16)
  --hidden N        hidden size (default 32; imdb-classifier 128)
  --layers N        stacked layers (default 1; imdb-classifier 2)
  --bidirectional   two directions per layer
  --no-lengths      cell models: no variable-lengths input
  --vocab N         imdb-classifier: vocabulary size with specials (default 25003)
  --embed N         imdb-classifier: embedding size (default 100)
  --dropout P       imdb-classifier: dropout (default 0.3)

models: rnn-tanh rnn-relu lstm gru peephole-lstm layernorm-lstm imdb-classifier
  (the model options apply to 'compile' too)

)") + rnnc::cli::kCompileFlagsHelp + rnnc::cli::kOnnxHelp + "\n" +
                          rnnc::cli::kPassFlagsHelp;

rnnc::ir::Module build_zoo_model(const rnnc::cli::Args& args, const std::string& command) {
  if (args.positional().size() != 2) throw rnnc::cli::UsageError("'" + command + "' needs exactly one MODEL");
  const std::string& model = args.positional()[1];
  if (!rnnc::zoo::has_model(model)) {
    std::string known;
    for (const std::string& n : rnnc::zoo::model_names()) known += " " + n;
    throw rnnc::cli::UsageError("unknown model '" + model + "' (known:" + known + ")");
  }
  rnnc::zoo::ZooOptions zoo;
  rnnc::zoo::ImdbClassifierOptions imdb;
  zoo.input_size = args.get_int("input", zoo.input_size);
  zoo.hidden_size = args.get_int("hidden", zoo.hidden_size);
  zoo.num_layers = static_cast<int>(args.get_int("layers", zoo.num_layers));
  zoo.bidirectional = args.has("bidirectional");
  zoo.lengths = !args.has("no-lengths");
  imdb.hidden_size = args.get_int("hidden", imdb.hidden_size);
  imdb.num_layers = static_cast<int>(args.get_int("layers", imdb.num_layers));
  imdb.bidirectional = args.has("bidirectional");
  imdb.vocab_size = args.get_int("vocab", imdb.vocab_size);
  imdb.embed_dim = args.get_int("embed", imdb.embed_dim);
  imdb.dropout = args.get_double("dropout", imdb.dropout);
  return rnnc::zoo::build_model(model, zoo, imdb);
}

int ir_command(const rnnc::cli::Args& args) {
  rnnc::ir::Module m = build_zoo_model(args, "ir");
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

int rnnc_main(int argc, char** argv) {
  // `-o FILE` is spelled --output inside.
  std::vector<char*> argv2;
  std::string output_flag = "--output";
  for (int i = 0; i < argc; ++i) argv2.push_back(std::string(argv[i]) == "-o" ? output_flag.data() : argv[i]);
  std::set<std::string> valued = rnnc::cli::kPassValuedFlags, switches = rnnc::cli::kPassSwitches;
  valued.insert({"input", "hidden", "layers", "vocab", "embed", "dropout", "output"});
  valued.insert(rnnc::cli::kCompileValuedFlags.begin(), rnnc::cli::kCompileValuedFlags.end());
  valued.insert(rnnc::cli::kOnnxValuedFlags.begin(), rnnc::cli::kOnnxValuedFlags.end());
  switches.insert({"dot", "bidirectional", "no-lengths"});
  rnnc::cli::Args args(argc, argv2.data(), valued, switches);
  if (args.positional().empty()) throw rnnc::cli::UsageError("missing COMMAND");
  const std::string& command = args.positional()[0];
  if (command == "ir") return ir_command(args);
  if (command == "compile") return rnnc::cli::compile_command(args, build_zoo_model(args, "compile"));
  if (command == "onnx-import") return rnnc::cli::onnx_import_command(args);
  if (command == "onnx-test") return rnnc::cli::onnx_test_command(args);
  if (command == "passes") {
    for (const std::string& n : rnnc::passes::pass_names()) std::cout << n << "\n";
    return 0;
  }
  if (command == "models") {
    for (const std::string& n : rnnc::zoo::model_names()) std::cout << n << "\n";
    return 0;
  }
  throw rnnc::cli::UsageError("unknown command '" + command + "'");
}

}  // namespace

int main(int argc, char** argv) { return rnnc::cli::run_tool("rnnc", kUsage, rnnc_main, argc, argv); }
