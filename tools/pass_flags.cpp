#include "tools/pass_flags.h"

#include "passes/pipeline.h"

namespace rnnc::cli {

const std::set<std::string> kPassValuedFlags = {"passes", "pipeline", "print-after", "print-before"};
const std::set<std::string> kPassSwitches = {"print-after-all", "print-before-all"};
const char* kPassFlagsHelp = R"(pass options:
  --pipeline=train|infer   run the training pipeline (autodiff + optimisations) or the inference one
  --passes=a,b,c           run these passes in order (after --pipeline, if both are given);
                           `rnnc passes` lists them; a pass with an argument is written name=arg
  --print-after-all        print the IR after every pass, headed `// IR after <pass>`
  --print-before-all       print the IR before every pass
  --print-after=P[,Q]      print the IR after the named passes
  --print-before=P[,Q]     print the IR before the named passes
)";

namespace {

std::set<std::string> split(const std::string& list) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.insert(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

void configure_passes(const Args& args, passes::PassManager& pm, std::ostream* dumps) {
  if (args.has("pipeline")) {
    std::string p = args.get("pipeline");
    if (p == "train") {
      passes::add_training_pipeline(pm);
    } else if (p == "infer") {
      passes::add_inference_pipeline(pm);
    } else {
      throw UsageError("--pipeline must be train or infer, got '" + p + "'");
    }
  }
  if (args.has("passes")) passes::add_passes(pm, args.get("passes"));
  configure_printing(args, pm, dumps);
}

void configure_printing(const Args& args, passes::PassManager& pm, std::ostream* dumps) {
  passes::PrintOptions print;
  print.after_all = args.has("print-after-all");
  print.before_all = args.has("print-before-all");
  print.after = split(args.get("print-after"));
  print.before = split(args.get("print-before"));
  std::set<std::string> known;
  for (const std::string& n : passes::pass_names()) known.insert(n);
  for (const auto* names : {&print.after, &print.before}) {
    for (const std::string& n : *names) {
      if (!known.count(n)) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        throw UsageError(std::string(names == &print.after ? "--print-after" : "--print-before") + ": unknown pass '" + n +
                         "' (known: " + list + ")");
      }
    }
  }
  pm.set_printing(print, dumps);
}

}  // namespace rnnc::cli
