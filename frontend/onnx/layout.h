// Private to the importer: ONNX's layout ops on the importer's values (context.h). Constants fold, graph
// inputs change their view, filled values their shape; computed values change their axis maps and
// pieces, and get IR ops (slice, concat, reduce_sum over a size-1 axis) only where data must move.
// What the IR cannot express (merging two IR axes, stacking along a new one, a slice of a symbolic
// axis) is a UserError that says so.
#pragma once

#include <vector>

#include "frontend/onnx/context.h"

namespace rnnc::onnx_import::detail {

TValue transpose(Context& ctx, const TValue& v, const std::vector<int>& perm);
// `axes` are positions in the result (as ONNX's Unsqueeze), normalized and sorted.
TValue unsqueeze(Context& ctx, const TValue& v, std::vector<int64_t> axes);
// `axes` empty: every axis of size 1.
TValue squeeze(Context& ctx, const TValue& v, std::vector<int64_t> axes);
// Element `index` along `axis`, the axis dropped (Gather with a scalar index).
TValue take(Context& ctx, const TValue& v, int axis, int64_t index);
// `size` elements from `start` along `axis` (in range; size -1: all from start on), step 1.
TValue narrow(Context& ctx, const TValue& v, int axis, int64_t start, int64_t size);
TValue concat(Context& ctx, const std::vector<TValue>& parts, int axis);
// `target` as ONNX's Reshape after resolving 0 and -1.
TValue reshape(Context& ctx, const TValue& v, const ir::Shape& target);
// ONNX's Reshape shape input (0 copies, -1 infers) against the input shape.
ir::Shape resolve_reshape(const ir::Shape& in, const TValue& shape, bool allowzero);
TValue expand(Context& ctx, const TValue& v, const ir::Shape& shape);
TValue cast(Context& ctx, const TValue& v, bool to_float, ir::DType int_dtype);

}  // namespace rnnc::onnx_import::detail
