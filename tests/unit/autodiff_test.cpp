// Back-propagation through time against central finite differences in float64, for every zoo cell and
// the IMDB classifier: variable lengths, bidirectional and stacked layers, dropout, embedding.
#include <gtest/gtest.h>

#include <iostream>

#include "frontend/zoo.h"
#include "ir/error.h"
#include "passes/pass_manager.h"
#include "passes/passes.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

ir::Module differentiated(const ir::Module& m) {
  ir::Module out = m;
  passes::PassManager pm;
  pm.add(passes::create_autodiff());
  pm.run(out);
  return out;
}

struct Case {
  std::string model;
  int layers;
  bool bidirectional;
  int64_t time, batch;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.model << " layers=" << c.layers << (c.bidirectional ? " bidirectional" : "") << " T=" << c.time << " B=" << c.batch;
}

class GradientTest : public ::testing::TestWithParam<Case> {};

TEST_P(GradientTest, MatchesFiniteDifferences) {
  const Case c = GetParam();
  ir::Module m = c.model == "imdb-classifier"
                     ? zoo::build_imdb_classifier({.vocab_size = 11, .embed_dim = 3, .hidden_size = 4,
                                                   .num_layers = c.layers, .bidirectional = c.bidirectional})
                     : zoo::build_cell_model(c.model, {.input_size = 3, .hidden_size = 4, .num_layers = c.layers,
                                                       .bidirectional = c.bidirectional});
  ir::Module g = differentiated(m);
  runtime::ReferenceExecutor<double> ex(g);
  ex.init_params(11);
  std::mt19937 gen(5);
  testing::Values inputs = testing::random_inputs(m.functions()[0], {{"time", c.time}, {"batch", c.batch}}, gen, 11, 2);
  runtime::ReferenceExecutor<double> plain(m);
  for (const auto& [name, t] : ex.params()) plain.set_param(name, t);
  testing::Values cotangents = testing::random_cotangents(plain.run("forward", inputs), gen);
  testing::GradCheck r = testing::check_gradients(ex, m, inputs, cotangents);
  EXPECT_GT(r.checked, 20);
  EXPECT_LT(r.worst_relative_error, 1e-6) << "worst: " << r.worst_name;
  std::cout << "  " << r.checked << " gradient elements checked, worst relative error " << r.worst_relative_error << " (" << r.worst_name << ")\n";
}

// The examples' sequence models: per-step cross-entropy over [time, batch, vocab] logits (char-lm) and a
// squared error on a float input window (forecaster).
TEST(GradientTest, ExampleModelsMatchFiniteDifferences) {
  for (const ir::Module& m : {zoo::build_char_lm({.vocab_size = 7, .embed_dim = 3, .hidden_size = 4, .num_layers = 2}),
                              zoo::build_forecaster({.features = 3, .hidden_size = 4})}) {
    ir::Module g = differentiated(m);
    runtime::ReferenceExecutor<double> ex(g);
    ex.init_params(12);
    std::mt19937 gen(6);
    testing::Values inputs = testing::random_inputs(m.functions()[0], {{"time", 5}, {"batch", 3}}, gen, 7, 7);
    runtime::ReferenceExecutor<double> plain(m);
    for (const auto& [name, t] : ex.params()) plain.set_param(name, t);
    testing::Values cotangents = testing::random_cotangents(plain.run("forward", inputs), gen);
    // Every element, with a step of 1e-4: the per-step loss sums many terms, and at 1e-6 rounding in
    // the difference quotient alone reaches a few 1e-6 (measured: 2e-8 at 1e-4, 4e-6 at 1e-6).
    testing::GradCheck r = testing::check_gradients(ex, m, inputs, cotangents, 1000, 1e-4);
    EXPECT_GT(r.checked, 20) << m.name();
    EXPECT_LT(r.worst_relative_error, 1e-6) << m.name() << " worst: " << r.worst_name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, GradientTest,
    ::testing::Values(Case{"rnn-tanh", 1, false, 5, 3}, Case{"rnn-tanh", 2, true, 4, 3},
                      Case{"rnn-relu", 1, false, 5, 3}, Case{"rnn-relu", 2, true, 4, 3},
                      Case{"lstm", 1, false, 5, 3}, Case{"lstm", 2, true, 4, 3},
                      Case{"gru", 1, false, 5, 3}, Case{"gru", 2, true, 4, 3},
                      Case{"peephole-lstm", 1, false, 5, 3}, Case{"peephole-lstm", 2, true, 4, 3},
                      Case{"layernorm-lstm", 1, false, 5, 3}, Case{"layernorm-lstm", 2, true, 4, 3},
                      Case{"imdb-classifier", 2, false, 6, 4}, Case{"imdb-classifier", 2, true, 5, 3},
                      Case{"lstm", 1, true, 1, 1}),
    [](const auto& info) {
      const Case& c = info.param;
      std::string n = c.model + "_L" + std::to_string(c.layers) + (c.bidirectional ? "_bi" : "");
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

}  // namespace
}  // namespace rnnc
