// The names that tie a training pipeline's functions together: @forward returns `saved.*` values that
// @backward takes as arguments of the same names, beside the cotangents `d.*`, and returns `grad.*`.
// Autodiff makes them (passes/autodiff.h); the runtime relies on them (runtime/execution_plan.h).
#pragma once

namespace rnnc::ir {

constexpr const char* kSavedPrefix = "saved.";
constexpr const char* kCotangentPrefix = "d.";
constexpr const char* kGradPrefix = "grad.";

}  // namespace rnnc::ir
