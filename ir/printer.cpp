#include "ir/printer.h"

#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "ir/error.h"

namespace rnnc::ir {
namespace {

// Characters allowed in a %name or @name; anything else in a name from the DSL becomes '_'.
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '$';
}

std::string sanitize(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    if (!is_name_char(c)) c = '_';
  }
  return s;
}

// The printed names of one function's values. Explicit names are kept when unique (first come first
// served in print order); repeats get a numeric suffix and unnamed values a plain number.
class Namer {
 public:
  Namer(const Function& f, const std::vector<NodeId>& order) {
    std::vector<Value> unnamed;
    auto visit = [&](NodeId n) {
      const NodeData& d = f.node(n);
      for (int r = 0; r < static_cast<int>(d.types.size()); ++r) {
        Value v{n, r};
        std::string want = sanitize(d.names[r]);
        if (!want.empty() && taken_.insert(want).second) {
          names_[v] = want;
        } else if (!want.empty()) {
          int k = 1;
          while (!taken_.insert(want + "." + std::to_string(k)).second) ++k;
          names_[v] = want + "." + std::to_string(k);
        } else {
          unnamed.push_back(v);
        }
      }
    };
    for (NodeId a : f.args()) visit(a);
    for (NodeId n : order) {
      if (f.op(n) != OpKind::Arg) visit(n);
    }
    int counter = 0;
    for (const Value& v : unnamed) {
      while (taken_.count(std::to_string(counter))) ++counter;
      names_[v] = std::to_string(counter);
      taken_.insert(names_[v]);
    }
  }

  std::string operator()(Value v) const {
    auto it = names_.find(v);
    RNNC_INTERNAL_CHECK(it != names_.end()) << "value of node " << v.node << " has no name";
    return "%" + it->second;
  }

 private:
  std::set<std::string> taken_;
  std::map<Value, std::string> names_;
};

class Printer {
 public:
  explicit Printer(std::ostream& os) : os_(os) {}

  void module(const Module& m) {
    os_ << "module @" << sanitize(m.name()) << " {\n";
    for (const ParamDecl& p : m.params()) {
      os_ << "  param @" << sanitize(p.name) << " : " << p.type << " init " << p.init.str() << "\n";
    }
    for (const Function& f : m.functions()) {
      if (!m.params().empty() || &f != &m.functions().front()) os_ << "\n";
      function(f, 1);
    }
    os_ << "}\n";
  }

  void function(const Function& f, int depth) {
    std::vector<NodeId> order = f.topological_order();
    Namer name(f, order);
    indent(depth);
    os_ << "func @" << sanitize(f.name()) << "(";
    for (size_t i = 0; i < f.args().size(); ++i) {
      Value a = f.arg(i);
      os_ << (i ? ", " : "") << name(a) << ": " << f.type(a);
    }
    os_ << ") -> (";
    if (f.has_return()) {
      std::vector<TensorType> types = f.result_types();
      for (size_t i = 0; i < types.size(); ++i) {
        os_ << (i ? ", " : "");
        const std::string& rn = f.result_names().at(i);
        if (!rn.empty()) os_ << sanitize(rn) << ": ";
        os_ << types[i];
      }
    }
    os_ << ") {\n";
    body(f, order, name, depth + 1, BodyKind::Function, 0);
    indent(depth);
    os_ << "}\n";
  }

 private:
  void indent(int depth) { os_ << std::string(2 * depth, ' '); }

  void value_list(const std::vector<Value>& values, const Namer& name) {
    for (size_t i = 0; i < values.size(); ++i) os_ << (i ? ", " : "") << name(values[i]);
  }

  enum class BodyKind { Function, Scan, Fused };

  void body(const Function& f, const std::vector<NodeId>& order, const Namer& name, int depth, BodyKind kind,
            int64_t carries) {
    for (NodeId n : order) {
      OpKind op = f.op(n);
      if (op == OpKind::Arg || op == OpKind::Return) continue;
      node(f, n, name, depth);
    }
    if (!f.has_return()) return;
    indent(depth);
    std::vector<Value> results = f.results();
    if (kind == BodyKind::Fused) {
      os_ << "yield ";
      value_list(results, name);
      os_ << "\n";
    } else if (kind == BodyKind::Scan) {
      os_ << "yield next(";
      value_list(std::vector<Value>(results.begin(), results.begin() + carries), name);
      os_ << ") out(";
      value_list(std::vector<Value>(results.begin() + carries, results.end()), name);
      os_ << ")\n";
    } else {
      os_ << "return";
      if (!results.empty()) os_ << " ";
      value_list(results, name);
      os_ << "\n";
    }
  }

