// The verifier reports each broken invariant by name. IR is broken on purpose with the unchecked
// builder and the rewiring API, the way a buggy pass would break it.
#include <gtest/gtest.h>

#include "frontend/zoo.h"
#include "ir/error.h"
#include "ir/verifier.h"

namespace rnnc::ir {
namespace {

TensorType f32(std::vector<Dim> dims) { return TensorType{DType::F32, std::move(dims)}; }

std::vector<std::string> invariants(const Module& m) {
  std::vector<std::string> out;
  for (const Violation& v : verify(m)) out.push_back(v.invariant);
  return out;
}

std::string all_messages(const Module& m) {
  std::string s;
  for (const Violation& v : verify(m)) s += v.str() + "\n";
  return s;
}

TEST(Verifier, EveryZooModelVerifies) {
  for (const std::string& name : zoo::model_names()) {
    Module m = zoo::build_model(name, {.num_layers = 2, .bidirectional = true});
    EXPECT_TRUE(verify(m).empty()) << name << ":\n" << all_messages(m);
  }
}

TEST(Verifier, ReportsACycleNamingItsNodes) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value a = f.add_arg("a", f32({Dim::fixed(2)}));
  Value t = f.add(OpKind::Tanh, {a});
  f.set_value_name(t, "t");
  Value e = f.add(OpKind::Exp, {t});
  f.set_value_name(e, "e");
  f.set_results({e});
  f.set_operand(t.node, 0, e);
  EXPECT_EQ(invariants(m), (std::vector<std::string>{"cycle"}));
  std::string msg = all_messages(m);
  EXPECT_NE(msg.find("(tanh, %t)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(exp, %e)"), std::string::npos) << msg;
}

TEST(Verifier, ReportsStoredTypesThatTheRuleDisagreesWith) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value a = f.add_arg("a", f32({Dim::fixed(2)}));
  NodeId t = f.add_node_unchecked(OpKind::Tanh, {a}, {}, {f32({Dim::fixed(3)})});
  f.set_results({Value{t, 0}});
  EXPECT_EQ(invariants(m), (std::vector<std::string>{"type-mismatch"}));
  EXPECT_NE(all_messages(m).find("stored f32[3] but its type rule gives f32[2]"), std::string::npos);
}

TEST(Verifier, ReportsOpsTheirRuleRejects) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value a = f.add_arg("a", f32({Dim::fixed(2), Dim::fixed(3)}));
  NodeId mm = f.add_node_unchecked(OpKind::MatMul, {a, a}, {}, {f32({Dim::fixed(2), Dim::fixed(3)})});
  NodeId bad_attr = f.add_node_unchecked(OpKind::Relu, {a}, Attrs().set("axis", int64_t{0}), {f32({Dim::fixed(2), Dim::fixed(3)})});
  f.set_results({Value{mm, 0}, Value{bad_attr, 0}});
  EXPECT_EQ(invariants(m), (std::vector<std::string>{"op-rule", "op-rule"}));
  std::string msg = all_messages(m);
  EXPECT_NE(msg.find("matmul: inner dimensions differ"), std::string::npos) << msg;
  EXPECT_NE(msg.find("relu: unknown attribute 'axis'"), std::string::npos) << msg;
}

TEST(Verifier, ReportsUndeclaredAndMistypedParameters) {
  Module m("m");
  m.declare_param("w", f32({Dim::fixed(4)}), InitSpec::zeros());
  Function& f = m.add_function(Function("forward"));
  NodeId p1 = f.add_node_unchecked(OpKind::Param, {}, Attrs().set("name", std::string("nope")), {f32({Dim::fixed(4)})});
  NodeId p2 = f.add_node_unchecked(OpKind::Param, {}, Attrs().set("name", std::string("w")), {f32({Dim::fixed(5)})});
  f.set_results({Value{p1, 0}, Value{p2, 0}});
  EXPECT_EQ(invariants(m), (std::vector<std::string>{"param", "param"}));
  std::string msg = all_messages(m);
  EXPECT_NE(msg.find("names no declared parameter"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has type f32[5] but @w is declared f32[4]"), std::string::npos) << msg;
}

TEST(Verifier, ReportsAMissingReturnAndBadArgumentNumbering) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value a = f.add_arg("a", f32({Dim::fixed(2)}));
  f.add_arg("b", f32({Dim::fixed(2)}));
  f.mutable_node(a.node).attrs.set("index", int64_t{7});
  EXPECT_EQ(invariants(m), (std::vector<std::string>{"return", "args"}));
}

TEST(Verifier, LooksInsideScanBodies) {
  Module m = zoo::build_model("rnn-tanh", {.input_size = 3, .hidden_size = 4});
  Function& f = m.functions()[0];
  NodeId scan = 0;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) == OpKind::Scan) scan = n;
  }
  Function& body = *f.body(scan);
  for (NodeId n = 0; n < body.num_nodes(); ++n) {
    if (body.op(n) == OpKind::Tanh) body.mutable_node(n).types[0] = f32({batch_dim(), Dim::fixed(5)});
  }
  std::vector<Violation> v = verify(m);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].invariant, "type-mismatch");
  EXPECT_EQ(v[0].where, "@forward, scan %rnn.l0.h_n body");
  try {
    verify_or_throw(m, "after pass test");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("IR verification failed after pass test:\n  @forward, scan"), std::string::npos)
        << e.what();
  }
}

TEST(Verifier, ReportsDuplicateFunctions) {
  Module m("m");
  Function f("forward");
  f.set_results({});
  m.add_function(f);
  EXPECT_THROW(m.add_function(f), UserError);
}

}  // namespace
}  // namespace rnnc::ir
