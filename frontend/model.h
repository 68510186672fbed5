// The model level of the DSL: inputs, embedding, recurrent layers built from any cell (stacked,
// bidirectional, dropout between layers, variable lengths), linear heads and losses. A Model is a
// Scope over the module's @forward function.
//
//   Model m("imdb-classifier");
//   Expr text = m.input("tokens", DType::I32, {time_dim(), batch_dim()});
//   Expr lengths = m.input("lengths", DType::I32, {batch_dim()});
//   Expr embedded = m.dropout(m.embedding("embedding", text, 25003, 100, /*padding_idx=*/1), 0.3);
//   auto lstm = m.recurrent("lstm", cells::lstm(), embedded,
//                           {.hidden_size = 128, .num_layers = 2, .dropout = 0.3, .lengths = lengths});
//   Expr logits = m.linear("fc", m.dropout(lstm.last_hidden, 0.3), 2);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/cell.h"
#include "frontend/expr.h"

namespace rnnc::dsl {

struct RecurrentOptions {
  int64_t hidden_size = 0;
  int num_layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;  // on each layer's output except the last, as PyTorch applies it
  Expr lengths;          // i32[batch]; left undefined, every sequence runs the full time dimension
  // Initial states by name, one map per layer and direction (index layer * directions + direction, as
  // PyTorch lays out h0); a state not given starts at zero.
  std::vector<std::map<std::string, Expr>> initial_states;
};

// One layer in one direction.
struct LayerResult {
  Expr sequence;                         // the step outputs stacked over time: [time, batch, size]
  std::vector<std::string> state_names;  // in the cell's declaration order
  std::map<std::string, Expr> final;     // each state at each sequence's own last step
  Expr last_output;                    // the final value of the state that is the output (undefined if none)
};

struct RecurrentResult {
  Expr sequence;  // the last layer's outputs, directions concatenated: [time, batch, directions * size]
  std::vector<std::string> state_names;                    // in the cell's declaration order
  std::vector<std::map<std::string, Expr>> final_states;  // index layer * directions + direction
  // The last layer's final output state, directions concatenated: PyTorch's hidden[-1] (one direction)
  // or cat(hidden[-2], hidden[-1]) (two).
  Expr last_hidden;
};

namespace detail {
// Owns the module so that it exists before the Scope base that refers to it.
struct ModelStorage {
  explicit ModelStorage(const std::string& name);
  std::unique_ptr<ir::Module> owned_module;
  ir::Function* forward_function;
};
}  // namespace detail

class Model : private detail::ModelStorage, public Scope {
 public:
  explicit Model(const std::string& name);

  Expr input(const std::string& name, ir::DType dtype, const ir::Shape& shape);
  Expr embedding(const std::string& name, const Expr& ids, int64_t vocab, int64_t dim, int64_t padding_idx = -1);
  // nn.Linear: parameters <name>.weight [out, in] and <name>.bias [out].
  Expr linear(const std::string& name, const Expr& x, int64_t out, bool bias = true);
  using Scope::linear;
  // Training-time dropout; the model gains an i64[] `seed` argument on first use.
  Expr dropout(const Expr& x, double p);

  RecurrentResult recurrent(const std::string& name, const CellDef& cell, const Expr& x, const RecurrentOptions& options);
  // One layer in one direction over x [time, batch, features]: the building block of recurrent().
  LayerResult recurrent_layer(const std::string& name, const CellDef& cell, const Expr& x, int64_t hidden_size,
                              bool reverse, const Expr& lengths, const std::map<std::string, Expr>& initial_states);

  void output(const std::string& name, const Expr& value);
  // Ends the definition: sets @forward's results, verifies the module and hands it over.
  ir::Module finish();

  Expr param(const std::string& name, const ir::Shape& shape, ir::InitSpec init) override;
  // A reference to a parameter some cell has already declared.
  Expr param_ref(const std::string& full_name);
  // nn.Linear's default: weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  ir::InitSpec default_init(int64_t fan_in) const override;

 private:
  std::vector<std::pair<std::string, Expr>> outputs_;
  Expr seed_;
  int64_t dropout_sites_ = 0;
  bool finished_ = false;
};

}  // namespace rnnc::dsl
