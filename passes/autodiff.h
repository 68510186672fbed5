// autodiff: reverse-mode differentiation of @forward, through time.
//
// After the pass the module has
//   @forward   as before, plus the activations the backward needs as extra results `saved.*`
//   @backward  (d.<result>…, saved.*…) -> (grad.<param>… for every parameter, grad.<arg>… for every
//              float argument of @forward)
// where d.<result> is the cotangent of each float result of @forward (for a loss: 1).
//
// A scan becomes a scan in the other direction over the same lengths: its carries are the cotangents
// of the forward carries, its sequences the cotangents of the step outputs and the stored activations,
// its step outputs the cotangents of the forward sequences. Gradients of the scan's invariants (the
// weights) are not summed inside the loop: the body emits the per-row terms and one reduction after the
// scan (a reduce_sum, or a single matmul {transpose_a} over all time steps and rows) sums them. Rows
// past a sequence's end contribute nothing, because the lengths-aware scan zeroes those outputs.
// Dropout reuses its mask (the same hash of seed and salt); embedding gradients are a sparse scatter-add.
#pragma once

#include "ir/training_names.h"
#include "passes/pass.h"

namespace rnnc::passes {

// What @backward's argument list and @forward's extra results look like, for callers that run them.
using ir::kCotangentPrefix;
using ir::kGradPrefix;
using ir::kSavedPrefix;

}  // namespace rnnc::passes
