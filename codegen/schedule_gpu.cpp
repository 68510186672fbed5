#include "codegen/schedule_gpu.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "ir/error.h"

namespace rnnc::codegen {

using Halide::Func;
using Halide::RVar;
using Halide::Stage;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

namespace {

constexpr TailStrategy kGuard = TailStrategy::GuardWithIf;

Var var(const Func& f, int i) { return f.args()[i]; }

std::vector<Var> pure_vars(const Func& f) { return f.args(); }

// The reduction variables of update u of f, in its original loop order (innermost first).
std::vector<RVar> update_rvars(const Func& f, int u) {
  std::vector<RVar> out;
  for (const Halide::Internal::ReductionVariable& rv : f.function().update(u).schedule().rvars()) out.push_back(RVar(rv.var));
  return out;
}

bool is_input_wrapper(const Func& f) { return f.name().rfind("input", 0) == 0; }

int pow2_at_least(int64_t n) {
  int p = 1;
  while (p < n && p < 1024) p *= 2;
  return p;
}

// Threads along dim 0 for a static width (-1: unknown), at most `cap`.
int column_threads(int64_t width, int cap) { return width < 0 ? cap : std::min(cap, pow2_at_least(width)); }

// Loop names must be unique per stage; a counter keeps the helper Vars apart.
int g_counter = 0;
Var fresh(const std::string& base) { return Var(base + std::to_string(g_counter++)); }
RVar fresh_r(const std::string& base) { return RVar(base + std::to_string(g_counter++)); }

// One thread per element of a stage computed at root: dims 0 and 1 in 2-D thread blocks, the rest
// fused into a third block dim. Reduction variables of an update stay serial inside the thread.
void gpu_map(Stage s, const std::vector<Var>& dims, int64_t width) {
  const int rank = static_cast<int>(dims.size());
  if (rank == 0) {
    s.gpu_single_thread();
    return;
  }
  if (rank == 1) {
    Var xo = fresh("bx"), xi = fresh("tx");
    s.split(dims[0], xo, xi, column_threads(width, 256), kGuard).gpu_blocks(xo).gpu_threads(xi);
    return;
  }
  const int tx = column_threads(width, 32);
  const int ty = std::max(1, std::min(64, 256 / tx));
  Var xo = fresh("bx"), yo = fresh("by"), xi = fresh("tx"), yi = fresh("ty");
  s.split(dims[0], xo, xi, tx, kGuard).split(dims[1], yo, yi, ty, kGuard);
  std::vector<VarOrRVar> order{xi, yi, xo, yo};
  Var z = rank >= 3 ? dims[2] : Var();
  for (int d = 3; d < rank; ++d) {
    Var fused = fresh("bz");
    s.fuse(z, dims[d], fused);
    z = fused;
  }
  if (rank >= 3) order.push_back(z);
  s.reorder(order).gpu_threads(xi, yi);
  if (rank >= 3) {
    s.gpu_blocks(xo, yo, z);
  } else {
    s.gpu_blocks(xo, yo);
  }
}

void gpu_map(Func f, int64_t width) {
  f.compute_root();
  gpu_map(Stage(f), pure_vars(f), width);
}

// Every stage of a Func with updates (a reduction) at root, one thread per element of its pure dims.
void gpu_map_all(Func f, int64_t width) {
  gpu_map(f, width);
  for (int u = 0; u < f.num_update_definitions(); ++u) gpu_map(f.update(u), pure_vars(f), width);
}

// A register tile of `acc` (a product accumulation computed inside one thread): its dims 0 and 1 in
// tiles of (rn, rm) unrolled, the reduction outside them, so the tile's sums stay in registers.
void register_tile(Func acc, const Halide::RDom& k, int rn, int rm, int k_unroll) {
  Var n = var(acc, 0), m = var(acc, 1);
  Var n_o = fresh("rno"), n_i = fresh("rni"), m_o = fresh("rmo"), m_i = fresh("rmi");
  acc.split(n, n_o, n_i, rn, kGuard).split(m, m_o, m_i, rm, kGuard).reorder(n_i, m_i, n_o, m_o).unroll(n_i).unroll(m_i);
  Stage update = acc.update();
  Var un_o = fresh("rno"), un_i = fresh("rni"), um_o = fresh("rmo"), um_i = fresh("rmi");
  update.split(n, un_o, un_i, rn, kGuard).split(m, um_o, um_i, rm, kGuard);
  std::vector<VarOrRVar> order{un_i, um_i};
  // The reduction unrolled too, k_unroll steps of k at a time: a load's address is then a constant
  // offset from a pointer advanced once per k_unroll steps (inputs' inner strides are constants,
  // LowerOptions::dense_static_inputs), and the loop's branch is paid once.
  RVar ko = fresh_r("gko"), ki = fresh_r("gki");
  update.split(RVar(k[0]), ko, ki, k_unroll, kGuard);
  order.push_back(ki);
  order.push_back(ko);
  for (int j = 1; j < k.dimensions(); ++j) order.push_back(RVar(k[j]));
  order.push_back(un_o);
  order.push_back(um_o);
  for (int d = 2; d < acc.dimensions(); ++d) order.push_back(var(acc, d));
  update.reorder(order).unroll(un_i).unroll(um_i).unroll(ki);
}

// A tiled GEMM: `c` (pure, at root, dims (n, m, rest…)) reads the product `acc`, which each thread
// computes for a 4×4 tile of c in registers; blocks of 16×8 threads cover 64 columns × 32 rows.
void gemm_schedule(Func c, Func acc, const Halide::RDom& k, int64_t n_extent, int k_unroll) {
  c.compute_root();
  const int rank = c.dimensions();
  if (rank < 2) {
    acc.compute_root();
    gpu_map_all(acc, n_extent);
    gpu_map(c, n_extent);
    return;
  }
  const bool wide = n_extent < 0 || n_extent >= 64;
  const int rn = wide ? 4 : 1, tn = wide ? 16 : column_threads(n_extent, 32);
  const int rm = 4, tm = std::max(1, 128 / tn);
  Var n = var(c, 0), m = var(c, 1);
  Var no = fresh("bn"), mo = fresh("bm"), ni = fresh("n"), mi = fresh("m"), nt = fresh("tn"), mt = fresh("tm"),
      nr = fresh("rn"), mr = fresh("rm");
  c.split(n, no, ni, tn * rn, kGuard).split(m, mo, mi, tm * rm, kGuard).split(ni, nt, nr, rn).split(mi, mt, mr, rm);
  std::vector<VarOrRVar> order{nr, mr, nt, mt, no, mo};
  Var z;
  if (rank >= 3) {
    z = var(c, 2);
    for (int d = 3; d < rank; ++d) {
      Var fused = fresh("bz");
      c.fuse(z, var(c, d), fused);
      z = fused;
    }
    order.push_back(z);
  }
  c.reorder(order).unroll(nr).unroll(mr).gpu_threads(nt, mt);
  if (rank >= 3) {
    c.gpu_blocks(no, mo, z);
  } else {
    c.gpu_blocks(no, mo);
  }
  acc.compute_at(c, nt);
  register_tile(acc, k, rn, rm, k_unroll);
  // A thread's accumulators are one rn x rm tile. Said so, they have a constant size and live in
  // registers; left to bounds inference, the guarded splits make the size dynamic and Halide puts them
  // in a per-thread heap in global memory.
  acc.bound_storage(var(acc, 0), rn).bound_storage(var(acc, 1), rm);
  for (int d = 2; d < acc.dimensions(); ++d) acc.bound_storage(var(acc, d), 1);
}

// out(n, m) = Σ over rows a[rows, m] · b[rows, n]: each block sums one chunk of rows for a 64×32 tile
// (`partial`, registers, written through a root wrapper), then one thread per element sums the chunks.
void transposed_product_schedule(const FuncRoles::MatMul& mm, int k_unroll) {
  Func partial = mm.partial, acc = mm.func;
  Func c = mm.output.defined() ? mm.output : mm.tiles;
  Func chunks = partial.in();
  gemm_schedule(chunks, partial, mm.k, mm.transposed_result ? -1 : mm.n_extent, k_unroll);
  acc.compute_root();
  gpu_map_all(acc, -1);
  gpu_map(c, mm.n_extent);
}

// A sum over leading dims keeping the innermost (a bias gradient: [T, B, H] -> [H]): rfactor'ed, so
// chunks of the outermost summed dim add up in parallel before one thread per column adds the chunks.
void column_sum_schedule(const FuncRoles::ColumnSum& cs, int64_t width) {
  Func f = cs.func;
  gpu_map(f, width);
  const int last = cs.r.dimensions() - 1;
  RVar outer = cs.r[last];
  RVar ro = fresh_r("ro"), ri = fresh_r("ri");
  Var u = fresh("chunk");
  Stage update = f.update();
  update.split(outer, ro, ri, cs.r.dimensions() >= 2 ? 8 : 64, kGuard);
  Func partial = update.rfactor(ro, u);
  partial.compute_root();
  std::vector<Var> pv = pure_vars(partial);
  gpu_map(Stage(partial), pv, width);
  for (int i = 0; i < partial.num_update_definitions(); ++i) gpu_map(partial.update(i), pv, width);
  gpu_map(f.update(), pure_vars(f), width);
}

// An embedding gradient: zeroed by one thread per element, then every id adds its row with atomics,
// threads along the row, blocks over the ids.
void scatter_schedule(Func f) {
  gpu_map(f, -1);
  Stage update = f.update();
  Var x = var(f, 0), xo = fresh("bx"), xi = fresh("tx");
  update.atomic().split(x, xo, xi, 128, kGuard);
  std::vector<VarOrRVar> order{xi, xo};
  std::vector<RVar> rvars = update_rvars(f, 0);
  for (const RVar& r : rvars) order.push_back(r);
  update.reorder(order).gpu_threads(xi);
  if (rvars.size() >= 2) {
    update.gpu_blocks(xo, rvars[0], rvars[1]);
  } else if (rvars.size() == 1) {
    update.gpu_blocks(xo, rvars[0]);
  } else {
    update.gpu_blocks(xo);
  }
}

// The row sums of f (a reduction over its row, computed inside a block per row at `block`) split
// into `lanes`: each of the block's threads sums every lanes-th element into shared memory (rfactor),
// then one thread adds the lanes. Left alone, Halide runs a stage without thread loops on one thread
// of the block, a chain of as many dependent loads as the row is long.
void sum_in_lanes(Func f, Halide::LoopLevel block, int lanes) {
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    std::vector<RVar> rvars = update_rvars(f, u);
    if (rvars.empty()) continue;
    RVar ro = fresh_r("ro"), ri = fresh_r("ri");
    Var lane = fresh("lane");
    Stage s = f.update(u);
    Func partial;
    try {
      s.split(rvars[0], ro, ri, lanes, kGuard);
      partial = s.rfactor(ri, lane);
    } catch (const Halide::Error&) {
      continue;  // not an associative update: stays serial (correct, slower)
    }
    partial.compute_at(block).gpu_threads(lane);
    // The partial sums over ro and the update's other reduction variables, each lane on its own.
    std::vector<VarOrRVar> order{ro};
    for (size_t r = 1; r < rvars.size(); ++r) order.push_back(rvars[r]);
    order.push_back(lane);
    partial.update(0).reorder(order).gpu_threads(lane);
  }
}

// Threads a materialised row statistic is summed by (statistics_schedule), each every
// kStatisticLanes-th element of the row: a warp reads consecutive elements.
constexpr int kStatisticLanes = 128;

// A row statistic of a tiled step computed at root (RowStatistics::materialised; a layer norm's mean
// and variance are one Tuple, summed in one pass over the row): one launch, one block per row, as in a
// row-mode step, its sums in kStatisticLanes lanes (sum_in_lanes).
void statistics_schedule(Func f) {
  if (f.dimensions() == 0) {
    gpu_map_all(f, -1);
    return;
  }
  Func w = f.in();  // the launch: one block per row (its pure dims fused), f computed inside it
  w.compute_root();
  Var row = var(w, 0);
  for (int d = 1; d < w.dimensions(); ++d) {
    Var fused = fresh("rows");
    w.fuse(row, var(w, d), fused);
    row = fused;
  }
  w.gpu_blocks(row);
  f.compute_at(w, row);
  sum_in_lanes(f, Halide::LoopLevel(w, row), kStatisticLanes);
}

// ---- scan steps -----------------------------------------------------------------------------------

std::set<std::string> reachable(const Func& f) {
  std::set<std::string> names;
  for (const auto& [name, fn] : Halide::Internal::find_transitive_calls(f.function())) names.insert(name);
  names.erase(f.name());
  return names;
}

bool single_pure(const Func& f) { return !f.has_update_definition() && f.outputs() == 1; }

// Consecutive outputs of the same IR shape (static extents): one Tuple-valued Func each, one launch.
std::vector<std::vector<size_t>> output_groups(const LoweredKernel& k) {
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    if (!groups.empty()) {
      size_t first = groups.back()[0];
      if (single_pure(k.outputs[first]) && single_pure(k.outputs[i]) &&
          k.output_static_extents[first] == k.output_static_extents[i] &&
          k.outputs[first].dimensions() == k.outputs[i].dimensions()) {
        groups.back().push_back(i);
        continue;
      }
    }
    groups.push_back({i});
  }
  return groups;
}

