// The DSL: a new cell in a few lines, model-level structure, and misuse caught where it happens.
#include <gtest/gtest.h>

#include "frontend/cells.h"
#include "frontend/model.h"
#include "frontend/zoo.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/user_error.h"

namespace rnnc::dsl {
namespace {

using ir::DType;
using ir::Dim;
using ir::OpKind;

Expr sequence_input(Model& m, int64_t features) {
  return m.input("x", DType::F32, {ir::time_dim(), ir::batch_dim(), Dim::fixed(features)});
}

int count_ops(const ir::Function& f, OpKind op, bool recurse = true) {
  int n = 0;
  for (ir::NodeId v = 0; v < f.num_nodes(); ++v) {
    if (f.op(v) == op) ++n;
    if (recurse && f.body(v)) n += count_ops(*f.body(v), op);
  }
  return n;
}

// A minimal gated unit (Zhou et al. 2016), a cell rnnc has never heard of, in a handful of lines.
CellDef minimal_gated_unit() {
  return {"mgu", [](Cell& c) {
            Expr x = c.input(), h = c.state("h");
            int64_t H = c.hidden_size();
            Expr f = sigmoid(c.linear(x, "W_f", H, "b_f") + c.linear(h, "U_f", H));
            Expr candidate = tanh(c.linear(x, "W_h", H, "b_h") + c.linear(f * h, "U_h", H));
            c.next("h", (1.0 - f) * h + f * candidate);
          }};
}

TEST(Dsl, ANewCellIsAFewLinesAndBuildsAVerifiedModel) {
  Model m("mgu-model");
  Expr x = sequence_input(m, 6);
  RecurrentResult r = m.recurrent("mgu", minimal_gated_unit(), x, {.hidden_size = 5, .num_layers = 2});
  m.output("y", r.sequence);
  m.output("h", r.last_hidden);
  ir::Module mod = m.finish();
  EXPECT_TRUE(ir::verify(mod).empty());
  EXPECT_EQ(mod.params().size(), 2u * 6u);  // W_f b_f U_f W_h b_h U_h per layer
  EXPECT_EQ(mod.find_param("mgu.l1.W_f")->type.str(), "f32[5, 5]");
  EXPECT_EQ(mod.find_param("mgu.l0.W_f")->type.str(), "f32[5, 6]");
  EXPECT_EQ(count_ops(mod.functions()[0], OpKind::Scan), 2);
}

TEST(Dsl, BidirectionalStackedLayersHaveAReverseScanPerLayerAndDropoutBetween) {
  Model m("bi");
  Expr x = sequence_input(m, 4);
  Expr lengths = m.input("lengths", DType::I32, {ir::batch_dim()});
  RecurrentResult r = m.recurrent("rnn", cells::gru(), x,
                                  {.hidden_size = 3, .num_layers = 3, .bidirectional = true, .dropout = 0.5, .lengths = lengths});
  m.output("y", r.sequence);
  m.output("h", r.last_hidden);
  ir::Module mod = m.finish();
  const ir::Function& f = mod.functions()[0];
  EXPECT_EQ(count_ops(f, OpKind::Scan), 6);
  EXPECT_EQ(count_ops(f, OpKind::Dropout), 2) << "dropout between layers only";
  EXPECT_EQ(r.sequence.type().str(), "f32[time, batch, 6]");
  EXPECT_EQ(r.last_hidden.type().str(), "f32[batch, 6]");
  EXPECT_EQ(r.final_states.size(), 6u);
  int reverse = 0;
  for (ir::NodeId v = 0; v < f.num_nodes(); ++v) {
    if (f.op(v) == OpKind::Scan) {
      reverse += f.node(v).attrs.get_word("direction") == "reverse";
      EXPECT_TRUE(f.node(v).attrs.has_flag("lengths"));
    }
  }
  EXPECT_EQ(reverse, 3);
  EXPECT_EQ(f.args().size(), 3u) << "x, lengths and the dropout seed";
}

TEST(Dsl, ImdbClassifierReadsLikeItsPyTorchOriginal) {
  ir::Module mod = zoo::build_imdb_classifier({});
  const ir::Function& f = mod.functions()[0];
  EXPECT_EQ(mod.find_param("embedding.weight")->type.str(), "f32[25003, 100]");
  EXPECT_EQ(mod.find_param("embedding.weight")->init.zero_row, 1);
  EXPECT_EQ(mod.find_param("fc.weight")->type.str(), "f32[2, 128]");
  EXPECT_EQ(count_ops(f, OpKind::Scan), 2);
  EXPECT_EQ(count_ops(f, OpKind::Dropout), 3) << "embedding, between the layers, before fc";
  EXPECT_EQ(count_ops(f, OpKind::CrossEntropy), 1);
  EXPECT_EQ(f.result_names(), (std::vector<std::string>{"loss", "logits"}));
}

using testing_support::user_error_of;

TEST(Dsl, MisuseIsCaughtWhereItHappens) {
  auto build = [](CellDef cell, RecurrentOptions options = {.hidden_size = 4}) {
    Model m("m");
    Expr x = sequence_input(m, 3);
    m.recurrent("rnn", cell, x, options);
  };
  EXPECT_EQ(user_error_of([&] {
              build({"c", [](Cell& c) {
                       Expr h = c.state("h");
                       c.next("h", h);
                       c.next("h", h);
                     }});
            }),
            "in cell 'c' in layer 'rnn.l0': state 'h' given a next value twice");
  EXPECT_EQ(user_error_of([&] {
              build({"c", [](Cell& c) {
                       Expr h = c.state("h");
                       c.state("h");
                       c.next("h", h);
                     }});
            }),
            "in cell 'c' in layer 'rnn.l0': state 'h' declared twice");
  EXPECT_EQ(user_error_of([&] {
              build({"c", [](Cell& c) {
                       Expr h = c.state("h");
                       c.next("h", concat({h, h}));
                     }});
            }),
            "in cell 'c' in layer 'rnn.l0': state 'h' is f32[batch, 4] but its next value is f32[batch, 8]");
  EXPECT_EQ(user_error_of([&] {
              build({"c", [](Cell& c) {
                       Expr h = c.state("h");
                       split(h, 3);
                     }});
            }),
            "in cell 'c' in layer 'rnn.l0': split: cannot cut dimension 1 of f32[batch, 4] into 3 equal parts");
  EXPECT_EQ(user_error_of([&] { build({"c", [](Cell& c) { c.input(); }}); }),
            "in cell 'c' in layer 'rnn.l0': has no state (declare one with state(\"h\"))");
  EXPECT_EQ(user_error_of([&] {
              build({"c", [](Cell& c) {
                       Expr h = c.state("h");
                       c.next("h", h + Expr());
                     }});
            }),
            "in cell 'c' in layer 'rnn.l0': add: operand 1 is an undefined expression");
  EXPECT_EQ(user_error_of([&] { build(cells::lstm(), {.hidden_size = 4, .num_layers = 0}); }),
            "in model 'm': recurrent 'rnn': num_layers must be >= 1");
  EXPECT_EQ(user_error_of([&] {
              Model m("m");
              Expr x = sequence_input(m, 3);
              Expr bad = m.input("h0", DType::F32, {ir::batch_dim(), Dim::fixed(5)});
              m.recurrent_layer("rnn", cells::rnn_tanh(), x, 4, false, Expr(), {{"h", bad}});
            }),
            "in model 'm': layer 'rnn': initial state 'h' must be f32[batch, 4], got f32[batch, 5]");
  EXPECT_EQ(user_error_of([&] {
              Model m("m");
              Expr x = sequence_input(m, 3);
              m.recurrent_layer("rnn", cells::rnn_tanh(), x, 4, false, Expr(), {{"c", x}});
            }),
            "in model 'm': layer 'rnn': initial value for 'c', which cell 'rnn-tanh' does not have");
  EXPECT_EQ(user_error_of([&] {
              Model m("m");
              m.input("x y", DType::F32, {});
            }),
            "invalid input name 'x y': start with a letter or '_', then letters, digits, '_', '.' and '-'");
  EXPECT_EQ(user_error_of([&] {
              Model m("m");
              m.finish();
            }),
            "in model 'm': has no outputs (call output(name, value))");
  EXPECT_EQ(user_error_of([&] {
              Model a("a"), b("b");
              Expr x = a.input("x", DType::F32, {Dim::fixed(2)});
              Expr y = b.input("y", DType::F32, {Dim::fixed(2)});
              x + y;
            }),
            "in model 'a': add: operand 1 belongs to model 'b', not here (a cell sees the model only through its "
            "input, states and parameters)");
  EXPECT_EQ(user_error_of([&] {
              Model m("m");
              Expr x = sequence_input(m, 3);
              m.recurrent("rnn", cells::lstm(), x, {.hidden_size = 4, .bidirectional = true, .initial_states = {{}}});
            }),
            "in model 'm': recurrent 'rnn': initial_states has 1 entries, expected layers * directions = 2");
}

}  // namespace
}  // namespace rnnc::dsl
