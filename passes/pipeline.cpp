// The pipelines, each one straight list: the order the passes run in is the order they are written.
#include "passes/pipeline.h"

#include <functional>
#include <map>

#include "ir/error.h"
#include "passes/passes.h"

namespace rnnc::passes {

void add_training_pipeline(PassManager& pm) {
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_autodiff());
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_dce());
}

void add_inference_pipeline(PassManager& pm) {
  pm.add(create_canonicalize());
  pm.add(create_cse());
  pm.add(create_dce());
}

namespace {

using Factory = std::function<PassPtr(const std::string& argument)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"canonicalize", [](const std::string&) { return create_canonicalize(); }},
      {"cse", [](const std::string&) { return create_cse(); }},
      {"dce", [](const std::string&) { return create_dce(); }},
      {"autodiff", [](const std::string&) { return create_autodiff(); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> pass_names() {
  std::vector<std::string> out;
  for (const auto& entry : registry()) out.push_back(entry.first);
  return out;
}

PassPtr create_pass(const std::string& spec) {
  std::string name = spec, argument;
  if (size_t eq = spec.find('='); eq != std::string::npos) {
    name = spec.substr(0, eq);
    argument = spec.substr(eq + 1);
  }
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& n : pass_names()) known += (known.empty() ? "" : ", ") + n;
    throw_user_error("unknown pass '" + name + "' (known: " + known + ")");
  }
  return it->second(argument);
}

void add_passes(PassManager& pm, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string spec = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (spec.empty()) throw_user_error("empty pass name in '" + list + "'");
    pm.add(create_pass(spec));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace rnnc::passes