// The loops of one output group. Tile mode (by default, GpuTiling): blocks of 32 columns × 16 rows,
// each thread one column and 4 rows (unrolled), what the group reads computed inside the thread. Row
// mode: one block per row, threads along the columns, what the group reads computed in the block's
// shared memory.
struct GroupLoops {
  Halide::LoopLevel thread, block;
  Halide::LoopLevel tile;  // tile mode: the innermost block loop (one block's tile of columns × rows)
  bool tiled = false;
  int columns_per_block = 1;
  GpuTiling step_tile;  // tile mode: slices of a product, rows a thread computes (unrolled)
  // Row mode with rows (rank >= 2): a block is one row, so the step's row Funcs (LoweredKernel::
  // row_funcs) computed at it hold one row; null otherwise.
  const std::set<std::string>* one_row_funcs = nullptr;
};

// Tile mode: threads along the rows of a block (each GpuTiling::rows rows).
constexpr int kRowThreads = 4;

GroupLoops schedule_group(Func t, int64_t width, bool row_mode, const GpuTiling& tile) {
  const int rank = t.dimensions();
  GroupLoops loops;
  loops.step_tile = tile;
  if (rank == 0) {
    t.gpu_single_thread();
    loops.thread = loops.block = Halide::LoopLevel::root();
    return loops;
  }
  Var cols = var(t, 0);
  for (int d = 1; d + 1 < rank; ++d) {
    Var fused = fresh("cols");
    t.fuse(cols, var(t, d), fused);
    cols = fused;
    width = -1;
  }
  if (rank == 1) {
    // Per-row values ([batch]): one thread per row.
    Var bo = fresh("bb"), bi = fresh("tb");
    t.split(cols, bo, bi, 64, kGuard).gpu_blocks(bo).gpu_threads(bi);
    loops.thread = Halide::LoopLevel(t, bi);
    loops.block = Halide::LoopLevel(t, bo);
    return loops;
  }
  Var rows = var(t, rank - 1);
  if (row_mode) {
    const int tj = column_threads(width, 128);
    Var jo = fresh("jo"), tx = fresh("tx");
    t.split(cols, jo, tx, tj, kGuard).reorder(jo, tx, rows).gpu_threads(tx).gpu_blocks(rows);
    loops.thread = Halide::LoopLevel(t, jo);
    loops.block = Halide::LoopLevel(t, rows);
    loops.columns_per_block = tj;
    return loops;
  }
  const int tj = column_threads(width, tile.columns), ty = kRowThreads, rb = tile.rows;
  Var jo = fresh("bj"), tx = fresh("tx"), bo = fresh("bb"), bi = fresh("b"), tb = fresh("ty"), rr = fresh("rb");
  t.split(cols, jo, tx, tj, kGuard)
      .split(rows, bo, bi, ty * rb, kGuard)
      .split(bi, tb, rr, rb)
      .reorder(rr, tx, tb, jo, bo)
      .unroll(rr)
      .gpu_threads(tx, tb)
      .gpu_blocks(jo, bo);
  loops.thread = Halide::LoopLevel(t, tx);
  loops.block = Halide::LoopLevel(t, bo);
  loops.tile = Halide::LoopLevel(t, jo);
  loops.tiled = true;
  loops.columns_per_block = tj;
  return loops;
}

