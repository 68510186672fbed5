#include "codegen/schedule_cpu.h"

namespace rnnc::codegen {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;

int vector_lanes(const Halide::Target& target) {
  if (target.has_feature(Halide::Target::AVX512)) return 16;
  if (target.has_feature(Halide::Target::AVX2) || target.has_feature(Halide::Target::AVX)) return 8;
  return 4;
}

namespace {

Var var(const Func& f, int i) { return f.args()[i]; }

// A pure definition: vectorise the innermost dim; parallelise the outermost unless the kernel is a
// scan step, whose elementwise work per call is too small to pay for waking the thread pool.
void map_schedule(Func f, int lanes, int64_t inner_extent, bool parallel) {
  int rank = f.dimensions();
  if (rank == 0) return;
  if (inner_extent < 0 || inner_extent >= lanes) f.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  if (parallel && rank >= 2) f.parallel(var(f, rank - 1));
}

// Register-blocked matrix product. The product C[rows…, N] is computed in tiles of NT outputs (two
// vectors) by MT rows; each tile's accumulators (NT/lanes × MT vector registers: 12 of AVX2's 16, 24 of
// AVX-512's 32) stay in registers for the whole reduction, which streams one broadcast of A and two
// vector loads of B per step. N is static: its tiles shift inwards at the edge instead of being
// guarded. Rows are symbolic (batch), so the last row tile is guarded.
void matmul_schedule(const FuncRoles::MatMul& mm, int lanes) {
  Func acc = mm.func;
  Func c = mm.output.defined() ? mm.output : mm.tiles;
  if (!mm.output.defined()) c.compute_root();
  const int rank = c.dimensions();
  int nt = 2 * lanes;
  const int mt = lanes >= 16 ? 12 : 6;
  if (mm.n_extent >= lanes && mm.n_extent < nt) nt = lanes;
  if (rank < 2 || mm.n_extent < nt) {
    // Too narrow to tile: a vectorised accumulation over rows, computed once.
    acc.compute_root();
    bool wide = mm.n_extent < 0 || mm.n_extent >= lanes;
    if (wide) {
      acc.vectorize(var(acc, 0), lanes, TailStrategy::GuardWithIf);
      acc.update().vectorize(var(acc, 0), lanes, TailStrategy::GuardWithIf);
    }
    if (rank >= 2) {
      acc.parallel(var(acc, rank - 1));
      acc.update().parallel(var(acc, rank - 1));
    }
    map_schedule(c, lanes, mm.n_extent, true);
    return;
  }
  Var n = var(c, 0), m = var(c, 1);
  Var no("no"), ni("ni"), mo("mo"), mi("mi");
  c.split(n, no, ni, nt, TailStrategy::ShiftInwards)
      .split(m, mo, mi, mt, TailStrategy::GuardWithIf)
      .reorder(ni, mi, no, mo)
      .vectorize(ni, lanes)
      .unroll(mi);
  // Rows of a time-stacked product split across threads by time step; a plain matrix by row tile.
  c.parallel(rank >= 3 ? var(c, rank - 1) : mo);

  Var an = var(acc, 0), am = var(acc, 1), ani("ani"), ami("ami");
  acc.compute_at(c, no).bound_extent(an, nt);
  acc.split(an, an, ani, nt).split(am, am, ami, mt, TailStrategy::GuardWithIf).vectorize(ani, lanes).unroll(ami);
  Halide::Stage update = acc.update();
  RVar k = mm.k[0], ko("ko"), ki("ki");
  update.split(an, an, ani, nt).split(am, am, ami, mt, TailStrategy::GuardWithIf);
  std::vector<Halide::VarOrRVar> order{ani, ami};
  if (mm.k_extent < 0 || mm.k_extent >= 4) {
    update.split(k, ko, ki, 4);
    order.push_back(ki);
    order.push_back(ko);
  } else {
    order.push_back(k);
  }
  for (int j = 1; j < mm.k.dimensions(); ++j) order.push_back(RVar(mm.k[j]));
  order.push_back(an);
  order.push_back(am);
  update.reorder(order).vectorize(ani, lanes).unroll(ami);
  if (mm.k_extent < 0 || mm.k_extent >= 4) update.unroll(ki);
}

}  // namespace

void schedule_cpu(LoweredKernel& k, const Halide::Target& target) {
  int lanes = vector_lanes(target);
  bool parallel = !k.step;
  for (const FuncRoles::MatMul& mm : k.roles.matmuls) matmul_schedule(mm, lanes);
  for (Func f : k.roles.reductions) f.compute_root();
  for (Func f : k.roles.scatters) {
    f.compute_root();
    f.update().vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  }
  for (Func f : k.roles.roots) f.compute_root();
  for (Func f : k.roles.shared) {
    f.compute_root();
    map_schedule(f, lanes, -1, parallel);
  }
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    bool is_product = false;
    for (const FuncRoles::MatMul& mm : k.roles.matmuls) is_product |= mm.output.defined() && mm.output.name() == k.outputs[i].name();
    if (is_product) continue;
    const std::vector<int64_t>& statics = k.output_static_extents[i];
    map_schedule(k.outputs[i], lanes, statics.empty() ? 1 : statics[0], parallel);
  }
}

}  // namespace rnnc::codegen
