#include "frontend/expr.h"

#include <cctype>
#include <cmath>

#include "ir/error.h"

namespace rnnc::dsl {

using ir::Attrs;
using ir::OpKind;

const ir::TensorType& Expr::type() const {
  RNNC_USER_CHECK(defined()) << "use of an undefined expression (an Expr that was never assigned)";
  return scope_->function().type(value_);
}

const Expr& Expr::named(const std::string& name) const {
  RNNC_USER_CHECK(defined()) << "naming an undefined expression '" << name << "'";
  check_name(name, "value name");
  scope_->function().set_value_name(value_, name);
  return *this;
}

void check_name(const std::string& name, const std::string& what) {
  bool ok = !name.empty();
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '.' || c == '-');
  }
  // A leading letter keeps names apart from numbers (the printer's names for unnamed values) and lets
  // every name parse back wherever the text puts it.
  ok = ok && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  RNNC_USER_CHECK(ok) << "invalid " << what << " '" << name
                      << "': start with a letter or '_', then letters, digits, '_', '.' and '-'";
}

Scope::Scope(ir::Module& module, ir::Function& function, std::string description)
    : module_(module), function_(function), description_(std::move(description)) {}

void Scope::fail(const std::string& message) const {
  throw_user_error("in " + description_ + ": " + message);
}

ir::NodeId Scope::add_node(ir::OpKind op, const std::vector<Expr>& operands, Attrs attrs,
                           std::vector<ir::TensorType> declared, std::unique_ptr<ir::Function> body) {
  std::vector<ir::Value> values;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Expr& e = operands[i];
    if (!e.defined()) fail(std::string(ir::op_name(op)) + ": operand " + std::to_string(i) + " is an undefined expression");
    if (e.scope() != this) {
      fail(std::string(ir::op_name(op)) + ": operand " + std::to_string(i) + " belongs to " +
           e.scope()->description() + ", not here (a cell sees the model only through its input, states and parameters)");
    }
    values.push_back(e.value());
  }
  try {
    return function_.add_node(op, values, std::move(attrs), std::move(declared), std::move(body));
  } catch (const UserError& e) {
    fail(e.what());
  }
}

Expr Scope::add(ir::OpKind op, const std::vector<Expr>& operands, Attrs attrs) {
  ir::NodeId n = add_node(op, operands, std::move(attrs), {}, nullptr);
  return Expr(this, ir::Value{n, 0});
}

Expr Scope::constant(double value, const ir::Shape& shape, ir::DType dtype) {
  ir::NodeId n = add_node(OpKind::Constant, {}, Attrs().set("value", value), {ir::TensorType{dtype, shape}}, nullptr);
  return Expr(this, ir::Value{n, 0});
}

Expr Scope::linear(const Expr& x, const std::string& weight, int64_t out, const std::string& bias) {
  const ir::TensorType& t = x.type();
  if (t.rank() < 1 || t.shape.back().is_symbolic()) {
    fail("linear '" + weight + "': input " + t.str() + " needs a static last (feature) dimension");
  }
  if (out < 1) fail("linear '" + weight + "': output size must be positive, got " + std::to_string(out));
  int64_t in = t.shape.back().size;
  ir::InitSpec init = default_init(in);
  Expr w = param(weight, {ir::Dim::fixed(out), ir::Dim::fixed(in)}, init);
  Expr y = matmul(x, w, /*transpose_b=*/true);
  if (!bias.empty()) y = y + param(bias, {ir::Dim::fixed(out)}, init);
  return y;
}

namespace {

Expr binary(OpKind op, const Expr& a, const Expr& b) {
  Scope* s = a.defined() ? a.scope() : b.scope();
  RNNC_USER_CHECK(s) << ir::op_name(op) << ": both operands are undefined expressions";
  return s->add(op, {a, b});
}

Expr scalar_like(double v, const Expr& like) {
  RNNC_USER_CHECK(like.defined()) << "arithmetic with an undefined expression";
  return like.scope()->constant(v, {}, like.type().dtype);
}

Expr unary(OpKind op, const Expr& x) {
  RNNC_USER_CHECK(x.defined()) << ir::op_name(op) << ": operand is an undefined expression";
  return x.scope()->add(op, {x});
}

int resolve_axis(const Expr& x, int axis, const char* op) {
  int rank = x.type().rank();
  int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) x.scope()->fail(std::string(op) + ": axis " + std::to_string(axis) + " out of range for " + x.type().str());
  return a;
}

}  // namespace