// Loads a thread issues before it waits on the first (the reduction unrolled this far).
constexpr int kReductionUnroll = 8;

// Slices a step product's reduction is split into, each summed by threads of its own.
constexpr int kProductSlices = 4;
// Reductions at least this long are split: a thread's chain of dependent multiply-adds is what bounds a
// step on a GPU (docs/performance.md: the steps are latency-bound, not bandwidth- or host-bound).
constexpr int64_t kSplitReduction = 128;
// Shared memory a block's partial sums may take (CUDA allows 48 KiB without opting in).
constexpr int64_t kPartialSumBytes = 40 * 1024;

// A step product's reduction k (static extent `extent`) split into `slices` slices of k (ks, each
// kin long) and rfactor'ed into `part`, the partial sums indexed by `slice`; the product's update then
// sums over ks. Where rfactor refuses (an update that is not associative), `part` is empty and the
// split stays: the update runs serially over kin and ks.
struct SlicedReduction {
  RVar ks = fresh_r("ks"), kin = fresh_r("kin");
  Var slice = fresh("kslice");
  std::optional<Func> part;
};

SlicedReduction slice_reduction(Stage u, RVar k, int64_t extent, int slices) {
  SlicedReduction r;
  u.split(k, r.ks, r.kin, static_cast<int>((extent + slices - 1) / slices), kGuard);
  try {
    r.part = u.rfactor(r.ks, r.slice);
  } catch (const Halide::Error&) {
  }
  return r;
}

// A thread-level product of a tile-mode group whose reduction is long: split into slices of k, their
// partial sums computed side by side by the block's threads (columns × row groups × slices) into shared
// memory at the block's tile; each thread then adds its slices (f's update then runs over the returned
// RVar). Shorter chains of dependent multiply-adds per thread, and more warps to hide their latency.
// `gates`: the gate dim of a gate-major product (dim 1), 0 for a plain one. Returns the reduction
// variables f's update is left with; nullopt (nothing done) where the reduction is short or the partial
// sums would not fit in shared memory.
std::optional<std::vector<RVar>> slice_tile_product(Stage u, RVar k, const GroupLoops& loops,
                                                    const FuncRoles::MatMul& product, int gates) {
  if (!loops.tiled || product.k_extent < kSplitReduction) return std::nullopt;
  const int threads_2d = loops.columns_per_block * kRowThreads;
  // A plain product's reduction is 4H long (the backward's dgates · W_hh): more slices.
  int slices = gates > 0 || product.k_extent < 1024 ? kProductSlices : 2 * kProductSlices;
  if (loops.step_tile.slices > 0) slices = loops.step_tile.slices;
  slices = std::min(slices, 1024 / threads_2d);
  const int64_t bytes = int64_t{std::max(gates, 1)} * threads_2d * loops.step_tile.rows * slices * 4;
  if (slices < 2 || bytes > kPartialSumBytes) return std::nullopt;
  const SlicedReduction sliced = slice_reduction(u, k, product.k_extent, slices);
  if (!sliced.part) return std::vector<RVar>{sliced.kin, sliced.ks};
  Func part = *sliced.part;
  const Var slice = sliced.slice;
  const RVar kin = sliced.kin;
  part.compute_at(loops.tile);
  auto tile_threads = [&](Stage p, bool is_update) {
    Var pj = var(part, 0), pb = var(part, gates > 0 ? 2 : 1);
    Var jo = fresh("pjo"), jt = fresh("ptx"), bo = fresh("pbo"), bi = fresh("pbi"), bt = fresh("pty"),
        br = fresh("pbr"), go = fresh("pgo"), gi = fresh("pgi");
    p.split(pj, jo, jt, loops.columns_per_block, kGuard)
        .split(pb, bo, bi, kRowThreads * loops.step_tile.rows, kGuard)
        .split(bi, bt, br, loops.step_tile.rows);
    if (gates > 0) p.split(var(part, 1), go, gi, gates, kGuard);
    std::vector<VarOrRVar> order;
    RVar kio = fresh_r("kio"), kii = fresh_r("kii");
    if (is_update) {
      p.split(kin, kio, kii, kReductionUnroll);
      order.push_back(kii);
    }
    if (gates > 0) order.push_back(gi);
    order.push_back(br);
    if (is_update) order.push_back(kio);
    for (VarOrRVar v : {VarOrRVar(jt), VarOrRVar(bt), VarOrRVar(slice)}) order.push_back(v);
    if (gates > 0) order.push_back(go);
    order.push_back(jo);
    order.push_back(bo);
    p.reorder(order).unroll(br).gpu_threads(jt, bt, slice);
    if (gates > 0) p.unroll(gi);
    if (is_update) p.unroll(kii);
  };
  tile_threads(Stage(part), false);
  tile_threads(part.update(0), true);
  return std::vector<RVar>{sliced.ks};
}

