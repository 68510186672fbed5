// The graph layer: building functions, operand wiring, users, rewiring, stable order, value semantics.
#include <gtest/gtest.h>

#include "ir/equal.h"
#include "ir/error.h"
#include "ir/function.h"
#include "ir/printer.h"

namespace rnnc::ir {
namespace {

TensorType f32(std::vector<Dim> dims) { return TensorType{DType::F32, std::move(dims)}; }

TEST(Function, OperandsComeBackInSlotOrderAndUsersAreFound) {
  Function f("f");
  Value a = f.add_arg("a", f32({batch_dim(), Dim::fixed(4)}));
  Value b = f.add_arg("b", f32({Dim::fixed(4)}));
  Value s = f.add(OpKind::Sub, {b, a});  // suffix broadcast either way round
  Value m = f.add(OpKind::Mul, {s, s});
  f.set_results({m}, {"out"});

  EXPECT_EQ(f.operands(s.node), (std::vector<Value>{b, a}));
  EXPECT_EQ(f.operands(m.node), (std::vector<Value>{s, s}));
  EXPECT_EQ(f.type(s), f32({batch_dim(), Dim::fixed(4)}));
  ASSERT_EQ(f.users(s).size(), 2u);
  EXPECT_EQ(f.users(s)[0].operand, 0);
  EXPECT_EQ(f.users(s)[1].operand, 1);
  EXPECT_EQ(f.results(), (std::vector<Value>{m}));
}

TEST(Function, TypeRulesRejectBadShapesNamingOpAndShapes) {
  Function f("f");
  Value a = f.add_arg("a", f32({batch_dim(), Dim::fixed(4)}));
  Value w = f.add_arg("w", f32({Dim::fixed(5), Dim::fixed(3)}));
  try {
    f.add(OpKind::MatMul, {a, w}, Attrs().set_flag("transpose_b"));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "matmul: inner dimensions differ: f32[batch, 4] and f32[5, 3] (b transposed)");
  }
  EXPECT_THROW(f.add(OpKind::Slice, {a}, Attrs().set("axis", int64_t{1}).set("start", int64_t{3}).set("size", int64_t{2})),
               UserError);
  EXPECT_THROW(f.add(OpKind::Slice, {a}, Attrs().set("axis", int64_t{0}).set("start", int64_t{0}).set("size", int64_t{1})),
               UserError)
      << "slicing a symbolic dimension";
  EXPECT_THROW(f.add(OpKind::Tanh, {a, a}), UserError) << "arity";
  EXPECT_THROW(f.add(OpKind::Concat, {a, w}, Attrs().set("axis", int64_t{0})), UserError);
  EXPECT_THROW(f.add(OpKind::Tanh, {a}, Attrs().set("bogus", int64_t{1})), UserError) << "unknown attribute";
}

TEST(Function, MatmulTransposeAContractsLeadingDims) {
  Function f("f");
  Value x = f.add_arg("x", f32({time_dim(), batch_dim(), Dim::fixed(3)}));
  Value dy = f.add_arg("dy", f32({time_dim(), batch_dim(), Dim::fixed(8)}));
  Value dw = f.add(OpKind::MatMul, {x, dy}, Attrs().set_flag("transpose_a"));
  EXPECT_EQ(f.type(dw), f32({Dim::fixed(3), Dim::fixed(8)}));
}

TEST(Function, ReplaceAllUsesRewiresEveryUse) {
  Function f("f");
  Value a = f.add_arg("a", f32({Dim::fixed(2)}));
  Value b = f.add_arg("b", f32({Dim::fixed(2)}));
  Value t = f.add(OpKind::Tanh, {a});
  Value s = f.add(OpKind::Add, {t, t});
  f.set_results({s, t});
  f.replace_all_uses(t, b);
  EXPECT_EQ(f.operands(s.node), (std::vector<Value>{b, b}));
  EXPECT_EQ(f.results(), (std::vector<Value>{s, b}));
  EXPECT_TRUE(f.users(t).empty());
}

TEST(Function, TopologicalOrderIsStableAndPutsProducersFirst) {
  Function f("f");
  Value a = f.add_arg("a", f32({Dim::fixed(2)}));
  Value t = f.add(OpKind::Tanh, {a});
  Value e = f.add(OpKind::Exp, {a});
  Value s = f.add(OpKind::Add, {e, t});
  f.set_results({s});
  // Rewire so that node ids are no longer a topological order: tanh now reads the add's... no, an
  // earlier node reads a later one: make tanh read exp.
  f.set_operand(t.node, 0, e);
  std::vector<NodeId> order = f.topological_order();
  auto pos = [&](NodeId n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_LT(pos(e.node), pos(t.node));
  EXPECT_LT(pos(t.node), pos(s.node));
  EXPECT_EQ(order.front(), a.node);
}

TEST(Function, CopiesDeepCopyScanBodies) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value x = f.add_arg("x", f32({time_dim(), batch_dim(), Dim::fixed(2)}));
  Value h0 = f.add_arg("h0", f32({batch_dim(), Dim::fixed(2)}));
  auto body = std::make_unique<Function>("body");
  Value h = body->add_arg("h", f32({batch_dim(), Dim::fixed(2)}));
  Value xt = body->add_arg("xt", f32({batch_dim(), Dim::fixed(2)}));
  Value h1 = body->add(OpKind::Add, {h, xt});
  body->set_results({h1, h1});
  NodeId scan = f.add_node(OpKind::Scan, {h0, x},
                           Attrs()
                               .set("direction", std::string("forward"))
                               .set("carries", int64_t{1})
                               .set("sequences", int64_t{1})
                               .set("invariants", int64_t{0}),
                           {}, std::move(body));
  f.set_results({Value{scan, 0}, Value{scan, 1}});
  EXPECT_EQ(f.type(Value{scan, 1}), f32({time_dim(), batch_dim(), Dim::fixed(2)}));

  Module copy = m;
  EXPECT_TRUE(structurally_equal(m, copy));
  copy.functions()[0].body(scan)->set_value_name(h1, "renamed");
  std::string why;
  EXPECT_FALSE(structurally_equal(m, copy, &why));
  EXPECT_NE(why.find("scan body"), std::string::npos) << why;
  EXPECT_EQ(m.functions()[0].body(scan)->value_name(h1), "");
}

TEST(Module, ParameterWithTwoShapesIsAnError) {
  Module m("m");
  m.declare_param("w", f32({Dim::fixed(3)}), InitSpec::zeros());
  m.declare_param("w", f32({Dim::fixed(3)}), InitSpec::zeros());  // same shape: fine
  try {
    m.declare_param("w", f32({Dim::fixed(4)}), InitSpec::zeros());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "parameter @w used with two shapes: f32[3] and f32[4]");
  }
}

TEST(Attrs, FloatsPrintExactlyAndAsFloats) {
  EXPECT_EQ(format_float(1.0), "1.0");
  EXPECT_EQ(format_float(0.3), "0.3");
  EXPECT_EQ(format_float(1e-5), "1e-05");
  EXPECT_EQ(std::stod(format_float(0.1 + 0.2)), 0.1 + 0.2);
  EXPECT_EQ(format_float(-1.0 / 0.0), "-inf");
}

}  // namespace
}  // namespace rnnc::ir
