#include "runtime/weight_panels.h"

#include <algorithm>
#include <cstring>

#include "ir/error.h"

namespace rnnc::runtime {

bool panel_weights(const ir::Function& f, const ir::Value& w, const std::vector<ir::NodeId>& within, int64_t min_bytes) {
  const ir::TensorType& t = f.type(w);
  if (t.dtype != ir::DType::F32 || t.rank() != 2 || t.shape[0].is_symbolic() || t.shape[1].is_symbolic()) return false;
  const int64_t k = t.shape[0].size, n = t.shape[1].size;
  if (n % kPanelColumns != 0 || k * n * 4 < min_bytes) return false;
  bool read = false;
  for (const ir::Use& u : f.users(w)) {
    if (!within.empty() && std::find(within.begin(), within.end(), u.user) == within.end()) continue;
    const ir::NodeData& d = f.node(u.user);
    if (d.op != ir::OpKind::MatMul || u.operand != 1 || d.attrs.has_flag("transpose_b") || d.attrs.has_flag("transpose_a")) {
      return false;
    }
    read = true;
  }
  return read;
}

std::vector<int64_t> panel_inputs(const ir::Function& body, const ir::ScanLayout& l, int64_t min_bytes) {
  std::vector<int64_t> out;
  for (size_t a = l.invariant_arg(0); a < body.args().size(); ++a) {
    if (panel_weights(body, body.arg(a), {}, min_bytes)) out.push_back(static_cast<int64_t>(a));
  }
  return out;
}

Halide::Runtime::Buffer<void> panels_of(const Halide::Runtime::Buffer<void>& w, void* (*allocate)(size_t),
                                        void (*deallocate)(void*)) {
  RNNC_INTERNAL_CHECK(w.dimensions() == 2 && w.type().bytes() == 4 && w.dim(0).stride() == 1 &&
                      w.dim(0).extent() % kPanelColumns == 0)
      << "weight panels: a dense-rowed [K, N] f32 matrix with N a multiple of " << kPanelColumns << " expected";
  const int k_extent = w.dim(1).extent(), count = w.dim(0).extent() / kPanelColumns;
  Halide::Runtime::Buffer<void> panels(w.type(), nullptr, std::vector<int>{kPanelColumns, k_extent, count});
  panels.allocate(allocate, deallocate);
  const auto* src = static_cast<const float*>(w.data());
  auto* dst = static_cast<float*>(panels.data());
  const int64_t row = w.dim(1).stride();
  for (int p = 0; p < count; ++p) {
    for (int64_t k = 0; k < k_extent; ++k) {
      std::memcpy(dst + (p * k_extent + k) * kPanelColumns, src + k * row + p * kPanelColumns, kPanelColumns * sizeof(float));
    }
  }
  return panels;
}

}  // namespace rnnc::runtime