// A product computed inside one thread of a tile-mode group, for the thread's column and rows:
// registers over gates × rows, the reduction outside them.
void thread_level(Func f, const GroupLoops& loops, const FuncRoles::MatMul* product) {
  f.compute_at(loops.thread);
  if (!product) return;
  const int rank = f.dimensions();
  if (product->gate_major && rank >= 3) {
    Var g = var(f, 1), b = var(f, rank - 1);
    Var go = fresh("go"), gi = fresh("gi"), bo = fresh("bo"), bi = fresh("bi");
    const int gates = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(product->gates, 8)));
    f.split(g, go, gi, gates, kGuard).split(b, bo, bi, loops.step_tile.rows, kGuard).reorder(gi, bi, var(f, 0), go, bo).unroll(gi).unroll(bi);
    Stage u = f.update();
    std::vector<RVar> k;
    for (int j = 0; j < product->k.dimensions(); ++j) k.push_back(RVar(product->k[j]));
    // A long reduction is split (slice_tile_product): shorter chains, more warps.
    bool sliced = false;
    if (rank == 3 && k.size() == 1) {
      if (std::optional<std::vector<RVar>> rest = slice_tile_product(u, k[0], loops, *product, gates)) {
        k = *rest;
        sliced = true;
      }
    }
    Var ugo = fresh("go"), ugi = fresh("gi"), ubo = fresh("bo"), ubi = fresh("bi");
    u.split(g, ugo, ugi, gates, kGuard).split(b, ubo, ubi, loops.step_tile.rows, kGuard);
    std::vector<VarOrRVar> order{ugi, ubi};
    // The reduction unrolled too: a thread's step is a chain of k dependent iterations, each waiting on
    // its loads; unrolled, kReductionUnroll × (gates + rows) loads are in flight at once.
    RVar ki = fresh_r("ki");
    const bool unroll_k = !sliced && (product->k_extent < 0 || product->k_extent >= kReductionUnroll);
    if (unroll_k) {
      RVar ko = fresh_r("ko");
      u.split(k[0], ko, ki, kReductionUnroll);
      k[0] = ko;
      order.push_back(ki);
    }
    order.insert(order.end(), k.begin(), k.end());
    order.push_back(var(f, 0));
    order.push_back(ugo);
    order.push_back(ubo);
    u.reorder(order).unroll(ugi).unroll(ubi);
    if (unroll_k) u.unroll(ki);
    // A thread's tile is one column × gates × its rows (4 by default). Said so, the allocation has a
    // constant size and lives in registers; left to bounds inference, the guarded row split makes it
    // min(rows, 4) × …, a dynamic size that Halide puts in a per-thread heap in global memory.
    if (rank == 3) f.bound_storage(var(f, 0), 1).bound_storage(g, gates).bound_storage(b, loops.step_tile.rows);
  } else if (rank >= 2) {
    Var b = var(f, rank - 1);
    Var bo = fresh("bo"), bi = fresh("bi");
    f.split(b, bo, bi, loops.step_tile.rows, kGuard).unroll(bi);
    Stage u = f.update();
    std::vector<RVar> k;
    for (int j = 0; j < product->k.dimensions(); ++j) k.push_back(RVar(product->k[j]));
    if (rank == 2 && k.size() == 1) {
      if (std::optional<std::vector<RVar>> rest = slice_tile_product(u, k[0], loops, *product, 0)) k = *rest;
    }
    Var ubo = fresh("bo"), ubi = fresh("bi");
    u.split(b, ubo, ubi, loops.step_tile.rows, kGuard);
    std::vector<VarOrRVar> order{ubi};
    order.insert(order.end(), k.begin(), k.end());
    for (int d = 0; d + 1 < rank; ++d) order.push_back(var(f, d));
    order.push_back(ubo);
    u.reorder(order).unroll(ubi);
    f.bound_storage(b, loops.step_tile.rows);  // constant-size storage: registers, not a per-thread heap
  }
}

// A Func computed at a row-mode block, if it is one of the step's row Funcs (its outermost dim the
// batch), holds one row: said so, its shared memory has a constant size. Halide's own bound is the
// union of the rows the fused output groups cover at the block, each clamped into its group's buffer:
// computed per call on the host, so check_launch_limits could not count it (the layer-norm LSTM's
// backward step at H 384, 2026-12-07: 26 of its 85.5 KiB, before its values were one part wide).
// Other Funcs (a value without rows, a sum over the rows, a row statistic's lane partials) keep
// Halide's bound: Halide checks a declared bound only inside the kernel, where OpenCL drops the check,
// so a wrong one would go unnoticed.
void one_row(Func f, const GroupLoops& loops) {
  if (loops.one_row_funcs && f.dimensions() >= 1 && loops.one_row_funcs->count(f.name())) {
    f.bound_storage(var(f, f.dimensions() - 1), 1);
  }
}

// A per-row reduction in a row-mode block (a layer norm's statistics and its gradient's sums, each a
// tuple of two sums in one pass), summed in as many lanes as the block has threads (sum_in_lanes). Left
// alone, a chain of D dependent loads per reduction: a layer-norm LSTM's backward step had twelve, 4H
// long, 640 us a step on an H200.
void row_reduction(Func f, const GroupLoops& loops) {
  if (loops.columns_per_block >= 2) sum_in_lanes(f, loops.block, loops.columns_per_block);
}

