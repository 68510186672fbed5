#include "ir/dot.h"

#include <boost/graph/graphviz.hpp>
#include <ostream>

namespace rnnc::ir {
namespace {

// Quotes a label for dot. Backslashes pass through: the labels use dot's own "\n" line breaks, and IR
// names cannot contain a backslash.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

void write_function(std::ostream& os, const Function& f, const std::string& graph_name) {
  std::vector<std::pair<NodeId, std::string>> bodies;
  auto vertex_writer = [&](std::ostream& out, NodeId n) {
    const NodeData& d = f.node(n);
    std::string label = op_name(d.op);
    if (d.op == OpKind::Param) label += " @" + d.attrs.get_word("name");
    for (size_t r = 0; r < d.types.size(); ++r) {
      label += "\\n" + (d.names[r].empty() ? std::string("%") + std::to_string(n) : "%" + d.names[r]) + " : " +
               d.types[r].str();
    }
    if (has_body(d.op)) {
      std::string body_name = graph_name + "." + op_name(d.op) + std::to_string(n);
      label += "\\nbody: " + body_name;
      bodies.push_back({n, body_name});
    }
    const char* shape = has_body(d.op) ? "box3d" : (d.op == OpKind::Arg || d.op == OpKind::Param) ? "ellipse" : "box";
    out << "[label=" << quote(label) << ", shape=" << shape << "]";
  };
  auto edge_writer = [&](std::ostream& out, Graph::edge_descriptor e) {
    out << "[label=\"" << f.graph()[e].operand << "\"]";
  };
  auto graph_writer = [&](std::ostream& out) { out << "label=" << quote("@" + graph_name) << ";\n"; };
  boost::write_graphviz(os, f.graph(), vertex_writer, edge_writer, graph_writer);
  for (const auto& [n, name] : bodies) write_function(os, *f.body(n), name);
}

}  // namespace

void write_dot(std::ostream& os, const Module& module) {
  for (const Function& f : module.functions()) write_function(os, f, f.name());
}

}  // namespace rnnc::ir
