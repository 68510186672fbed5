// The cell level of the DSL: one time step of a recurrent layer, written as its equations read.
//
//   CellDef lstm{"lstm", [](Cell& c) {
//     Expr x = c.input(), h = c.state("h"), cs = c.state("c");
//     auto gate = [&](const std::string& g) {
//       return c.linear(x, "W_i" + g, c.hidden_size(), "b_i" + g) + c.linear(h, "W_h" + g, c.hidden_size(), "b_h" + g);
//     };
//     Expr c_next = sigmoid(gate("f")) * cs + sigmoid(gate("i")) * tanh(gate("g"));
//     c.next("c", c_next);
//     c.next("h", sigmoid(gate("o")) * tanh(c_next));
//   }};
//
// A Cell is a Scope whose function is the body of a scan: its states become the scan's carries, its
// input the scanned sequence, its parameters the scan's invariants. The step output defaults to the next
// value of the first state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/expr.h"

namespace rnnc::dsl {

class Cell;

struct CellDef {
  std::string name;
  std::function<void(Cell&)> define;
};

// The scan body a cell turned into, with what the layer needs to wire it up.
struct BuiltCell {
  std::unique_ptr<ir::Function> body;          // args: states…, input, params…; results: next states…, output
  std::vector<std::string> state_names;        // carry order
  std::vector<ir::TensorType> state_types;
  std::vector<std::string> param_names;        // invariant order, full module names
  int output_state = -1;                       // the state whose next value is the output, if any
};

namespace detail {
// Owns the body so that it exists before the Scope base that refers to it.
struct CellBody {
  std::unique_ptr<ir::Function> body = std::make_unique<ir::Function>("body");
};
}  // namespace detail

class Cell : private detail::CellBody, public Scope {
 public:
  // `param_prefix` names the layer ("rnn.l0"); parameters become @<prefix>.<name>.
  Cell(ir::Module& module, const std::string& cell_name, const std::string& param_prefix, int64_t input_size,
       int64_t hidden_size, const ir::Dim& batch);

  Expr input() const { return input_; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }

  // Declares a recurrent state [batch, size] (size defaults to the hidden size) and returns its value at
  // the start of the step.
  Expr state(const std::string& name, int64_t size = -1);
  // A declared state's value at the start of the step; naming an undeclared one is an error.
  Expr get_state(const std::string& name) const;
  // The state's value for the next step; its type must equal the state's.
  void next(const std::string& name, const Expr& value);
  void next(const Expr& state, const Expr& value);
  // The per-step output (what the layer stacks over time).
  void output(const Expr& value);

  using Scope::param;
  Expr param(const std::string& name, const ir::Shape& shape, ir::InitSpec init) override;
  // A parameter with the cell's default initialiser.
  Expr param(const std::string& name, const ir::Shape& shape);
  // PyTorch's RNN layers draw every weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden)).
  ir::InitSpec default_init(int64_t fan_in) const override;

  // Checks that every state has a next value and turns the cell into a scan body.
  BuiltCell finish();

 private:
  struct State {
    std::string name;
    Expr value;
    Expr next;
  };
  State* find_state(const std::string& name);

  std::string cell_name_;
  std::string param_prefix_;
  int64_t input_size_, hidden_size_;
  ir::Dim batch_;
  Expr input_;
  std::vector<State> states_;
  std::map<std::string, Expr> params_;
  std::vector<std::string> param_order_;
  Expr output_;
};

}  // namespace rnnc::dsl