// The loops of one stage of a Func computed in the shared memory of a row-mode block (one row): threads
// along its dim 0 (and, for the partial sums of a split product, along its slice), the stage's reduction
// serial inside each thread. A step is latency-bound (one block per row, few warps per SM), so a
// thread's reduction is unrolled and, for a product sliced by gates, all gates accumulate together:
// kReductionUnroll × gates independent loads in flight instead of one.
// Returns the thread loop's Var along dim 0.
Var spread_over_block(Func g, Stage s, std::vector<RVar> rvars, bool is_update, const GroupLoops& loops,
                      const FuncRoles::MatMul* product, const Var* slice = nullptr) {
  Var x = var(g, 0), xo = fresh("xo"), xi = fresh("tx");
  s.split(x, xo, xi, loops.columns_per_block, kGuard);
  std::vector<VarOrRVar> order;
  std::vector<VarOrRVar> unrolled;
  if (is_update && !rvars.empty()) {
    RVar ro = fresh_r("ro"), ri = fresh_r("ri");
    s.split(rvars[0], ro, ri, kReductionUnroll);
    order.push_back(ri);
    unrolled.push_back(ri);
    rvars[0] = ro;
  }
  const bool gates_inside = is_update && product && product->gate_major && g.dimensions() >= 3 &&
                            product->gates > 1 && product->gates <= 8;
  Var go, gi;
  if (gates_inside) {
    go = fresh("go");
    gi = fresh("gi");
    s.split(var(g, 1), go, gi, static_cast<int>(product->gates), kGuard);
    order.push_back(gi);
    unrolled.push_back(gi);
  }
  order.insert(order.end(), rvars.begin(), rvars.end());
  order.push_back(xo);
  order.push_back(xi);
  if (slice) order.push_back(*slice);
  for (int d = 1; d < g.dimensions(); ++d) {
    if (slice && var(g, d).name() == slice->name()) continue;
    order.push_back(gates_inside && d == 1 ? VarOrRVar(go) : VarOrRVar(var(g, d)));
  }
  s.reorder(order);
  if (slice) {
    s.gpu_threads(xi, *slice);
  } else {
    s.gpu_threads(xi);
  }
  for (const VarOrRVar& v : unrolled) s.unroll(v);
  return xi;
}

void block_level(Func f, const GroupLoops& loops, const FuncRoles::MatMul* product = nullptr) {
  f.compute_at(loops.block);
  one_row(f, loops);
  if (f.dimensions() < 2) {  // a per-row value: computed once per block
    if (!product) row_reduction(f, loops);
    return;
  }
  // A long product reduction (the backward's dgates · W_hh sums 4H terms per output) is rfactor'ed into
  // kProductSlices partial sums computed side by side by the block's threads (columns x slices), in
  // shared memory; each column's thread then adds its slices.
  if (product && f.num_update_definitions() == 1 && product->k.dimensions() == 1 &&
      product->k_extent >= kSplitReduction && loops.columns_per_block * kProductSlices <= 1024) {
    Stage u = f.update(0);
    const SlicedReduction sliced = slice_reduction(u, RVar(product->k[0]), product->k_extent, kProductSlices);
    if (sliced.part) {
      Func part = *sliced.part;
      if (!product->gate_major && product->n_extent > 0 && product->n_extent <= loops.columns_per_block) {
        // The slices' sums are read across the block's threads (shared memory), but each is summed by
        // one thread: in a register, stored once. Summed in shared memory, every multiply-add was
        // followed by a store (LLVM cannot tell the operand's shared memory from the sum's): 36 -> 27
        // instructions per 8 steps of k. Only where a thread has one column (n <= the block's threads):
        // its part is then one element (more columns would make its box span every column between
        // them); a gate-major product keeps its gates summed together in shared memory (more loads in
        // flight).
        Func sums = part.in(f);
        sums.compute_at(loops.block);
        const Var thread = spread_over_block(sums, Stage(sums), {}, false, loops, product, &sliced.slice);
        part.compute_at(sums, thread);
        for (int d = 0; d < part.dimensions(); ++d) part.bound_storage(var(part, d), 1);
        RVar ko = fresh_r("ko"), ki = fresh_r("ki");
        part.update(0).split(sliced.kin, ko, ki, kReductionUnroll).unroll(ki);
      } else {
        part.compute_at(loops.block);
        spread_over_block(part, Stage(part), {}, false, loops, product, &sliced.slice);
        spread_over_block(part, part.update(0), {sliced.kin}, true, loops, product, &sliced.slice);
      }
    }
    // f's update sums the slices over ks (the names Halide reports for its reduction variables are
    // qualified, which reorder does not take); where rfactor refused, it runs serially over kin and ks.
    spread_over_block(f, Stage(f), {}, false, loops, product);
    std::vector<RVar> rest{sliced.ks};
    if (!sliced.part) rest = {sliced.kin, sliced.ks};
    spread_over_block(f, u, rest, true, loops, product);
    return;
  }
  spread_over_block(f, Stage(f), {}, false, loops, product);
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    spread_over_block(f, f.update(u), update_rvars(f, u), true, loops, product);
  }
}

// A recurrent product whose weights are at most this many elements is computed row by row (one block
// per row reads all of them); larger ones are tiled, their operands materialised first.
constexpr int64_t kRowProductElements = 128 * 1024;

// The Func of one output group: a Tuple-valued wrapper of its outputs (Halide names the output
// buffers <func>.0, <func>.1, …), or a single output as it is unless `wrap` (where another group may
// read it: the output is then an ordinary Func the wrapper copies).
Func group_func(const LoweredKernel& k, const std::vector<size_t>& members, bool wrap) {
  if (members.size() == 1 && !wrap) return k.outputs[members[0]];
  Func t(k.outputs[members[0]].name() + "_group");
  std::vector<Var> vs = pure_vars(k.outputs[members[0]]);
  std::vector<Halide::Expr> args(vs.begin(), vs.end()), values;
  for (size_t m : members) values.push_back(k.outputs[m](args));
  if (values.size() == 1) {
    t(vs) = values[0];
  } else {
    t(vs) = Halide::Tuple(values);
  }
  return t;
}

// Row mode when the step reads a row-wide reduction computed in its block, or a small product of
// values computed in it.
bool needs_row_mode(const FuncRoles& roles, const std::set<std::string>& reach, RowStatistics statistics) {
  auto used = [&](const Func& f) { return reach.count(f.name()) > 0; };
  bool row_mode = false;
  if (statistics == RowStatistics::in_block) {
    for (const Func& f : roles.reductions) row_mode |= used(f);
  }
  for (const FuncRoles::MatMul& mm : roles.matmuls) {
    if (!used(mm.func) || mm.operands_are_inputs || mm.partial.defined()) continue;
    const int64_t elements = mm.n_extent * (mm.gate_major ? mm.gates : 1) * mm.k_extent;
    row_mode |= mm.n_extent > 0 && mm.k_extent > 0 && elements <= kRowProductElements;
  }
  return row_mode;
}

