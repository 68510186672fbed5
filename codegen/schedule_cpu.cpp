#include "codegen/schedule_cpu.h"

namespace rnnc::codegen {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

int vector_lanes(const Halide::Target& target) {
  if (target.has_feature(Halide::Target::AVX512)) return 16;
  if (target.has_feature(Halide::Target::AVX2) || target.has_feature(Halide::Target::AVX)) return 8;
  return 4;
}

namespace {

Var var(const Func& f, int i) { return f.args()[i]; }

// A pure definition: vectorise the innermost dim, parallelise the outermost.
void map_schedule(Func f, int lanes, int64_t inner_extent) {
  int rank = f.dimensions();
  if (rank == 0) return;
  if (inner_extent < 0 || inner_extent >= lanes) f.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  if (rank >= 2) f.parallel(var(f, rank - 1));
}

void matmul_schedule(const FuncRoles::MatMul& mm, int lanes) {
  Func f = mm.func;
  f.compute_root();
  int rank = f.dimensions();
  Var n = var(f, 0);
  bool wide = mm.n_extent < 0 || mm.n_extent >= lanes;
  if (wide) f.vectorize(n, lanes, TailStrategy::GuardWithIf);
  if (rank >= 2) f.parallel(var(f, rank - 1));
  auto update = f.update();
  if (wide) update.vectorize(n, lanes, TailStrategy::GuardWithIf);
  if (rank >= 2) update.parallel(var(f, rank - 1));
}

}  // namespace

void schedule_cpu(LoweredKernel& k, const Halide::Target& target) {
  int lanes = vector_lanes(target);
  for (const FuncRoles::MatMul& mm : k.roles.matmuls) matmul_schedule(mm, lanes);
  for (Func f : k.roles.reductions) f.compute_root();
  for (Func f : k.roles.scatters) {
    f.compute_root();
    f.update().vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  }
  for (Func f : k.roles.roots) f.compute_root();
  for (Func f : k.roles.shared) {
    f.compute_root();
    if (f.dimensions() >= 1) f.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
    if (f.dimensions() >= 2) f.parallel(var(f, f.dimensions() - 1));
  }
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    const std::vector<int64_t>& statics = k.output_static_extents[i];
    map_schedule(k.outputs[i], lanes, statics.empty() ? 1 : statics[0]);
  }
}

}  // namespace rnnc::codegen
