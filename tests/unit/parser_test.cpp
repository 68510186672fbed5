// The textual IR: printing and parsing round-trip exactly, and malformed text of every kind is a
// UserError with line:column, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "frontend/zoo.h"
#include "ir/equal.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace rnnc::ir {
namespace {

std::vector<Module> zoo_variants() {
  std::vector<Module> out;
  for (const std::string& name : zoo::model_names()) {
    out.push_back(zoo::build_model(name));
    out.push_back(zoo::build_model(name, {.input_size = 5, .hidden_size = 7, .num_layers = 2, .bidirectional = true}));
    out.push_back(zoo::build_model(name, {.lengths = false}, {.vocab_size = 50, .bidirectional = true}));
  }
  return out;
}

TEST(Parser, PrintParseReproducesTheGraphAndTheText) {
  for (const Module& m : zoo_variants()) {
    std::string text = print_module(m);
    Module parsed = parse_module(text);
    std::string why;
    EXPECT_TRUE(structurally_equal(m, parsed, &why)) << m.name() << ": " << why;
    EXPECT_EQ(print_module(parsed), text) << m.name();
    EXPECT_TRUE(verify(parsed).empty()) << m.name();
  }
}

std::string parse_error(const std::string& text) {
  try {
    parse_module(text, "t.ir");
  } catch (const UserError& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(Parser, ErrorsNameLineColumnAndWhatWasExpected) {
  EXPECT_EQ(parse_error("module @m {\n  func @f() -> () {\n    return\n  }\n"), "t.ir:5:1: expected 'param', 'func' or '}', got end of input");
  EXPECT_EQ(parse_error("module m {}"), "t.ir:1:8: expected a module name '@name', got 'm'");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: f32[2]) -> (f32[2]) {\n    %b = frobnicate %a : f32[2]\n    return %b\n  }\n}"),
            "t.ir:3:10: unknown op 'frobnicate'");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: f32[2]) -> (f32[2]) {\n    %b = tanh %c : f32[2]\n    return %b\n  }\n}"),
            "t.ir:3:15: use of undefined value %c");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: f32[2]) -> (f32[2]) {\n    %b = tanh %a : f32[3]\n    return %b\n  }\n}"),
            "t.ir:3:10: type mismatch: tanh gives f32[2] but the text says f32[3]");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: f32[2, 3]) -> (f32[2, 3]) {\n    %b = matmul %a, %a : f32[2, 3]\n    return %b\n  }\n}"),
            "t.ir:3:10: matmul: inner dimensions differ: f32[2, 3] and f32[2, 3]");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: q32[2]) -> () {\n    return\n  }\n}"),
            "t.ir:2:15: expected an element type (f32, f64, i32, i64), got 'q32'");
  EXPECT_EQ(parse_error("module @m {\n  func @f(%a: f32[2]) -> (f32[2]) {\n    return %a ?\n  }\n}"),
            "t.ir:3:15: expected '}', got unexpected character '?'");
  EXPECT_EQ(parse_error(std::string("module @m {\x01}")), "t.ir:1:12: expected 'param', 'func' or '}', got unexpected character byte 0x01");
}

// Every strict prefix of a valid module is malformed; each must be a UserError, never a crash.
TEST(Parser, EveryTruncationIsAClearError) {
  std::string text = print_module(zoo::build_model("gru", {.input_size = 2, .hidden_size = 3}));
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    std::string prefix = text.substr(0, n);
    if (prefix.find_last_not_of(" \n") == text.find_last_not_of(" \n")) continue;
    try {
      parse_module(prefix, "cut.ir");
      ADD_FAILURE() << "prefix of " << n << " bytes parsed";
    } catch (const UserError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.ir:", 0), 0u) << e.what();
    }
  }
}

TEST(Parser, RandomBytesAreAClearError) {
  std::mt19937 gen(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(gen() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(gen() % 256);
    if (i % 2) junk = "module @m {" + junk;
    EXPECT_THROW(parse_module(junk), UserError);
  }
}

// Single-byte corruptions of a real module: each either still parses into a module the verifier
// accepts, or fails with a UserError. Anything else (a crash, an internal error) fails the test.
TEST(Parser, CorruptedModulesNeverCrash) {
  std::string text = print_module(zoo::build_model("layernorm-lstm", {.input_size = 2, .hidden_size = 3}));
  std::mt19937 gen(99);
  const std::string alphabet = "%@(){}[],:=->0123456789abcxyzf. \n";
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = text;
    t[gen() % t.size()] = alphabet[gen() % alphabet.size()];
    try {
      Module m = parse_module(t);
      verify_or_throw(m);
      ++parsed;
    } catch (const UserError&) {
    }
  }
  EXPECT_LT(parsed, 3000);
}

}  // namespace
}  // namespace rnnc::ir

namespace rnnc::ir {
namespace {

// A result may be named like a type (`f32`) or contain '.' and '-': it still parses back.
TEST(Parser, ResultNamesThatLookLikeTypesRoundTrip) {
  Module m("m");
  Function& f = m.add_function(Function("forward"));
  Value a = f.add_arg("a", TensorType{DType::F32, {Dim::fixed(4)}});
  f.set_results({a, a}, {"f32", "h_n.l0-x"});
  std::string text = print_module(m);
  Module parsed = parse_module(text);
  std::string why;
  EXPECT_TRUE(structurally_equal(m, parsed, &why)) << why;
  EXPECT_EQ(print_module(parsed), text);
}

TEST(Parser, AZeroRowOutsideTheParameterIsAViolation) {
  Module m = parse_module("module @m {\n  param @e : f32[3, 2] init normal(0.0, 1.0) zero_row(7)\n}\n");
  std::vector<Violation> v = verify(m);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].str(), "@m: [param] @e f32[3, 2] has no row 7 to zero");
}

}  // namespace
}  // namespace rnnc::ir
