#include "ir/verifier.h"

#include <boost/graph/strong_components.hpp>
#include <boost/graph/topological_sort.hpp>
#include <set>
#include <sstream>

#include "ir/error.h"

namespace rnnc::ir {
namespace {

// Whether a tensor of type `t` could exist: its fixed dims multiply to at most 2^48 elements. Sizes past
// that are a mistake (--hidden 3000000000), and every later product of them (bytes, panels, strides)
// would overflow int64; the compiled kernels have their own, smaller limit (codegen check_addressable).
bool holdable(const TensorType& t) {
  constexpr double kMostElements = 281474976710656.0;  // 2^48
  return fixed_element_count(t) <= kMostElements;
}

class Verifier {
 public:
  Verifier(const Module& m, std::vector<Violation>& out) : module_(m), out_(out) {}

  void function(const Function& f, const std::string& where) {
    where_ = where;
    size_t before = out_.size();
    structure(f);
    // The remaining checks read operands and types, which is only safe on a well-formed graph.
    if (out_.size() != before) return;
    if (!acyclic(f)) return;
    for (NodeId n = 0; n < f.num_nodes(); ++n) node(f, n);
    where_ = where;
  }

 private:
  void report(const std::string& invariant, const std::string& message) {
    out_.push_back(Violation{invariant, where_, message});
  }

  std::string describe(const Function& f, NodeId n) {
    std::string s = "node " + std::to_string(n) + " (" + op_name(f.op(n));
    if (!f.node(n).names.empty() && !f.node(n).names[0].empty()) s += ", %" + f.node(n).names[0];
    return s + ")";
  }

