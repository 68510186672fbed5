// ProvenFailures: an assertion Halide proves will fail on every run is collected (and compile.cpp fails
// the kernel), not printed as a warning and compiled into a kernel that traps, or computes garbage
// where the device drops the check (OpenCL).
#include "codegen/proven_failures.h"

#include <Halide.h>
#include <gtest/gtest.h>

namespace rnnc::codegen {
namespace {

// f is stored in 1 element but g reads it at x and x + 10 over 8 columns: 18 elements, a constant.
Halide::Module undersized_storage(const std::string& name, int storage) {
  Halide::Func f(name + "_f"), g(name + "_g");
  Halide::Var x("x");
  f(x) = x * 2;
  g(x) = f(x) + f(x + 10);
  f.compute_root().bound_storage(x, storage);
  g.output_buffer().dim(0).set_bounds(0, 8);
  return g.compile_to_module({}, name, Halide::get_host_target());
}

TEST(ProvenFailures, CollectsAnAssertionHalideProvesFails) {
  ProvenFailures failures;
  undersized_storage("undersized", 1);
  const std::string a = failures.assertions();
  EXPECT_NE(a.find("halide_error_storage_bound_too_small"), std::string::npos) << a;
  EXPECT_NE(a.find("undersized_f"), std::string::npos) << a;
  EXPECT_EQ(a.find("guaranteed"), std::string::npos) << "the assertion alone, not Halide's banner: " << a;
  EXPECT_EQ(a.find('\n'), std::string::npos) << "repeated lowering steps report one assertion once: " << a;
}

TEST(ProvenFailures, NothingWhereTheStorageIsLargeEnough) {
  ProvenFailures failures;
  undersized_storage("sized", 18);
  EXPECT_EQ(failures.assertions(), "");
}

TEST(ProvenFailures, CollectsOnlyWhileInScope) {
  ProvenFailures outer;
  {
    ProvenFailures inner;
    undersized_storage("inner", 1);
    EXPECT_NE(inner.assertions(), "");
  }
  EXPECT_EQ(outer.assertions(), "") << "the inner scope's finding is the inner scope's";
}

// Halide's errors throw what its own reporter throws: a user error is a CompileError.
TEST(ProvenFailures, HalideErrorsStillThrow) {
  ProvenFailures failures;
  Halide::Func f("undefined_f");
  EXPECT_THROW(f.compile_to_module({}, "undefined", Halide::get_host_target()), Halide::CompileError);
}

}  // namespace
}  // namespace rnnc::codegen
