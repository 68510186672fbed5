#include "frontend/zoo.h"

#include "frontend/cells.h"
#include "frontend/model.h"
#include "ir/error.h"

namespace rnnc::zoo {

using dsl::Expr;
using dsl::Model;
using ir::DType;
using ir::batch_dim;
using ir::time_dim;

namespace {

const std::vector<std::pair<std::string, dsl::CellDef (*)()>>& cell_table() {
  static const std::vector<std::pair<std::string, dsl::CellDef (*)()>> table = {
      {"rnn-tanh", cells::rnn_tanh},
      {"rnn-relu", cells::rnn_relu},
      {"lstm", cells::lstm},
      {"gru", [] { return cells::gru(); }},
      {"peephole-lstm", cells::peephole_lstm},
      {"layernorm-lstm", cells::layernorm_lstm},
  };
  return table;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : cell_table()) names.push_back(entry.first);
  names.push_back("imdb-classifier");
  return names;
}

bool has_model(const std::string& name) {
  for (const std::string& n : model_names()) {
    if (n == name) return true;
  }
  return false;
}

dsl::CellDef cell_by_name(const std::string& name) {
  for (const auto& entry : cell_table()) {
    if (entry.first == name) return entry.second();
  }
  std::string known;
  for (const auto& entry : cell_table()) known += (known.empty() ? "" : ", ") + entry.first;
  throw_user_error("unknown cell '" + name + "' (known: " + known + ")");
}

ir::Module build_cell_model(const std::string& cell_name, const ZooOptions& o) {
  dsl::CellDef cell = cell_by_name(cell_name);
  RNNC_USER_CHECK(o.input_size >= 1 && o.hidden_size >= 1 && o.num_layers >= 1)
      << "model '" << cell_name << "': input size, hidden size and layers must be positive";
  Model m(cell_name);
  Expr x = m.input("x", DType::F32, {time_dim(), batch_dim(), ir::Dim::fixed(o.input_size)});
  dsl::RecurrentOptions options{.hidden_size = o.hidden_size, .num_layers = o.num_layers, .bidirectional = o.bidirectional};
  if (o.lengths) options.lengths = m.input("lengths", DType::I32, {batch_dim()});
  dsl::RecurrentResult rnn = m.recurrent("rnn", cell, x, options);
  m.output("y", rnn.sequence);
  // One output per layer, direction and state: h_n.l0, c_n.l0, h_n.l0_reverse, ...
  int directions = o.bidirectional ? 2 : 1;
  for (size_t k = 0; k < rnn.final_states.size(); ++k) {
    std::string suffix = ".l" + std::to_string(k / directions) + (k % directions ? "_reverse" : "");
    for (const std::string& state : rnn.state_names) m.output(state + "_n" + suffix, rnn.final_states[k].at(state));
  }
  return m.finish();
}

ir::Module build_imdb_classifier(const ImdbClassifierOptions& o) {
  // The seed's LSTMClassifier, line for line:
  //   embedded = dropout(embedding(text)); _, (hidden, _) = lstm(pack(embedded, lengths))
  //   return fc(dropout(hidden[-1]))
  Model m("imdb-classifier");
  Expr text = m.input("tokens", DType::I32, {time_dim(), batch_dim()});
  Expr lengths = m.input("lengths", DType::I32, {batch_dim()});
  Expr labels = m.input("labels", DType::I32, {batch_dim()});
  Expr embedded = m.dropout(m.embedding("embedding", text, o.vocab_size, o.embed_dim, o.padding_idx), o.dropout);
  dsl::RecurrentResult lstm = m.recurrent("lstm", cells::lstm(), embedded,
                                          {.hidden_size = o.hidden_size,
                                           .num_layers = o.num_layers,
                                           .bidirectional = o.bidirectional,
                                           .dropout = o.dropout,
                                           .lengths = lengths});
  Expr logits = m.linear("fc", m.dropout(lstm.last_hidden, o.dropout), o.num_classes).named("logits");
  m.output("loss", cross_entropy(logits, labels).named("loss"));
  m.output("logits", logits);
  return m.finish();
}

ir::Module build_char_lm(const CharLmOptions& o) {
  // Next-symbol prediction at every step: logits [time, batch, vocab] against the text shifted by one.
  Model m("char-lm");
  Expr text = m.input("text", DType::I32, {time_dim(), batch_dim()});
  Expr next = m.input("next", DType::I32, {time_dim(), batch_dim()});
  dsl::RecurrentResult lstm = m.recurrent("lstm", cells::lstm(), m.embedding("embedding", text, o.vocab_size, o.embed_dim),
                                          {.hidden_size = o.hidden_size, .num_layers = o.num_layers});
  Expr logits = m.linear("head", lstm.sequence, o.vocab_size).named("logits");
  m.output("loss", cross_entropy(logits, next).named("loss"));
  m.output("logits", logits);
  return m.finish();
}

ir::Module build_forecaster(const ForecasterOptions& o) {
  // A window of feature vectors in, the next value out, squared error.
  Model m("forecaster");
  Expr x = m.input("x", DType::F32, {time_dim(), batch_dim(), ir::Dim::fixed(o.features)});
  Expr target = m.input("target", DType::F32, {batch_dim(), ir::Dim::fixed(1)});
  dsl::RecurrentResult gru = m.recurrent("gru", cells::gru(), x, {.hidden_size = o.hidden_size});
  Expr prediction = m.linear("head", gru.last_hidden, 1).named("prediction");
  m.output("loss", mse(prediction, target).named("loss"));
  m.output("prediction", prediction);
  return m.finish();
}

ir::Module build_model(const std::string& name, const ZooOptions& options, const ImdbClassifierOptions& imdb) {
  if (name == "imdb-classifier") return build_imdb_classifier(imdb);
  return build_cell_model(name, options);
}

}  // namespace rnnc::zoo