// What any of the Funcs reads.
std::set<std::string> reachable_from(const std::vector<Func>& fs) {
  std::set<std::string> reach;
  for (const Func& f : fs) {
    std::set<std::string> r = reachable(f);
    reach.insert(r.begin(), r.end());
  }
  return reach;
}

// Several output groups of a step in one launch: where the step is in row mode (one block per row
// computes everything a row needs in shared memory) and every group has rows. An LSTM's backward step
// at S was two launches (dh, dc; dgates and its running sum), each computing dgates; now one, dgates
// computed once.
bool fuse_in_one_launch(const LoweredKernel& k, const std::vector<std::vector<size_t>>& groups,
                        RowStatistics statistics) {
  if (groups.size() < 2) return false;
  for (const std::vector<size_t>& members : groups) {
    const Func& f = k.outputs[members[0]];
    if (f.dimensions() < 2 || f.has_update_definition()) return false;
  }
  return needs_row_mode(k.roles, reachable_from(k.outputs), statistics);
}

// Several output groups of a tiled step with row statistics, each a launch of its own, from one
// lowering: with the statistics materialised, what several groups read (the product they normalise,
// saved as an output too) is then computed once. Otherwise each group has a lowering of its own.
bool own_launches_from_one_lowering(const LoweredKernel& k, const std::vector<std::vector<size_t>>& groups,
                                    RowStatistics statistics) {
  return statistics == RowStatistics::materialised && groups.size() > 1 && row_mode_from_statistics(k);
}

// Schedules output groups of a step. One group: given a lowering of the step of its own (nothing it
// computes is shared with another group's launch). Several in row mode (`fuse_in_one_launch`): one
// launch, each group's loop nest fused with the first's at the block (one block per row), what any of
// them reads computed once in the block's shared memory. Several in tile mode (only with row statistics
// materialised, `own_launches`): a launch per group from one lowering, a product or a sum that several
// groups read computed once at root (the layer-norm LSTM's forward step saves the recurrent product its
// statistics read: computed twice when each group had a lowering of its own), what else they share
// inlined into each. Returns the groups' Funcs, pipeline outputs.
std::vector<Func> schedule_step_groups(LoweredKernel& k, const std::vector<std::vector<size_t>>& groups,
                                       const GpuTiling& tile, RowStatistics statistics) {
  FuncRoles& roles = k.roles;
  const bool own_launches = own_launches_from_one_lowering(k, groups, statistics);
  RNNC_INTERNAL_CHECK(groups.size() == 1 || own_launches || fuse_in_one_launch(k, groups, statistics))
      << "output groups in one lowering, neither fused in row mode nor tiled with materialised statistics";
  // Fused groups read each other's outputs through the wrappers (compute_with); groups of their own
  // keep their outputs as they are, as when each had a lowering of its own.
  std::vector<Func> ts;
  for (const std::vector<size_t>& members : groups) ts.push_back(group_func(k, members, groups.size() > 1 && !own_launches));
  const Func t = ts[0];
  const std::set<std::string> reach = reachable_from(ts);
  auto used = [&](const Func& f) { return reach.count(f.name()) > 0; };
  const bool row_mode = needs_row_mode(roles, reach, statistics);
  // Tile mode: which groups read a Func (each group is a launch of its own).
  std::vector<std::set<std::string>> group_reach;
  for (const Func& g : ts) group_reach.push_back(reachable(g));
  auto readers = [&](const Func& f) {
    size_t n = 0;
    for (const std::set<std::string>& r : group_reach) n += r.count(f.name());
    return n;
  };

  // Computed at root (a launch of its own before the group's): the kinds that run over the whole
  // sequence, and in tile mode the operands of products computed here (a tile reads them many times).
  std::map<std::string, Func> root;
  std::map<std::string, const FuncRoles::MatMul*> product_of;
  std::vector<Func> block_operands;
  for (const FuncRoles::MatMul& mm : roles.matmuls) {
    if (!used(mm.func)) continue;
    product_of[mm.func.name()] = &mm;
    if (mm.partial.defined()) {
      root[mm.func.name()] = mm.func;
      continue;
    }
    if (mm.operands_are_inputs) continue;
    for (const Func& operand : mm.operands) {
      if (is_input_wrapper(operand)) continue;
      if (row_mode) {
        block_operands.push_back(operand);
      } else {
        root[operand.name()] = operand;
      }
    }
  }
  for (const FuncRoles::ColumnSum& cs : roles.column_sums) {
    if (used(cs.func)) root[cs.func.name()] = cs.func;
  }
  for (const Func& f : roles.scatters) {
    if (used(f)) root[f.name()] = f;
  }
  for (const Func& f : roles.roots) {
    if (used(f)) root[f.name()] = f;
  }
  // Row statistics of a tiled step (RowStatistics::materialised): each a launch of its own before the
  // step's, which then reads them; what they read (the product they normalise) is computed at root
  // with them (below), so the tile reads that product too instead of computing it again.
  std::set<std::string> statistics_at_root;
  if (!row_mode) {
    for (const Func& f : roles.reductions) {
      if (!used(f)) continue;
      root[f.name()] = f;
      statistics_at_root.insert(f.name());
    }
  }
  std::vector<Func> updates, pures;
  for (const FuncRoles::MatMul& mm : roles.matmuls) {
    if (used(mm.func) && !mm.partial.defined()) updates.push_back(mm.func);
  }
  for (const Func& f : roles.reductions) {
    if (used(f)) updates.push_back(f);
  }
  for (const Func& f : roles.shared) {
    if (used(f)) pures.push_back(f);
  }
  if (own_launches) {
    for (const Func& f : updates) {
      if (readers(f) > 1) root[f.name()] = f;
    }
  }
  // What a root Func reads is computed with it: Funcs with updates at root too, pure ones inlined there.
  std::set<std::string> below_root;
  for (bool grew = true; grew;) {
    grew = false;
    below_root.clear();
    for (const auto& [name, f] : root) {
      std::set<std::string> r = reachable(f);
      below_root.insert(r.begin(), r.end());
    }
    for (const Func& f : updates) {
      if (below_root.count(f.name()) && !root.count(f.name())) {
        root[f.name()] = f;
        grew = true;
      }
    }
  }
  for (const Func& g : ts) root.erase(g.name());

  std::vector<GroupLoops> group_loops;
  group_loops.reserve(ts.size());  // `loops` stays a reference to the first
  group_loops.push_back(schedule_group(t, k.static_width(groups[0][0]), row_mode, tile));
  GroupLoops& loops = group_loops[0];
  if (row_mode && t.dimensions() >= 2) loops.one_row_funcs = &k.row_funcs;
  for (size_t g = 1; g < ts.size(); ++g) {
    if (own_launches) {
      group_loops.push_back(schedule_group(ts[g], k.static_width(groups[g][0]), false, tile));
      continue;
    }
    schedule_group(ts[g], k.static_width(groups[g][0]), true, tile);
    ts[g].compute_with(Stage(t), var(t, t.dimensions() - 1));  // row mode's block loop: the rows
  }
  // The loops a Func is computed in: its group's (own_launches: the one group that reads it).
  auto loops_of = [&](const Func& f) -> const GroupLoops& {
    for (size_t g = 1; own_launches && g < ts.size(); ++g) {
      if (group_reach[g].count(f.name())) return group_loops[g];
    }
    return loops;
  };
  std::set<std::string> placed;
  for (Func f : updates) {
    if (root.count(f.name())) continue;
    placed.insert(f.name());
    auto p = product_of.find(f.name());
    if (row_mode) {
      block_level(f, loops, p == product_of.end() ? nullptr : p->second);
    } else {
      thread_level(f, loops_of(f), p == product_of.end() ? nullptr : p->second);
    }
  }
  for (Func f : block_operands) {
    if (root.count(f.name()) || !placed.insert(f.name()).second) continue;
    block_level(f, loops);
  }
  for (Func f : pures) {
    // Read by a root Func: inlined there and here.
    if (root.count(f.name()) || below_root.count(f.name()) || !placed.insert(f.name()).second) continue;
    if (own_launches && readers(f) > 1) continue;  // inlined into each group that reads it
    if (row_mode) {
      block_level(f, loops);
    } else {
      const GroupLoops& at = loops_of(f);
      f.compute_at(at.thread);
      // A thread reads it at its rows (and, gate-major, one column): said so, the storage has a
      // constant size, not a per-thread heap in global memory. The rows unrolled too (guarded), so that
      // every index is a constant and the values live in registers, not in the thread's stack.
      if (f.dimensions() == 2) {
        Var rows = var(f, 1), ro = fresh("ro"), ri = fresh("ri");
        f.bound_storage(rows, at.step_tile.rows).split(rows, ro, ri, at.step_tile.rows, kGuard).unroll(ri);
      }
    }
  }

  for (const FuncRoles::MatMul& mm : roles.matmuls) {
    if (!root.count(mm.func.name())) continue;
    root.erase(mm.func.name());
    if (mm.partial.defined()) {
      transposed_product_schedule(mm, tile.gemm_unroll);
    } else {
      Func acc = mm.func;
      gemm_schedule(acc.in(), acc, mm.k, mm.n_extent, tile.gemm_unroll);
    }
  }
  for (const FuncRoles::ColumnSum& cs : roles.column_sums) {
    if (!root.count(cs.func.name())) continue;
    root.erase(cs.func.name());
    column_sum_schedule(cs, -1);
  }
  for (const Func& f : roles.scatters) {
    if (!root.count(f.name())) continue;
    root.erase(f.name());
    scatter_schedule(f);
  }
  for (auto& [name, f] : root) {
    if (statistics_at_root.count(name)) {
      statistics_schedule(f);
    } else {
      gpu_map_all(f, -1);
    }
  }
  return ts;
}

