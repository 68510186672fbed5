#include "ir/parser.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>
#include <map>
#include <optional>

#include "ir/error.h"

namespace rnnc::ir {
namespace {

enum class Tok { End, Percent, At, Ident, Number, Punct, Arrow, Bad };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // names without their sigil; punctuation as written
  int line = 1, col = 1;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::End: return "end of input";
    case Tok::Percent: return "'%" + t.text + "'";
    case Tok::At: return "'@" + t.text + "'";
    case Tok::Bad: return "unexpected character " + t.text;
    default: return "'" + t.text + "'";
  }
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '$'; }

class Lexer {
 public:
  explicit Lexer(const std::string& text) : s_(text) {}

  Token next() {
    skip_space_and_comments();
    Token t;
    t.line = line_;
    t.col = col_;
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (c == '%' || c == '@') {
      advance();
      size_t start = pos_;
      while (pos_ < s_.size() && is_name_char(s_[pos_])) advance();
      t.kind = c == '%' ? Tok::Percent : Tok::At;
      t.text = s_.substr(start, pos_ - start);
      if (t.text.empty()) {
        t.kind = Tok::Bad;
        t.text = std::string("'") + c + "' without a name";
      }
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      // Words may contain '.' and '-' after the first character (result names such as h_n.l0), but a
      // '->' always ends them.
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
                                  s_[pos_] == '.' || (s_[pos_] == '-' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '>')))) {
        advance();
      }
      t.kind = Tok::Ident;
      t.text = s_.substr(start, pos_ - start);
      if (t.text == "inf" || t.text == "nan") t.kind = Tok::Number;
      return t;
    }
    if (c == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') {
      advance();
      advance();
      t.kind = Tok::Arrow;
      t.text = "->";
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      size_t start = pos_;
      advance();
      while (pos_ < s_.size()) {
        char d = s_[pos_];
        bool exp_sign = (d == '-' || d == '+') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E');
        if (!(std::isalnum(static_cast<unsigned char>(d)) || d == '.' || exp_sign)) break;
        advance();
      }
      t.kind = Tok::Number;
      t.text = s_.substr(start, pos_ - start);
      return t;
    }
    if (std::string("(){}[],:=").find(c) != std::string::npos) {
      advance();
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      return t;
    }
    advance();
    t.kind = Tok::Bad;
    if (std::isprint(static_cast<unsigned char>(c))) {
      t.text = std::string("'") + c + "'";
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "byte 0x%02x", static_cast<unsigned char>(c));
      t.text = buf;
    }
    return t;
  }

 private:
  void advance() {
    if (s_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  void skip_space_and_comments() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '/') {
        while (pos_ < s_.size() && s_[pos_] != '\n') advance();
      } else {
        break;
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

// The values visible in one function body: names to values, isolated per scope (a scan body sees only
// its own arguments and ops).
struct Scope {
  Function* f;
  std::map<std::string, Value> values;
};

class Parser {
 public:
  Parser(const std::string& text, std::string filename) : lexer_(text), filename_(std::move(filename)) {
    tok_ = lexer_.next();
  }

  Module module() {
    expect_word("module");
    Module m(expect(Tok::At, "a module name '@name'").text);
    expect_punct("{");
    while (!is_punct("}")) {
      if (is_word("param")) {
        param_decl(m);
      } else if (is_word("func")) {
        function(m);
      } else {
        fail("'param', 'func' or '}'");
      }
    }
    expect_punct("}");
    if (tok_.kind != Tok::End) fail("end of input after the module");
    return m;
  }

 private:
  // --- token helpers ----------------------------------------------------------------------------------
  [[noreturn]] void fail(const std::string& expected) { error_at(tok_, "expected " + expected + ", got " + describe(tok_)); }

  [[noreturn]] void error_at(const Token& t, const std::string& message) {
    throw_user_error(filename_ + ":" + std::to_string(t.line) + ":" + std::to_string(t.col) + ": " + message);
  }

  Token take() {
    Token t = tok_;
    tok_ = lexer_.next();
    return t;
  }
  bool is_punct(const char* p) const { return tok_.kind == Tok::Punct && tok_.text == p; }
  bool is_word(const char* w) const { return tok_.kind == Tok::Ident && tok_.text == w; }
  bool accept_punct(const char* p) {
    if (!is_punct(p)) return false;
    take();
    return true;
  }
  void expect_punct(const char* p) {
    if (!accept_punct(p)) fail(std::string("'") + p + "'");
  }
  void expect_word(const char* w) {
    if (!is_word(w)) fail(std::string("'") + w + "'");
    take();
  }
  Token expect(Tok kind, const std::string& what) {
    if (tok_.kind != kind) fail(what);
    return take();
  }

  int64_t integer(const std::string& what) {
    Token t = expect(Tok::Number, what);
    int64_t v = 0;
    auto res = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (res.ec != std::errc() || res.ptr != t.text.data() + t.text.size()) {
      error_at(t, "expected " + what + ", got '" + t.text + "'");
    }
    return v;
  }

  double number(const std::string& what) {
    Token t = expect(Tok::Number, what);
    std::string s = t.text;
    if (s == "inf" || s == "+inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    if (s == "nan") return NAN;
    if (!s.empty() && s[0] == '+') s.erase(0, 1);
    double v = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) error_at(t, "expected " + what + ", got '" + t.text + "'");
    return v;
  }

  // --- types --------------------------------------------------------------------------------------
  TensorType type() {
    Token t = tok_;
    if (t.kind != Tok::Ident) fail("a type such as 'f32[batch, 128]'");
    TensorType ty;
    if (!dtype_from_name(t.text, &ty.dtype)) error_at(t, "expected an element type (f32, f64, i32, i64), got '" + t.text + "'");
    take();
    expect_punct("[");
    if (!accept_punct("]")) {
      do {
        if (tok_.kind == Tok::Ident) {
          ty.shape.push_back(Dim::named(take().text));
        } else {
          Token d = tok_;
          int64_t n = integer("a dimension (a size or a symbol such as 'batch')");
          if (n < 0) error_at(d, "dimension sizes must not be negative, got " + std::to_string(n));
          ty.shape.push_back(Dim::fixed(n));
        }
      } while (accept_punct(","));
      expect_punct("]");
    }
    return ty;
  }

  // --- module level --------------------------------------------------------------------------------
  void param_decl(Module& m) {
    expect_word("param");
    Token name = expect(Tok::At, "a parameter name '@name'");
    if (m.find_param(name.text)) error_at(name, "parameter @" + name.text + " declared twice");
    expect_punct(":");
    TensorType ty = type();
    InitSpec init;
    if (is_word("init")) {
      take();
      init = init_spec();
    }
    m.declare_param(name.text, ty, init);
  }

  static std::string format_bound(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  InitSpec init_spec() {
    Token t = expect(Tok::Ident, "an initialiser (zeros, ones, uniform(lo, hi), normal(mean, std))");
    InitSpec init;
    if (t.text == "zeros") {
      init = InitSpec::zeros();
    } else if (t.text == "ones") {
      init = InitSpec::ones();
    } else if (t.text == "uniform" || t.text == "normal") {
      expect_punct("(");
      double a = number("a number");
      expect_punct(",");
      double b = number("a number");
      expect_punct(")");
      // Bounds that would fill the parameter with nan or inf, or draw from nothing, are a mistake.
      if (t.text == "uniform" && !(std::isfinite(a) && std::isfinite(b) && a <= b)) {
        error_at(t, "uniform(lo, hi) needs finite bounds with lo <= hi, got uniform(" + format_bound(a) + ", " +
                        format_bound(b) + ")");
      }
      if (t.text == "normal" && !(std::isfinite(a) && std::isfinite(b) && b >= 0)) {
        error_at(t, "normal(mean, std) needs a finite mean and a finite std >= 0, got normal(" + format_bound(a) + ", " +
                        format_bound(b) + ")");
      }
      init = t.text == "uniform" ? InitSpec::uniform(a, b) : InitSpec::normal(a, b);
    } else {
      error_at(t, "expected an initialiser (zeros, ones, uniform(lo, hi), normal(mean, std)), got '" + t.text + "'");
    }
    if (is_word("zero_row")) {
      take();
      expect_punct("(");
      init.zero_row = integer("a row index");
      expect_punct(")");
    }
    return init;
  }

  void function(Module& m) {
    expect_word("func");
    Token name = expect(Tok::At, "a function name '@name'");
    if (m.find_function(name.text)) error_at(name, "function @" + name.text + " defined twice");
    Function f(name.text);
    Scope scope{&f, {}};
    expect_punct("(");
    if (!accept_punct(")")) {
      do {
        Token arg = expect(Tok::Percent, "an argument '%name'");
        expect_punct(":");
        define(scope, arg, f.add_arg("", type()));
      } while (accept_punct(","));
      expect_punct(")");
    }
    if (tok_.kind != Tok::Arrow) fail("'->'");
    take();
    expect_punct("(");
    std::vector<TensorType> result_types;
    std::vector<std::string> result_names;
    if (!accept_punct(")")) {
      do {
        std::string rname;
        if (tok_.kind == Tok::Ident && Lexer(lexer_).next().text == ":") {
          rname = take().text;
          expect_punct(":");
        }
        result_names.push_back(rname);
        result_types.push_back(type());
      } while (accept_punct(","));
      expect_punct(")");
    }
    expect_punct("{");
    while (!is_word("return")) statement(m, scope, "return");
    Token ret = take();
    std::vector<Value> results;
    if (!is_punct("}")) results = value_list(scope);
    if (results.size() != result_types.size()) {
      error_at(ret, "return gives " + counted(results.size(), "value") + " but @" + f.name() + " declares " +
                        std::to_string(result_types.size()));
    }
    for (size_t i = 0; i < results.size(); ++i) {
      if (f.type(results[i]) != result_types[i]) {
        error_at(ret, "result " + std::to_string(i) + " of @" + f.name() + " is declared " + result_types[i].str() +
                          " but return gives " + f.type(results[i]).str());
      }
    }
    f.set_results(results, result_names);
    expect_punct("}");
    m.add_function(std::move(f));
  }


  // --- values ---------------------------------------------------------------------------------------
  void define(Scope& scope, const Token& name, Value v) {
    if (!scope.values.emplace(name.text, v).second) error_at(name, "value %" + name.text + " defined twice");
    // Numbers are what the printer gives unnamed values, so they are not kept as names (as in MLIR).
    bool numeric = name.text.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric) scope.f->set_value_name(v, name.text);
  }

  Value use(Scope& scope) {
    Token t = expect(Tok::Percent, "a value '%name'");
    auto it = scope.values.find(t.text);
    if (it == scope.values.end()) error_at(t, "use of undefined value %" + t.text);
    return it->second;
  }

  std::vector<Value> value_list(Scope& scope) {
    std::vector<Value> out{use(scope)};
    while (accept_punct(",")) out.push_back(use(scope));
    return out;
  }

  // --- statements -----------------------------------------------------------------------------------
  // `terminator` is the word that ends this body: 'return' in a function, 'yield' in a scan body.
  void statement(Module& m, Scope& scope, const char* terminator) {
    std::vector<Token> names;
    if (tok_.kind != Tok::Percent) fail(std::string("a statement '%name = op ...' or '") + terminator + "'");
    do {
      names.push_back(expect(Tok::Percent, "a result name '%name'"));
    } while (accept_punct(","));
    expect_punct("=");
    Token op_tok = expect(Tok::Ident, "an op name");
    OpKind op;
    if (!op_from_name(op_tok.text, &op) || op == OpKind::Arg || op == OpKind::Return) {
      error_at(op_tok, "unknown op '" + op_tok.text + "'");
    }
    NodeId n;
    if (op == OpKind::Param) {
      n = param_op(m, scope);
    } else if (op == OpKind::Constant) {
      double value = number("the constant's value");
      expect_punct(":");
      n = build(scope, op_tok, op, {}, Attrs().set("value", value), {type()}, nullptr);
    } else if (op == OpKind::Scan) {
      n = scan_op(m, scope, op_tok);
    } else if (op == OpKind::Fused) {
      n = fused_op(m, scope, op_tok);
    } else {
      n = generic_op(scope, op_tok, op);
    }
    const NodeData& d = scope.f->node(n);
    if (names.size() != d.types.size()) {
      error_at(names[0], std::string(op_name(op)) + " gives " + counted(d.types.size(), "result") + ", but " +
                             counted(names.size(), "name") + (names.size() == 1 ? " is" : " are") + " bound");
    }
    for (size_t r = 0; r < names.size(); ++r) define(scope, names[r], Value{n, static_cast<int>(r)});
  }

  NodeId param_op(Module& m, Scope& scope) {
    Token name = expect(Tok::At, "a parameter name '@name'");
    expect_punct(":");
    Token type_tok = tok_;
    TensorType ty = type();
    const ParamDecl* decl = m.find_param(name.text);
    if (!decl) error_at(name, "use of undeclared parameter @" + name.text);
    if (decl->type != ty) {
      error_at(type_tok, "parameter @" + name.text + " is declared " + decl->type.str() + " but used as " + ty.str());
    }
    return scope.f->add_node(OpKind::Param, {}, Attrs().set("name", name.text), {ty});
  }

  // `op %a, %b {attr = v, flag} : type`
  NodeId generic_op(Scope& scope, const Token& op_tok, OpKind op) {
    std::vector<Value> operands;
    if (tok_.kind == Tok::Percent) operands = value_list(scope);
    Attrs attrs;
    attr_dict(op, attrs);
    expect_punct(":");
    std::vector<TensorType> annotated{type()};
    while (accept_punct(",")) annotated.push_back(type());
    return build(scope, op_tok, op, operands, std::move(attrs), annotated, nullptr);
  }

  // `{key = value, flag}`, if present, into attrs.
  void attr_dict(OpKind op, Attrs& attrs) {
    if (!accept_punct("{")) return;
    do {
      Token key = expect(Tok::Ident, "an attribute name");
      if (attrs.has(key.text)) error_at(key, "attribute '" + key.text + "' given twice");
      if (accept_punct("=")) {
        attrs.set(key.text, attr_value(op, key.text));
      } else {
        attrs.set_flag(key.text);
      }
    } while (accept_punct(","));
    expect_punct("}");
  }

  // The op's spec says which kind a value must be; a bare integer is accepted where a float is expected.
  AttrValue attr_value(OpKind op, const std::string& key) {
    std::optional<AttrKind> want;
    for (const AttrSpec& s : op_info(op).attrs) {
      if (key == s.name) want = s.kind;
    }
    if (accept_punct("[")) {
      std::vector<int64_t> list;
      if (!accept_punct("]")) {
        do {
          list.push_back(integer("an integer"));
        } while (accept_punct(","));
        expect_punct("]");
      }
      return list;
    }
    if (tok_.kind == Tok::Ident) return take().text;
    if (tok_.kind != Tok::Number) fail("an attribute value");
    bool looks_float = tok_.text.find_first_of(".eEni") != std::string::npos;
    if (want == AttrKind::Float || looks_float) return number("a number");
    return integer("an integer");
  }

  // Builds the node with the op's type rule, then holds the written types against the inferred ones.
  NodeId build(Scope& scope, const Token& op_tok, OpKind op, const std::vector<Value>& operands, Attrs attrs,
               const std::vector<TensorType>& annotated, std::unique_ptr<Function> body) {
    std::vector<TensorType> declared = op_info(op).declares_type ? annotated : std::vector<TensorType>{};
    NodeId n;
    try {
      n = scope.f->add_node(op, operands, std::move(attrs), declared, std::move(body));
    } catch (const UserError& e) {
      error_at(op_tok, e.what());
    }
    const std::vector<TensorType>& inferred = scope.f->node(n).types;
    if (inferred.size() != annotated.size()) {
      error_at(op_tok, std::string(op_name(op)) + " gives " + counted(inferred.size(), "result") + " but " +
                           counted(annotated.size(), "type") + (annotated.size() == 1 ? " is" : " are") + " written");
    }
    for (size_t r = 0; r < inferred.size(); ++r) {
      if (inferred[r] != annotated[r]) {
        error_at(op_tok, std::string("type mismatch: ") + op_name(op) + " gives " + inferred[r].str() +
                             " but the text says " + annotated[r].str());
      }
    }
    return n;
  }

  // scan DIR [lengths(%l)] carry(%a = %x, …) seq(%b = %y, …) invariant(%c = %z, …) { … yield next(…) out(…) }
  //   : types
  NodeId scan_op(Module& m, Scope& outer, const Token& op_tok) {
    Attrs attrs;
    attr_dict(OpKind::Scan, attrs);
    Token dir = expect(Tok::Ident, "a direction (forward or reverse)");
    if (dir.text != "forward" && dir.text != "reverse") {
      error_at(dir, "expected a direction (forward or reverse), got '" + dir.text + "'");
    }
    std::vector<Value> operands;
    attrs.set("direction", dir.text);
    int64_t unroll = 1;
    if (is_word("unroll")) {
      take();
      expect_punct("(");
      Token k = tok_;
      unroll = integer("an unroll factor");
      if (unroll < 1) error_at(k, "unroll factor must be >= 1, got " + std::to_string(unroll));
      expect_punct(")");
      attrs.set("unroll", unroll);
    }
    if (is_word("lengths")) {
      take();
      expect_punct("(");
      operands.push_back(use(outer));
      expect_punct(")");
      attrs.set_flag("lengths");
    }
    auto body = std::make_unique<Function>("body");
    Scope inner{body.get(), {}};
    // Each entry binds body arguments to one outer value: `%a = %x`, or for an unrolled sequence one
    // argument per sub-step, `%a0, %a1 = %x`. Sequence arguments are added step-major once the group is read.
    std::vector<std::vector<std::pair<Token, TensorType>>> sequence_args;
    auto group = [&](const char* keyword, bool is_sequence) {
      expect_word(keyword);
      expect_punct("(");
      int64_t count = 0;
      if (!accept_punct(")")) {
        do {
          std::vector<Token> names{expect(Tok::Percent, "a body argument '%name'")};
          while (accept_punct(",")) names.push_back(expect(Tok::Percent, "a body argument '%name'"));
          int64_t want = is_sequence ? unroll : 1;
          if (static_cast<int64_t>(names.size()) != want) {
            error_at(names[0], std::string(keyword) + " binds " + counted(want, "body argument") + " per value, got " +
                                   std::to_string(names.size()));
          }
          expect_punct("=");
          Token bound_tok = tok_;
          Value bound = use(outer);
          TensorType t = outer.f->type(bound);
          if (is_sequence) {
            if (t.rank() < 1) error_at(bound_tok, "a scanned sequence needs a time dimension, got " + t.str());
            t.shape.erase(t.shape.begin());
            std::vector<std::pair<Token, TensorType>> args;
            for (const Token& name : names) args.push_back({name, t});
            sequence_args.push_back(args);
          } else {
            define(inner, names[0], body->add_arg("", t));
          }
          operands.push_back(bound);
          ++count;
        } while (accept_punct(","));
        expect_punct(")");
      }
      return count;
    };
    attrs.set("carries", group("carry", false));
    attrs.set("sequences", group("seq", true));
    for (int64_t u = 0; u < unroll; ++u) {
      for (const auto& args : sequence_args) define(inner, args[u].first, body->add_arg("", args[u].second));
    }
    attrs.set("invariants", group("invariant", false));
    expect_punct("{");
    while (!is_word("yield")) statement(m, inner, "yield");
    Token yield = take();
    expect_word("next");
    expect_punct("(");
    std::vector<Value> results;
    if (!accept_punct(")")) {
      results = value_list(inner);
      expect_punct(")");
    }
    if (static_cast<int64_t>(results.size()) != attrs.get_int("carries")) {
      error_at(yield, "yield next() gives " + counted(results.size(), "value") + " for " +
                          counted(attrs.get_int("carries"), "carry"));
    }
    expect_word("out");
    expect_punct("(");
    if (!accept_punct(")")) {
      for (Value v : value_list(inner)) results.push_back(v);
      expect_punct(")");
    }
    body->set_results(results);
    expect_punct("}");
    expect_punct(":");
    std::vector<TensorType> annotated{type()};
    while (accept_punct(",")) annotated.push_back(type());
    return build(outer, op_tok, OpKind::Scan, operands, std::move(attrs), annotated, std::move(body));
  }

  // fused(%a = %x, …) { … yield %r, … } : types
  NodeId fused_op(Module& m, Scope& outer, const Token& op_tok) {
    auto body = std::make_unique<Function>("body");
    Scope inner{body.get(), {}};
    std::vector<Value> operands;
    Attrs attrs;
    attr_dict(OpKind::Fused, attrs);
    expect_punct("(");
    if (!accept_punct(")")) {
      do {
        Token arg = expect(Tok::Percent, "a body argument '%name'");
        expect_punct("=");
        Value bound = use(outer);
        define(inner, arg, body->add_arg("", outer.f->type(bound)));
        operands.push_back(bound);
      } while (accept_punct(","));
      expect_punct(")");
    }
    expect_punct("{");
    while (!is_word("yield")) statement(m, inner, "yield");
    take();
    std::vector<Value> results;
    if (!is_punct("}")) results = value_list(inner);
    body->set_results(results);
    expect_punct("}");
    expect_punct(":");
    std::vector<TensorType> annotated{type()};
    while (accept_punct(",")) annotated.push_back(type());
    return build(outer, op_tok, OpKind::Fused, operands, std::move(attrs), annotated, std::move(body));
  }

  Lexer lexer_;
  std::string filename_;
  Token tok_;
};

}  // namespace

Module parse_module(const std::string& text, const std::string& filename) { return Parser(text, filename).module(); }

}  // namespace rnnc::ir