  void structure(const Function& f) {
    const Graph& g = f.graph();
    int returns = 0;
    for (NodeId n = 0; n < f.num_nodes(); ++n) {
      const NodeData& d = g[n];
      if (d.names.size() != d.types.size()) report("dangling-result", describe(f, n) + " names and types differ in count");
      std::vector<int> slots;
      for (auto e : boost::make_iterator_range(boost::in_edges(n, g))) {
        slots.push_back(g[e].operand);
        NodeId src = boost::source(e, g);
        int r = g[e].result;
        if (r < 0 || r >= static_cast<int>(g[src].types.size())) {
          report("dangling-result", describe(f, n) + " reads result " + std::to_string(r) + " of " +
                                        describe(f, src) + ", which has " + std::to_string(g[src].types.size()));
        }
      }
      std::sort(slots.begin(), slots.end());
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i] != static_cast<int>(i)) {
          report("operand-slots", describe(f, n) + " has operand slots that are not 0.." +
                                      std::to_string(slots.size() - 1) + " each once");
          break;
        }
      }
      if (d.op == OpKind::Return) {
        ++returns;
        if (boost::out_degree(n, g) != 0) report("return", describe(f, n) + " is used by another node");
      }
      if (has_body(d.op) && !d.body) report("scan-body", describe(f, n) + " has no body");
    }
    if (returns != 1) report("return", "has " + std::to_string(returns) + " return nodes, expected 1");
    if (f.has_return() && f.result_names().size() != boost::in_degree(f.return_node(), g)) {
      report("return", "has " + std::to_string(f.result_names().size()) + " result names for " +
                           std::to_string(boost::in_degree(f.return_node(), g)) + " results");
    }
    std::set<NodeId> listed(f.args().begin(), f.args().end());
    for (size_t i = 0; i < f.args().size(); ++i) {
      NodeId a = f.args()[i];
      if (a >= f.num_nodes() || g[a].op != OpKind::Arg) {
        report("args", "argument " + std::to_string(i) + " is not an arg node");
      } else if (!g[a].attrs.has("index") || attr_kind_of(g[a].attrs.values().at("index")) != AttrKind::Int ||
                 g[a].attrs.get_int("index") != static_cast<int64_t>(i)) {
        report("args", describe(f, a) + " is argument " + std::to_string(i) + " but its index attribute differs");
      }
    }
    for (NodeId n = 0; n < f.num_nodes(); ++n) {
      if (g[n].op == OpKind::Arg && !listed.count(n)) report("args", describe(f, n) + " is not a listed argument");
    }
  }

  // BGL's topological sort detects a cycle; strong components then name the nodes on it.
  bool acyclic(const Function& f) {
    std::vector<NodeId> order;
    try {
      boost::topological_sort(f.graph(), std::back_inserter(order));
      return true;
    } catch (const boost::not_a_dag&) {
    }
    std::vector<int> component(f.num_nodes());
    int count = boost::strong_components(f.graph(), component.data());
    std::vector<std::vector<NodeId>> members(count);
    for (NodeId n = 0; n < f.num_nodes(); ++n) members[component[n]].push_back(n);
    for (const auto& nodes : members) {
      bool self_loop = nodes.size() == 1 && boost::edge(nodes[0], nodes[0], f.graph()).second;
      if (nodes.size() < 2 && !self_loop) continue;
      std::string list;
      for (NodeId n : nodes) list += (list.empty() ? "" : ", ") + describe(f, n);
      report("cycle", "nodes form a cycle: " + list + " (a recurrence must go through a scan's carries)");
    }
    return false;
  }

  void node(const Function& f, NodeId n) {
    const NodeData& d = f.node(n);
    for (const TensorType& t : d.types) {
      if (!holdable(t)) {
        report("type-size", describe(f, n) + " has type " + t.str() +
                                ": more than 2^48 elements without its symbolic dims, more than any machine holds");
      }
    }
    if (d.op == OpKind::Arg || d.op == OpKind::Return) return;
    if (d.op == OpKind::Param) {
      const ParamDecl* decl = d.attrs.has("name") && attr_kind_of(d.attrs.values().at("name")) == AttrKind::Word
                                  ? module_.find_param(d.attrs.get_word("name"))
                                  : nullptr;
      if (!decl) {
        report("param", describe(f, n) + " names no declared parameter");
      } else if (d.types.size() != 1 || d.types[0] != decl->type) {
        report("param", describe(f, n) + " has type " + (d.types.empty() ? "none" : d.types[0].str()) + " but @" +
                            decl->name + " is declared " + decl->type.str());
      }
    }
    if (has_body(d.op) && d.body) {
      std::string outer = where_;
      std::string name = d.names.empty() ? std::to_string(n) : d.names[0];
      function(*d.body.get(), outer + ", " + op_name(d.op) + " %" + name + " body");
      where_ = outer;
    }
    std::vector<TensorType> operands = f.operand_types(n);
    std::vector<TensorType> inferred;
    try {
      OpSignature sig{d.op, d.attrs, operands, d.types, d.body.get()};
      inferred = infer_types(sig);
    } catch (const UserError& e) {
      report("op-rule", describe(f, n) + ": " + e.what());
      return;
    }
    if (inferred != d.types) {
      std::string stored, rule;
      for (const auto& t : d.types) stored += (stored.empty() ? "" : ", ") + t.str();
      for (const auto& t : inferred) rule += (rule.empty() ? "" : ", ") + t.str();
      report("type-mismatch", describe(f, n) + ": stored " + stored + " but its type rule gives " + rule);
    }
  }

  const Module& module_;
  std::vector<Violation>& out_;
  std::string where_;
};

}  // namespace

std::vector<Violation> verify(const Module& module) {
  std::vector<Violation> out;
  std::set<std::string> names;
  for (const ParamDecl& p : module.params()) {
    if (!names.insert(p.name).second) out.push_back({"duplicate-param", "@" + module.name(), "@" + p.name + " declared twice"});
    if (p.init.zero_row >= 0 &&
        (p.type.rank() == 0 || (!p.type.shape[0].is_symbolic() && p.init.zero_row >= p.type.shape[0].size))) {
      out.push_back({"param", "@" + module.name(),
                     "@" + p.name + " " + p.type.str() + " has no row " + std::to_string(p.init.zero_row) + " to zero"});
    }
  }
  names.clear();
  Verifier v(module, out);
  for (const Function& f : module.functions()) {
    if (!names.insert(f.name()).second) {
      out.push_back({"duplicate-function", "@" + module.name(), "@" + f.name() + " defined twice"});
    }
    v.function(f, "@" + f.name());
  }
  return out;
}

void verify_or_throw(const Module& module, const std::string& context) {
  std::vector<Violation> violations = verify(module);
  if (violations.empty()) return;
  std::ostringstream msg;
  msg << "IR verification failed" << (context.empty() ? "" : " " + context) << ":";
  for (const Violation& v : violations) msg << "\n  " << v.str();
  throw UserError(msg.str());
}

}  // namespace rnnc::ir