// A step's outputs are always whole rows (the executor slices rows and steps, never columns): said so,
// the sizes of what a block keeps in shared memory are constants, which compile_plan checks against
// what a launch may use (check_launch_limits). Halide constrains a Tuple's other buffers like its first.
void declare_static_columns(Func t, const std::vector<int64_t>& statics) {
  Halide::OutputImageParam out = t.output_buffers()[0];
  for (size_t d = 0; d + 1 < statics.size(); ++d) {
    if (statics[d] > 0) out.dim(static_cast<int>(d)).set_bounds(0, static_cast<int>(statics[d]));
  }
}

// ---- kernels that run once per sequence -----------------------------------------------------------

void schedule_once(LoweredKernel& k, const GpuTiling& tiling) {
  FuncRoles& roles = k.roles;
  std::set<std::string> scheduled;
  for (const FuncRoles::MatMul& mm : roles.matmuls) {
    // Operands computed in the kernel are materialised: a tile reads them many times.
    if (!mm.operands_are_inputs) {
      for (const Func& operand : mm.operands) {
        bool role = false;
        for (const FuncRoles::MatMul& other : roles.matmuls) role |= other.tiles.name() == operand.name();
        if (!is_input_wrapper(operand) && !role && scheduled.insert(operand.name()).second) gpu_map_all(operand, -1);
      }
    }
    if (mm.partial.defined()) {
      transposed_product_schedule(mm, tiling.gemm_unroll);
    } else {
      Func c = mm.output.defined() ? mm.output : mm.tiles;
      gemm_schedule(c, mm.func, mm.k, mm.n_extent, tiling.gemm_unroll);
    }
    scheduled.insert(mm.func.name());
    scheduled.insert((mm.output.defined() ? mm.output : mm.tiles).name());
  }
  for (const Func& f : roles.reductions) {
    if (scheduled.insert(f.name()).second) gpu_map_all(f, -1);
  }
  for (const FuncRoles::ColumnSum& cs : roles.column_sums) {
    scheduled.insert(cs.func.name());
    column_sum_schedule(cs, -1);
  }
  for (const Func& f : roles.scatters) {
    scheduled.insert(f.name());
    scatter_schedule(f);
  }
  for (const Func& f : roles.roots) {
    if (scheduled.insert(f.name()).second) gpu_map_all(f, -1);
  }
  for (const Func& f : roles.shared) {
    if (scheduled.insert(f.name()).second) gpu_map_all(f, -1);
  }
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    if (scheduled.count(k.outputs[i].name())) continue;
    gpu_map_all(k.outputs[i], k.static_width(i));
  }
}

// Halide skips producing what only a select's true branch reads when the branch is not taken; in a
// masked step that wraps each block-level stage of a row in `if (t < lengths[row])`, with the stage's
// barriers inside. The branch is uniform over the block, so CUDA is fine, but OpenCL compilers that
// run work-groups as loops (pocl) replicate the code after each conditional barrier, exponentially in
// their number (a layer-norm step did not compile in 10 minutes). The stages run unconditionally
// instead: a finished row computes values nobody reads (its reads are clamped into the buffers).
class UnconditionalBlockStages : public Halide::Internal::IRMutator {
 public:
  using IRMutator::visit;

 private:
  int block_depth_ = 0;

  Halide::Internal::Stmt visit(const Halide::Internal::For* op) override {
    const bool block = op->for_type == Halide::Internal::ForType::GPUBlock;
    block_depth_ += block;
    Halide::Internal::Stmt s = IRMutator::visit(op);
    block_depth_ -= block;
    return s;
  }