Expr operator+(const Expr& a, const Expr& b) { return binary(OpKind::Add, a, b); }
Expr operator-(const Expr& a, const Expr& b) { return binary(OpKind::Sub, a, b); }
Expr operator*(const Expr& a, const Expr& b) { return binary(OpKind::Mul, a, b); }
Expr operator/(const Expr& a, const Expr& b) { return binary(OpKind::Div, a, b); }
Expr operator-(const Expr& a) { return unary(OpKind::Neg, a); }
Expr operator+(double a, const Expr& b) { return scalar_like(a, b) + b; }
Expr operator+(const Expr& a, double b) { return a + scalar_like(b, a); }
Expr operator-(double a, const Expr& b) { return scalar_like(a, b) - b; }
Expr operator-(const Expr& a, double b) { return a - scalar_like(b, a); }
Expr operator*(double a, const Expr& b) { return scalar_like(a, b) * b; }
Expr operator*(const Expr& a, double b) { return a * scalar_like(b, a); }
Expr operator/(const Expr& a, double b) { return a / scalar_like(b, a); }

Expr sigmoid(const Expr& x) { return unary(OpKind::Sigmoid, x); }
Expr tanh(const Expr& x) { return unary(OpKind::Tanh, x); }
Expr relu(const Expr& x) { return unary(OpKind::Relu, x); }
Expr exp(const Expr& x) { return unary(OpKind::Exp, x); }
Expr log(const Expr& x) { return unary(OpKind::Log, x); }

Expr matmul(const Expr& a, const Expr& b, bool transpose_b) {
  Attrs attrs;
  if (transpose_b) attrs.set_flag("transpose_b");
  RNNC_USER_CHECK(a.defined()) << "matmul: operand 0 is an undefined expression";
  return a.scope()->add(OpKind::MatMul, {a, b}, std::move(attrs));
}

Expr concat(const std::vector<Expr>& parts, int axis) {
  RNNC_USER_CHECK(!parts.empty() && parts[0].defined()) << "concat: needs at least one defined operand";
  int a = resolve_axis(parts[0], axis, "concat");
  return parts[0].scope()->add(OpKind::Concat, parts, Attrs().set("axis", int64_t{a}));
}

Expr slice(const Expr& x, int64_t start, int64_t size, int axis) {
  RNNC_USER_CHECK(x.defined()) << "slice: operand is an undefined expression";
  int a = resolve_axis(x, axis, "slice");
  return x.scope()->add(OpKind::Slice, {x}, Attrs().set("axis", int64_t{a}).set("start", start).set("size", size));
}

std::vector<Expr> split(const Expr& x, int parts, int axis) {
  RNNC_USER_CHECK(x.defined()) << "split: operand is an undefined expression";
  int a = resolve_axis(x, axis, "split");
  const ir::Dim& d = x.type().shape[a];
  if (parts < 1 || d.is_symbolic() || d.size % parts != 0) {
    x.scope()->fail("split: cannot cut dimension " + std::to_string(a) + " of " + x.type().str() + " into " +
                    std::to_string(parts) + " equal parts");
  }
  std::vector<Expr> out;
  int64_t size = d.size / parts;
  for (int i = 0; i < parts; ++i) out.push_back(slice(x, i * size, size, a));
  return out;
}

Expr layer_norm(const Expr& x, double eps) {
  RNNC_USER_CHECK(x.defined()) << "layer_norm: operand is an undefined expression";
  return x.scope()->add(OpKind::LayerNorm, {x}, Attrs().set("eps", eps));
}

Expr layer_norm(const Expr& x, const Expr& gamma, const Expr& beta, double eps) {
  RNNC_USER_CHECK(x.defined()) << "layer_norm: operand is an undefined expression";
  return x.scope()->add(OpKind::LayerNorm, {x, gamma, beta}, Attrs().set("eps", eps));
}

Expr softmax(const Expr& x) { return unary(OpKind::Softmax, x); }

Expr reduce_sum(const Expr& x, const std::vector<int64_t>& axes) {
  RNNC_USER_CHECK(x.defined()) << "reduce_sum: operand is an undefined expression";
  return x.scope()->add(OpKind::ReduceSum, {x}, Attrs().set("axes", axes));
}

Expr cross_entropy(const Expr& logits, const Expr& labels) { return binary(OpKind::CrossEntropy, logits, labels); }
Expr mse(const Expr& prediction, const Expr& target) { return binary(OpKind::Mse, prediction, target); }

}  // namespace rnnc::dsl
