// The built-in model zoo that `rnnc ir MODEL` (and later `rnnc compile`, the benchmarks and the tests)
// build by name.
//
// The cell models (rnn-tanh, rnn-relu, lstm, gru, peephole-lstm, layernorm-lstm) run a recurrent stack
// over x: f32[time, batch, input] with lengths: i32[batch] and return the last layer's outputs `y` and
// every final state of every layer and direction (`h_n.l0`, `c_n.l0`, `h_n.l0_reverse`, …). imdb-classifier is the seed's LSTMClassifier.
#pragma once

#include <string>
#include <vector>

#include "frontend/cell.h"
#include "ir/function.h"

namespace rnnc::zoo {

struct ZooOptions {
  int64_t input_size = 16;
  int64_t hidden_size = 32;
  int num_layers = 1;
  bool bidirectional = false;
  bool lengths = true;  // variable sequence lengths (an i32[batch] input)
};

// The seed's settings: vocabulary 25k + <unk> <pad> <bos>, embedding 100, hidden 128, 2 layers, dropout 0.3.
struct ImdbClassifierOptions {
  int64_t vocab_size = 25003;
  int64_t embed_dim = 100;
  int64_t hidden_size = 128;
  int num_layers = 2;
  double dropout = 0.3;
  int64_t padding_idx = 1;
  int64_t num_classes = 2;
  bool bidirectional = false;
};

// The examples' models (examples/char_lm, examples/births_forecast), here so that tests check them too.
struct CharLmOptions {
  int64_t vocab_size = 83;
  int64_t embed_dim = 32;
  int64_t hidden_size = 256;
  int num_layers = 1;
};
struct ForecasterOptions {
  int64_t features = 10;
  int64_t hidden_size = 32;
};

std::vector<std::string> model_names();
bool has_model(const std::string& name);
// The cell behind a cell model's name; UserError for an unknown name.
dsl::CellDef cell_by_name(const std::string& name);

ir::Module build_cell_model(const std::string& cell_name, const ZooOptions& options);
ir::Module build_imdb_classifier(const ImdbClassifierOptions& options);
ir::Module build_char_lm(const CharLmOptions& options);
ir::Module build_forecaster(const ForecasterOptions& options);
// Any zoo model by name, with the options that apply to it.
ir::Module build_model(const std::string& name, const ZooOptions& options = {},
                       const ImdbClassifierOptions& imdb = {});

}  // namespace rnnc::zoo
