// The DSL's expressions: an Expr is a handle on one IR value inside a Scope (a model's function or a
// cell's step). Operators and free functions add ops to that scope as the C++ runs; every shape is
// checked on the spot, and a mistake is a UserError naming the op, the scope (cell/layer) and the shapes.
//
//   Expr i = sigmoid(c.linear(x, "W_ii", H, "b_ii") + c.linear(h, "W_hi", H, "b_hi"));
#pragma once

#include <string>
#include <vector>

#include "ir/function.h"

namespace rnnc::dsl {

class Scope;

class Expr {
 public:
  Expr() = default;
  Expr(Scope* scope, ir::Value value) : scope_(scope), value_(value) {}

  bool defined() const { return scope_ != nullptr; }
  Scope* scope() const { return scope_; }
  ir::Value value() const { return value_; }
  const ir::TensorType& type() const;
  // Gives the value a readable name in the printed IR; returns *this for chaining.
  const Expr& named(const std::string& name) const;

 private:
  Scope* scope_ = nullptr;
  ir::Value value_;
};

// Where ops are built. Subclasses decide what a parameter is: a model references a module parameter
// directly; a cell's step receives it as an invariant of its scan.
class Scope {
 public:
  Scope(ir::Module& module, ir::Function& function, std::string description);
  virtual ~Scope() = default;
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // "cell 'lstm' in layer 'rnn.l0'" or "model 'imdb-classifier'": prefixed to every error.
  const std::string& description() const { return description_; }
  ir::Module& module() { return module_; }
  ir::Function& function() { return function_; }

  // A trainable parameter named `name` (prefixed with the scope's parameter prefix). Using one name with
  // two shapes is an error naming both.
  virtual Expr param(const std::string& name, const ir::Shape& shape, ir::InitSpec init) = 0;
  // The initialiser `linear` gives weights and biases of this scope (PyTorch's, per layer kind).
  virtual ir::InitSpec default_init(int64_t fan_in) const = 0;

  // x · Wᵀ (+ b): W is [out, in] as PyTorch stores it; the bias is added when `bias` names one.
  Expr linear(const Expr& x, const std::string& weight, int64_t out, const std::string& bias = "");
  Expr constant(double value, const ir::Shape& shape = {}, ir::DType dtype = ir::DType::F32);

  // Adds an op, prefixing any error with this scope's description. The low-level door for ops
  // without a free function.
  Expr add(ir::OpKind op, const std::vector<Expr>& operands, ir::Attrs attrs = {});
  ir::NodeId add_node(ir::OpKind op, const std::vector<Expr>& operands, ir::Attrs attrs,
                      std::vector<ir::TensorType> declared, std::unique_ptr<ir::Function> body);

  [[noreturn]] void fail(const std::string& message) const;

 private:
  ir::Module& module_;
  ir::Function& function_;
  std::string description_;
};

// Checks that `name` can be printed and parsed back as an IR name.
void check_name(const std::string& name, const std::string& what);

Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);
Expr operator-(const Expr& a);
Expr operator+(double a, const Expr& b);
Expr operator+(const Expr& a, double b);
Expr operator-(double a, const Expr& b);
Expr operator-(const Expr& a, double b);
Expr operator*(double a, const Expr& b);
Expr operator*(const Expr& a, double b);
Expr operator/(const Expr& a, double b);

Expr sigmoid(const Expr& x);
Expr tanh(const Expr& x);
Expr relu(const Expr& x);
Expr exp(const Expr& x);
Expr log(const Expr& x);

// a[..., K] · b[K, N]; with transpose_b, b is [N, K].
Expr matmul(const Expr& a, const Expr& b, bool transpose_b = false);
Expr concat(const std::vector<Expr>& parts, int axis = -1);
Expr slice(const Expr& x, int64_t start, int64_t size, int axis = -1);
// `parts` equal pieces along `axis` (which must divide evenly).
std::vector<Expr> split(const Expr& x, int parts, int axis = -1);
Expr layer_norm(const Expr& x, double eps = 1e-5);
Expr layer_norm(const Expr& x, const Expr& gamma, const Expr& beta, double eps = 1e-5);
Expr softmax(const Expr& x);
Expr reduce_sum(const Expr& x, const std::vector<int64_t>& axes);
Expr cross_entropy(const Expr& logits, const Expr& labels);
Expr mse(const Expr& prediction, const Expr& target);

}  // namespace rnnc::dsl