  Halide::Internal::Stmt visit(const Halide::Internal::IfThenElse* op) override {
    Halide::Internal::Stmt then_case = mutate(op->then_case);
    const auto* pc = then_case.as<Halide::Internal::ProducerConsumer>();
    if (block_depth_ > 0 && !op->else_case.defined() && pc && pc->is_producer && !mentions_thread_id(op->condition) &&
        has_barrier(then_case)) {
      return then_case;
    }
    Halide::Internal::Stmt else_case = op->else_case.defined() ? mutate(op->else_case) : op->else_case;
    return Halide::Internal::IfThenElse::make(op->condition, then_case, else_case);
  }

  static bool mentions_thread_id(const Halide::Expr& e) {
    struct Find : Halide::Internal::IRVisitor {
      using IRVisitor::visit;
      bool found = false;
      void visit(const Halide::Internal::Variable* op) override {
        found |= op->name.find("__thread_id_") != std::string::npos;
      }
    } find;
    e.accept(&find);
    return find.found;
  }

  static bool has_barrier(const Halide::Internal::Stmt& s) {
    struct Find : Halide::Internal::IRVisitor {
      using IRVisitor::visit;
      bool found = false;
      void visit(const Halide::Internal::Call* op) override {
        found |= op->is_intrinsic(Halide::Internal::Call::gpu_thread_barrier);
        IRVisitor::visit(op);
      }
    } find;
    s.accept(&find);
    return find.found;
  }
};

}  // namespace

std::string GpuTiling::to_string() const {
  return std::to_string(columns) + "," + std::to_string(slices) + "," + std::to_string(rows) + "; gemm k unroll " +
         std::to_string(gemm_unroll) + (materialise_row_statistics ? "; row statistics materialised" : "");
}

bool row_mode_from_statistics(const LoweredKernel& kernel) {
  const std::set<std::string> reach = reachable_from(kernel.outputs);
  return needs_row_mode(kernel.roles, reach, RowStatistics::in_block) &&
         !needs_row_mode(kernel.roles, reach, RowStatistics::materialised);
}

int checked_gpu_gemm_unroll(int64_t n) {
  RNNC_USER_CHECK(n == 1 || n == 2 || n == 4 || n == 8)
      << "--gpu-gemm-unroll: steps of k a GEMM thread unrolls must be 1, 2, 4 or 8, got '" << n << "'";
  return static_cast<int>(n);
}

GpuTiling parse_gpu_step_tile(const std::string& text) {
  GpuTiling tile;
  const size_t comma = text.find(',');
  auto number = [&](const std::string& part, const char* what) {
    char* end = nullptr;
    const long n = std::strtol(part.c_str(), &end, 10);
    RNNC_USER_CHECK(!part.empty() && *end == 0 && n >= 0 && n <= 1024)
        << "--gpu-step-tile: " << what << " must be a small non-negative integer, got '" << part << "' in '" << text
        << "'";
    return static_cast<int>(n);
  };
  RNNC_USER_CHECK(comma != std::string::npos)
      << "--gpu-step-tile takes COLUMNS,SLICES[,ROWS] (e.g. 8,8 or 32,4,1), got '" << text << "'";
  const size_t second = text.find(',', comma + 1);
  tile.columns = number(text.substr(0, comma), "COLUMNS");
  const size_t slices_end = second == std::string::npos ? text.size() : second;
  tile.slices = number(text.substr(comma + 1, slices_end - comma - 1), "SLICES");
  if (second != std::string::npos) {
    tile.rows = number(text.substr(second + 1), "ROWS");
    RNNC_USER_CHECK(tile.rows == 1 || tile.rows == 2 || tile.rows == 4)
        << "--gpu-step-tile: ROWS (rows of the step a thread computes) must be 1, 2 or 4, got " << tile.rows;
  }
  RNNC_USER_CHECK(tile.columns >= 1 && tile.columns <= 32 && (tile.columns & (tile.columns - 1)) == 0)
      << "--gpu-step-tile: COLUMNS must be 1, 2, 4, 8, 16 or 32 (threads along a warp), got " << tile.columns;
  RNNC_USER_CHECK(tile.slices <= 16 && tile.columns * kRowThreads * std::max(tile.slices, 1) <= 1024)
      << "--gpu-step-tile: SLICES must be 0 (by rule) to 16, with COLUMNS x " << kRowThreads << " x SLICES at most "
      << "1024 threads a block; got " << text;
  return tile;
}

void add_gpu_lowering_passes(Halide::Pipeline& pipeline) {
  pipeline.add_custom_lowering_pass(new UnconditionalBlockStages);
}

LowerOptions gpu_lower_options(const runtime::KernelSpec& spec) {
  LowerOptions o;
  o.slice_products = spec.step;
  o.concat_by_parts = false;
  o.weight_panels = false;  // the executor passes a GPU step its weights as they are
  // Fewer, longer chunks than on a CPU: each chunk is a wave of blocks, not a cache-sized slab.
  o.transpose_a_chunk_steps = 16;
  o.transpose_a_chunk_rows = 1024;
  o.clamp_inputs = true;
  o.dense_static_inputs = true;
  o.products_into_outputs = false;  // GPU schedules tile a product apart from its readers
  return o;
}

LoweredKernel lower_for_gpu(const runtime::KernelSpec& spec, const Halide::Target& target, const GpuTiling& tile,
                            RowStatistics statistics) {
  RNNC_INTERNAL_CHECK(target.has_gpu_feature()) << "lower_for_gpu for a target without a GPU: " << target.to_string();
  LowerOptions options = gpu_lower_options(spec);
  // CUDA only: on OpenCL fast_inverse is native_recip, whose precision the device chooses.
  options.fast_reciprocals = target.has_feature(Halide::Target::CUDA);
  LoweredKernel k = lower_kernel(spec, options);
  if (!spec.step) {
    schedule_once(k, tile);
    return k;
  }
  std::vector<std::vector<size_t>> groups = output_groups(k);
  std::vector<Func> outputs;
  if (own_launches_from_one_lowering(k, groups, statistics) || fuse_in_one_launch(k, groups, statistics)) {
    outputs = schedule_step_groups(k, groups, tile, statistics);
  } else {
    // One launch per output group, each from a lowering of its own: what two groups both read is
    // computed in each (cheap elementwise or per-row work), never handed between launches.
    for (size_t g = 0; g < groups.size(); ++g) {
      if (g == 0) {
        outputs.push_back(schedule_step_groups(k, {groups[g]}, tile, statistics)[0]);
        continue;
      }
      LowerOptions own = options;
      own.name_suffix = "_g" + std::to_string(g);
      own.arguments_from = &k;
      LoweredKernel copy = lower_kernel(spec, own);
      outputs.push_back(schedule_step_groups(copy, {groups[g]}, tile, statistics)[0]);
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) declare_static_columns(outputs[g], k.output_static_extents[groups[g][0]]);
  k.outputs = outputs;
  return k;
}

}  // namespace rnnc::codegen