  void node(const Function& f, NodeId n, const Namer& name, int depth) {
    const NodeData& d = f.node(n);
    indent(depth);
    for (int r = 0; r < static_cast<int>(d.types.size()); ++r) os_ << (r ? ", " : "") << name(Value{n, r});
    if (!d.types.empty()) os_ << " = ";
    os_ << op_name(d.op);
    std::vector<Value> operands = f.operands(n);
    switch (d.op) {
      case OpKind::Param:
        os_ << " @" << sanitize(d.attrs.get_word("name")) << " : " << d.types[0] << "\n";
        return;
      case OpKind::Constant:
        os_ << " " << format_float(d.attrs.get_float("value")) << " : " << d.types[0] << "\n";
        return;
      case OpKind::Scan:
        scan(f, n, operands, name, depth);
        return;
      case OpKind::Fused:
        fused(f, n, operands, name, depth);
        return;
      default:
        break;
    }
    if (!operands.empty()) os_ << " ";
    value_list(operands, name);
    attr_dict(d.attrs, {});
    os_ << " : ";
    for (size_t r = 0; r < d.types.size(); ++r) os_ << (r ? ", " : "") << d.types[r];
    os_ << "\n";
  }

  // ` {key = value, flag}`, leaving out the keys a custom syntax already shows.
  void attr_dict(const Attrs& attrs, const std::set<std::string>& shown) {
    bool first = true;
    for (const auto& [key, value] : attrs.values()) {
      if (shown.count(key)) continue;
      os_ << (first ? " {" : ", ") << key;
      if (attr_kind_of(value) != AttrKind::Flag) os_ << " = " << format_attr_value(value);
      first = false;
    }
    if (!first) os_ << "}";
  }

  void types_line(const NodeData& d) {
    os_ << " : ";
    for (size_t r = 0; r < d.types.size(); ++r) os_ << (r ? ", " : "") << d.types[r];
    os_ << "\n";
  }

  // scan DIR [unroll(k)] [lengths(%l)] carry(…) seq(…) invariant(…) { … yield next(…) out(…) } : types
  void scan(const Function& f, NodeId n, const std::vector<Value>& operands, const Namer& outer, int depth) {
    const NodeData& d = f.node(n);
    const Function& b = *d.body.get();
    std::vector<NodeId> order = b.topological_order();
    Namer inner(b, order);
    int64_t carries = d.attrs.get_int("carries"), sequences = d.attrs.get_int("sequences");
    int64_t unroll = d.attrs.get_int_or("unroll", 1);
    bool has_lengths = d.attrs.has_flag("lengths");
    size_t first = has_lengths ? 1 : 0;
    attr_dict(d.attrs, {"direction", "unroll", "lengths", "carries", "sequences", "invariants"});
    os_ << " " << d.attrs.get_word("direction");
    if (d.attrs.has("unroll")) os_ << " unroll(" << unroll << ")";
    if (has_lengths) os_ << " lengths(" << outer(operands[0]) << ")";
    // One operand group per line: a scan over a real cell binds dozens of invariants. Each entry binds
    // body arguments to one outer value; an unrolled sequence binds one argument per sub-step.
    auto bind = [&](const char* keyword, size_t operand_begin, int64_t count, auto body_args_of) {
      os_ << "\n";
      indent(depth + 2);
      os_ << keyword << "(";
      for (int64_t i = 0; i < count; ++i) {
        std::vector<size_t> args = body_args_of(i);
        os_ << (i ? ", " : "");
        for (size_t k = 0; k < args.size(); ++k) os_ << (k ? ", " : "") << inner(b.arg(args[k]));
        os_ << " = " << outer(operands[first + operand_begin + i]);
      }
      os_ << ")";
    };
    int64_t invariants = d.attrs.get_int("invariants");
    bind("carry", 0, carries, [&](int64_t i) { return std::vector<size_t>{static_cast<size_t>(i)}; });
    bind("seq", carries, sequences, [&](int64_t j) {
      std::vector<size_t> args;
      for (int64_t u = 0; u < unroll; ++u) args.push_back(carries + u * sequences + j);
      return args;
    });
    bind("invariant", carries + sequences, invariants,
         [&](int64_t k) { return std::vector<size_t>{static_cast<size_t>(carries + unroll * sequences + k)}; });
    os_ << " {\n";
    body(b, order, inner, depth + 1, BodyKind::Scan, carries);
    indent(depth);
    os_ << "}";
    types_line(d);
  }

  // fused(%a = %x, …) { … yield … } : types
  void fused(const Function& f, NodeId n, const std::vector<Value>& operands, const Namer& outer, int depth) {
    const NodeData& d = f.node(n);
    const Function& b = *d.body.get();
    std::vector<NodeId> order = b.topological_order();
    Namer inner(b, order);
    attr_dict(d.attrs, {});
    os_ << (d.attrs.values().empty() ? "(" : " (");
    for (size_t i = 0; i < operands.size(); ++i) os_ << (i ? ", " : "") << inner(b.arg(i)) << " = " << outer(operands[i]);
    os_ << ") {\n";
    body(b, order, inner, depth + 1, BodyKind::Fused, 0);
    indent(depth);
    os_ << "}";
    types_line(d);
  }

  std::ostream& os_;
};

}  // namespace

void print_module(std::ostream& os, const Module& module) { Printer(os).module(module); }

std::string print_module(const Module& module) {
  std::ostringstream os;
  print_module(os, module);
  return os.str();
}

std::string print_function(const Function& function) {
  std::ostringstream os;
  Printer(os).function(function, 0);
  return os.str();
}

}  // namespace rnnc::ir
