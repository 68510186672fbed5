#include "codegen/schedule_cpu.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "runtime/row_split.h"

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

int schedule_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

namespace {

Var var(const Func& f, int i) { return f.args()[i]; }

// A register tile of the products: nt outputs (vectors of `lanes`) by mt rows, 24 accumulators on
// AVX-512 (6 rows x 4 vectors where the caller allows four, else 12 x 2), 12 of AVX2's 16 (6 x 2).
struct RegisterTile {
  int nt, mt;
};
RegisterTile register_tile(int lanes, bool four_vectors) {
  four_vectors = four_vectors && lanes >= 16;
  // The executor splits a scan's rows over threads in these units (runtime/row_split.h).
  constexpr int rows = runtime::kStepRowTile;
  return {four_vectors ? 4 * lanes : 2 * lanes, lanes >= 16 && !four_vectors ? 2 * rows : rows};
}

// A pure definition: vectorise the innermost dim, parallelise the outermost. A scan step's rows (one
// step of a batch) are few: they go to the threads in blocks of 8, which measured 30% faster per LSTM
// step than running its elementwise work on one thread.
// Threads: may the kernel use Halide's thread pool at all (not when the executor already runs row
// ranges of a scan on threads of its own)?
bool g_threads = true;

// A stage of f over its outermost dim on the thread pool (a step's rows in blocks of 8).
void parallel_rows(Halide::Stage s, const Func& f, bool step) {
  const int rank = f.dimensions();
  if (rank < 2 || !g_threads) return;
  if (step) {
    s.parallel(var(f, rank - 1), 8, TailStrategy::GuardWithIf);
  } else {
    s.parallel(var(f, rank - 1));
  }
}

void map_schedule(Func f, int lanes, int64_t inner_extent, bool step) {
  if (f.dimensions() == 0) return;
  if (inner_extent < 0 || inner_extent >= lanes) f.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  parallel_rows(f, f, step);
}

// A sum over `r` split across the threads: `f`'s update sums consecutive runs of r into copies of the
// result of their own (rfactor), one part per core, and then adds the copies. (Twice as many parts as
// cores, as before, zeroed and added twice as many copies: kernel_bench train, an LSTM's weight
// gradients over 16 / 32 / 64 steps 0.46 / 0.79 / 1.45 ms against 0.41 / 0.72 / 1.37 with one part per
// core, and even over S's 200 steps, 4.2-4.5 ms either way.) Returns the copies' Func, whose update
// loops over `r_in_part` with the part `u` outermost and parallel; f's own update vectorised over its
// innermost dim.
Func sum_in_parts(Func f, RVar r, RVar r_in_part, Var u, int lanes, bool vectorize) {
  const int parts = schedule_cores();
  RVar part("part");
  f.update().split(r, part, r_in_part, Halide::max(1, (r.extent() + parts - 1) / parts));
  Func copies = f.update().rfactor(part, u);
  copies.compute_root().update().parallel(u);
  if (vectorize) {
    f.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
    f.update().vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  }
  return copies;
}

// A transpose_a product out[M, N] = Σ over rows a[rows, M]ᵀ · b[rows, N]: the output is small, the
// reduction long. For each chunk of rows, every register tile (NT × MT) of the output sums that chunk
// into registers (`partial`) and adds it in, so the chunk is read from cache, not memory, by all tiles.
// Where a copy of the output fits in an L2 (1 MiB here: S's [512, 128], H 256's [1024, 256]), threads
// split the rows, not the output: each sums its own consecutive chunks into a copy of the output of its
// own (Halide's rfactor), and the copies are added at the end. Splitting the output's tiles among the
// threads instead forked and joined them once per chunk (50 times per product at S), and both threads
// read every chunk: S's four weight gradients took 6.4-7.4 ms each, 4.8-5.2 ms this way, and H 256's
// [1024, 256] ones (1 MiB a copy, this machine's whole L2) 21.7-22.1 -> 18.6-19.2 ms
// (docs/performance.md). Larger outputs keep the tiles split: with a [2048, 512] copy per part (LSTM
// H 512) the row split made the training step 1.3-1.4x slower.
constexpr int64_t kRowSplitOutputBytes = 1024 * 1024;

void transposed_matmul_schedule(const FuncRoles::MatMul& mm, int lanes) {
  Func acc = mm.func, partial = mm.partial;
  Func c = mm.output.defined() ? mm.output : mm.tiles;
  if (!mm.output.defined()) c.compute_root();
  acc.compute_root();
  map_schedule(c, lanes, mm.n_extent, false);
  Var n = var(acc, 0), m = var(acc, 1), c_var = var(partial, 2);
  // Where the chunks are summed: the output itself, or with the rows split, each part's copy of it.
  Func sums = acc;
  RVar chunk = mm.chunks.x;
  Var u("u");  // sums' part, outermost (rfactor leaves it where the part's RVar was)
  const bool split_rows = g_threads && mm.output_bytes > 0 && mm.output_bytes <= kRowSplitOutputBytes;
  if (split_rows) {
    RVar chunk_in_part("chunk_in_part");
    sums = sum_in_parts(acc, chunk, chunk_in_part, u, lanes, mm.n_extent >= lanes);
    chunk = chunk_in_part;
  }
  // AVX-512 where N is a whole number of 64-column tiles: 6 rows x 4 vectors (10 loads per 24 FMAs, not
  // 14), as the plain products. kernel_bench train at S: the [512, 128] gradients 4.4-4.7 -> 4.3 ms each,
  // the [512, 100] one (computed transposed, N 512) 4.2 -> 3.7.
  const RegisterTile tile = register_tile(lanes, mm.n_extent > 0 && mm.n_extent % (4 * lanes) == 0);
  int nt = tile.nt;
  const int mt = tile.mt;
  if (mm.n_extent < nt) nt = lanes;
  if (mm.n_extent < nt) {
    // Narrow or ragged: vectorised where it can be, one chunk at a time.
    if (mm.n_extent >= lanes) {
      sums.vectorize(n, lanes, TailStrategy::GuardWithIf);
      sums.update().vectorize(n, lanes, TailStrategy::GuardWithIf);
    }
    if (split_rows) sums.update().reorder(chunk, n, m, u);
    partial.compute_at(sums, chunk);
    if (mm.n_extent >= lanes) partial.vectorize(n, lanes, TailStrategy::GuardWithIf);
    return;
  }
  // A ragged N (100 outputs for 16-wide tiles) guards its last tile; an exact one is unguarded.
  const bool exact = mm.n_extent % nt == 0;
  const TailStrategy n_tail = exact ? TailStrategy::RoundUp : TailStrategy::GuardWithIf;
  Var no("no"), ni("ni"), mo("mo"), mi("mi"), pni("pni"), pmi("pmi");
  sums.vectorize(n, lanes, TailStrategy::GuardWithIf);
  sums.update()
      .split(n, no, ni, nt, n_tail)
      .split(m, mo, mi, mt, TailStrategy::GuardWithIf)
      .vectorize(ni, lanes, TailStrategy::GuardWithIf)
      .unroll(ni)
      .unroll(mi);
  if (split_rows) {
    sums.update().reorder(ni, mi, no, mo, chunk, u);
  } else {
    // The output's tiles split among the threads, chunk by chunk, in blocks of kRowTilesPerBlock row
    // tiles: within a block, the column tiles outside its row tiles, so that a column strip of the
    // chunk's b (64 columns of 256 rows: 64 KiB) is read from L2 by the block's row tiles, not from L3
    // by each (kernel_bench train, the LSTM's dW_hh: H 512 [2048, 512] 44.1-47.8 -> 41.9-43.4 ms, H 1024
    // [4096, 1024] 184-218 -> 165-182 ms).
    // Smaller blocks where there are many cores: at least 8 blocks a core (the blocks were measured on 2
    // cores only).
    constexpr int64_t kRowTilesPerBlock = 8;
    const int64_t m_extent = mm.output_bytes > 0 && mm.n_extent > 0
                                 ? mm.output_bytes / mm.func.output_types()[0].bytes() / mm.n_extent : -1;
    const int64_t block = m_extent > 0 ? std::clamp<int64_t>(m_extent / mt / (8 * schedule_cores()), 1, kRowTilesPerBlock)
                                       : kRowTilesPerBlock;
    Var mob("mob");
    if (g_threads && m_extent > 0) {
      // Each thread owns an equal run of the row tiles, outermost, for every chunk: no fork and join per
      // chunk, no wait at its end for the thread with one block more (H 512's 43 blocks of [2048, 512] on
      // two threads: 22 and 21). kernel_bench train, LSTM H 512, the three [2048, 512] gradients
      // 80.2-82.7 -> 67.3-75.1 ms each (dynamic blocks per chunk before).
      Var part("mpart");
      const int64_t row_tiles = (m_extent + mt - 1) / mt;
      const int tiles_per_part = static_cast<int>((row_tiles + schedule_cores() - 1) / schedule_cores());
      sums.update()
          .split(mo, part, mo, tiles_per_part, TailStrategy::GuardWithIf)
          .split(mo, mob, mo, static_cast<int>(block), TailStrategy::GuardWithIf)
          .reorder(ni, mi, mo, no, mob, chunk, part)
          .parallel(part);
    } else {
      sums.update().split(mo, mob, mo, static_cast<int>(block), TailStrategy::GuardWithIf).reorder(ni, mi, mo, no, mob, chunk);
      if (g_threads) sums.update().parallel(mob);
    }
  }
  // Inside the innermost of the tile loops: the column tiles where the rows are split, the row tiles of a
  // block where the tiles are.
  partial.compute_at(sums, split_rows ? no : mo).bound_storage(m, mt).bound_storage(c_var, 1);
  if (exact) partial.bound_extent(n, nt);
  partial.split(n, n, pni, nt, n_tail)
      .split(m, m, pmi, mt, TailStrategy::GuardWithIf)
      .vectorize(pni, lanes, TailStrategy::GuardWithIf)
      .unroll(pni)
      .unroll(pmi);
  std::vector<Halide::VarOrRVar> order{pni, pmi};
  for (int j = 0; j < mm.k.dimensions(); ++j) order.push_back(RVar(mm.k[j]));
  order.push_back(n);
  order.push_back(m);
  order.push_back(c_var);
  partial.update()
      .split(n, n, pni, nt, n_tail)
      .split(m, m, pmi, mt, TailStrategy::GuardWithIf)
      .reorder(order)
      .vectorize(pni, lanes, TailStrategy::GuardWithIf)
      .unroll(pni)
      .unroll(pmi);
}

// Every Func the kernel's outputs reach, by name (walked once per kernel, not per product).
using FuncsByName = std::map<std::string, Halide::Internal::Function>;
FuncsByName reached_funcs(const LoweredKernel& k) {
  FuncsByName reached;
  for (const Func& o : k.outputs) {
    FuncsByName calls = Halide::Internal::find_transitive_calls(o.function());
    reached.insert(calls.begin(), calls.end());
  }
  return reached;
}

// Whether a Func not in `owners` calls one of `funcs` (among the Funcs the kernel's outputs reach).
bool read_elsewhere(const FuncsByName& reached, const std::set<std::string>& funcs, const std::set<std::string>& owners) {
  for (const auto& [name, g] : reached) {
    if (owners.count(name)) continue;
    for (const auto& [callee, unused] : Halide::Internal::find_direct_calls(g)) {
      if (funcs.count(callee)) return true;
    }
  }
  return false;
}

// A product with large weights (FuncRoles::MatMul::blocked: over 8 MiB, H >= 725 for an LSTM, where they
// are not read as column panels, runtime/weight_panels.h: N not a multiple of 64, or weights that are
// not a kernel input read only by products) is computed in
// blocks of the output: mc rows x nc columns, whose accumulator stays in L2, summed over k in chunks of
// kc. For each chunk and 16-column panel, the panel (kc x 16 floats) is first packed into 8 contiguous
// KiB, then every register tile of the block's rows runs over it from L1. Read in place, a panel's rows
// lie a power of two apart (n x 4 bytes) and so map to one or two L1 sets: every tile reloads them from
// L3 or memory. Measured on this 2-core EPYC (docs/performance.md): the LSTM at H 1024, 2.2x faster
// forward, 1.8x training. Row tiles round up past the edge where the product reads its rows clamped
// (lower.cpp): a guarded partial tile spills its accumulators.
void blocked_matmul_schedule(const FuncRoles::MatMul& mm, Func c, int lanes) {
  Func acc = mm.func;
  const int rank = c.dimensions();
  const auto [nt, mt] = register_tile(lanes, /*four_vectors=*/false);
  const int mc = mt * (lanes >= 16 ? 6 : 11), kc = 128;
  const int nc = static_cast<int>(std::min<int64_t>(512, mm.n_extent / nt * nt));
  Var n = var(c, 0), m = var(c, 1), nb("nb"), nbi("nbi"), mb("mb"), mbi("mbi");
  c.split(n, nb, nbi, nc, TailStrategy::ShiftInwards)
      .split(m, mb, mbi, mc, TailStrategy::GuardWithIf)
      .reorder(nbi, mbi, mb, nb)
      .vectorize(nbi, lanes);
  // A time-stacked product splits across threads by time step; a step's by column block (its rows are
  // few, its columns many).
  if (g_threads) c.parallel(rank >= 3 ? var(c, rank - 1) : nb);
  Var an = var(acc, 0), am = var(acc, 1), ano("ano"), ani("ani"), amo("amo"), ami("ami");
  RVar k = mm.k[0], ko("ko"), ki("ki");
  acc.compute_at(c, mb).vectorize(an, lanes, TailStrategy::GuardWithIf);
  acc.update()
      .split(an, ano, ani, nt, TailStrategy::GuardWithIf)
      .split(am, amo, ami, mt, mm.rows_clamped ? TailStrategy::RoundUp : TailStrategy::GuardWithIf)
      .split(k, ko, ki, kc, TailStrategy::GuardWithIf)
      .reorder(ani, ami, ki, amo, ano, ko)
      .vectorize(ani, lanes)
      .unroll(ani)
      .unroll(ami);
  if (!mm.b_transposed) {
    Func b = mm.operands[1];
    Func panel = b.in(acc);
    panel.compute_at(acc, ano).vectorize(var(panel, 0), lanes, TailStrategy::GuardWithIf);
  }
}

// Register-blocked matrix product. The product C[rows…, N] is computed in tiles of NT outputs (two
// vectors; four on AVX-512 where N allows) by MT rows; each tile's accumulators (NT/lanes × MT vector
// registers: 12 of AVX2's 16, 24 of AVX-512's 32) stay in registers for the whole reduction, which
// streams one broadcast of A per row and one vector load of B per vector per step. N is static: its
// tiles shift inwards at the edge instead of being guarded. Rows are symbolic (batch), so the last row
// tile is guarded.
void matmul_schedule(const FuncsByName& reached, const FuncRoles::MatMul& mm, int lanes, bool step) {
  if (mm.partial.defined()) return transposed_matmul_schedule(mm, lanes);
  Func acc = mm.func;
  Func c = mm.output.defined() ? mm.output : mm.tiles;
  if (!mm.output.defined()) c.compute_root();
  const int rank = c.dimensions();
  // AVX-512: 6 rows x 4 vectors (64 columns) where N allows, i.e. 24 accumulators fed by 4 loads and 6
  // broadcasts per step of k; measured on Zen 5 against 12 x 2 vectors (14 loads per 24 FMAs): workload
  // S forward 44-46 -> ~31 ms, training step 126-132 -> 105-115 ms (docs/performance.md). AVX2: 6 x 2.
  const RegisterTile tile = register_tile(lanes, mm.n_extent >= 4 * lanes);
  int nt = tile.nt;
  const int mt = tile.mt;
  if (mm.n_extent >= lanes && mm.n_extent < nt) nt = lanes;
  // A product that is an output is normally built in the output Func itself (lowering's
  // products_into_outputs: a layer-norm step saving h·W_hh, whose gate math reads the output). Where
  // lowering kept a Func of its own for it that other Funcs read (products_into_outputs off), the
  // product cannot live in the output's tiles: it is computed once, at root.
  // Readers of the product are those of `acc` and of its `tiles` (inlined into theirs), but the tiles
  // themselves and the output are not others. Counting the tiles as another reader once sent every
  // hoisted projection down the untiled path below, 5-6x slower (tests/unit/schedule_cpu_test.cpp).
  // (When the tiles are the output itself, a reader of the output reads its buffer: not counted.)
  std::set<std::string> product{acc.name()};
  if (mm.tiles.name() != c.name()) product.insert(mm.tiles.name());
  const bool shared = mm.output.defined() && read_elsewhere(reached, product, {acc.name(), mm.tiles.name(), c.name()});
  if (shared) {
    // Then it is tiled into a root buffer of its own, which the output copies. (Computed untiled, as
    // it once was, every output vector was one chain of dependent FMAs: a layer-norm LSTM's training
    // forward step, which saves h·W_hh, took 270 us instead of ~60.)
    c = mm.tiles;
    c.compute_root();
    map_schedule(mm.output, lanes, mm.n_extent, step);
  }
  if (rank < 2 || mm.n_extent < nt) {
    // Too narrow to tile: a vectorised accumulation over rows, computed once.
    acc.compute_root();
    bool wide = mm.n_extent < 0 || mm.n_extent >= lanes;
    if (wide) {
      acc.vectorize(var(acc, 0), lanes, TailStrategy::GuardWithIf);
      acc.update().vectorize(var(acc, 0), lanes, TailStrategy::GuardWithIf);
    }
    if (rank >= 2 && g_threads) {
      acc.parallel(var(acc, rank - 1));
      acc.update().parallel(var(acc, rank - 1));
    }
    map_schedule(c, lanes, mm.n_extent, false);
    return;
  }
  if (mm.blocked) return blocked_matmul_schedule(mm, c, lanes);
  Var n = var(c, 0), m = var(c, 1);
  Var no("no"), ni("ni"), mo("mo"), mi("mi");
  c.split(n, no, ni, nt, TailStrategy::ShiftInwards).split(m, mo, mi, mt, TailStrategy::GuardWithIf);
  // Weights read as column panels (runtime/weight_panels.h): the panels outermost, so that each stays
  // in cache while every row tile reads it.
  // Bounded at 0, a tile's vectors lie in one panel known at compile time (n / 64 of a whole tile; on
  // AVX2 four 16-column tiles share a panel), not a gather (checked in the stmt: AVX-512, AVX2, SSE4.1).
  if (mm.b_panels) {
    c.bound(n, 0, static_cast<int>(mm.n_extent)).reorder(ni, mi, mo, no);
  } else {
    c.reorder(ni, mi, no, mo);
  }
  c.vectorize(ni, lanes).unroll(mi);
  // Rows of a time-stacked product split across threads by time step; a plain matrix by row tile (by
  // panel where the panels are outermost).
  if (g_threads) c.parallel(rank >= 3 ? var(c, rank - 1) : mm.b_panels ? no : mo);

  Var an = var(acc, 0), am = var(acc, 1), ani("ani"), ami("ami");
  // Constant-size accumulators: the row tile at the edge is guarded (fewer rows), which would otherwise
  // make the scratch's size dynamic and put a malloc and a free around every tile.
  acc.compute_at(c, mm.b_panels ? mo : no).bound_extent(an, nt).bound_storage(am, mt);
  for (int d = 2; d < acc.dimensions(); ++d) acc.bound_storage(var(acc, d), 1);
  acc.split(an, an, ani, nt).split(am, am, ami, mt, TailStrategy::GuardWithIf).vectorize(ani, lanes).unroll(ani).unroll(ami);
  Halide::Stage update = acc.update();
  update.split(an, an, ani, nt).split(am, am, ami, mt, TailStrategy::GuardWithIf);
  // k is unrolled 4 ways (LSTM H 512 training 185-189 ms against 198-213 without), except in a
  // single-threaded time-stacked product (a feeder's _rows copy): there LLVM hoisted the 24 broadcasts of
  // the four k steps ahead of their FMAs and spilled the accumulators in every iteration (1.75x slower).
  const int k_unroll = (!g_threads && rank >= 3) || (mm.k_extent >= 0 && mm.k_extent < 4) ? 1 : 4;
  std::vector<Halide::VarOrRVar> order{ani, ami};
  RVar k = mm.k[0], ko("ko"), ki("ki");
  if (k_unroll > 1) {
    update.split(k, ko, ki, k_unroll);
    order.push_back(ki);
    order.push_back(ko);
  } else {
    order.push_back(k);
  }
  for (int j = 1; j < mm.k.dimensions(); ++j) order.push_back(RVar(mm.k[j]));
  order.push_back(an);
  order.push_back(am);
  update.reorder(order).vectorize(ani, lanes).unroll(ani).unroll(ami);
  if (k_unroll > 1) update.unroll(ki);
}

// A reduction along each row (a layer norm's row sums, a tuple of two in one pass, and its gradient's). Over
// one static extent that is a multiple of the vector width: summed as `lanes` interleaved partial sums
// (rfactor), a dense vector load per step; then each row adds its lanes. Left alone, each row is one
// scalar chain of dependent adds (4 cycles each): three quarters of a layer-norm LSTM step.
// The result is vectorised across rows (its innermost dim), whatever the extent, the last rows in a
// predicated vector: left as a scalar loop over rows, LLVM vectorised that loop itself, with the last
// rows of a call in a scalar epilogue that associates the sum differently (fast math), so a row's bits
// depended on where the call's rows began, which the executor's threads change while a scan runs
// (runtime/row_stealing.h). (GuardWithIf would also leave such a scalar tail.)
void reduction_schedule(Func f, int lanes) {
  f.compute_root();
  if (f.num_update_definitions() != 1 || f.dimensions() < 1) return;
  const Var rows = var(f, 0);
  f.vectorize(rows, lanes, TailStrategy::Predicate);
  auto rows_in_lanes = [&] { f.update().vectorize(rows, lanes, TailStrategy::Predicate); };
  const std::vector<Halide::Internal::ReductionVariable>& rvars = f.function().update(0).schedule().rvars();
  if (rvars.size() != 1) return rows_in_lanes();
  const int64_t* extent = Halide::Internal::as_const_int(rvars[0].extent);
  const int64_t* min = Halide::Internal::as_const_int(rvars[0].min);
  if (!extent || !min || *extent % lanes != 0 || *extent < 2 * lanes) return rows_in_lanes();
  RVar rx(rvars[0].var), rxo("rxo"), rxi("rxi");
  Var u("u");
  Func lanes_sum = f.update().split(rx, rxo, rxi, lanes).rfactor(rxi, u);
  // rfactor puts u outermost in storage: the lanes of a row would be a row count apart.
  std::vector<Var> storage{u};
  for (const Var& v : f.args()) storage.push_back(v);
  lanes_sum.compute_root().reorder_storage(storage).vectorize(u);
  // Row by row along the contiguous dim: rows are a power of two apart, and walking across them
  // (row innermost) thrashes a few L1 sets. Consecutive rows' chains overlap out of order.
  std::vector<Halide::VarOrRVar> order{u, rxo};
  for (const Var& v : f.args()) order.push_back(v);
  lanes_sum.update().reorder(order).vectorize(u);
  rows_in_lanes();  // each row adding its lanes
}

// A sum over leading dims keeping the contiguous one (a bias gradient: [T, B, 4H] -> [4H]): one pass
// over memory, vectorised along the kept dim, rows in order. With threads, each sums its own part of the
// outermost reduced dim into a copy of the result (rfactor) and the copies are added: the pass is bound
// by memory bandwidth, which one core does not saturate (kernel_bench train, S's two bias gradients:
// 0.57-0.62 -> 0.24-0.26 ms each).
void column_sum_schedule(const FuncRoles::ColumnSum& cs, int lanes) {
  Func f = cs.func;
  Func sums = f;
  const int outer = cs.r.dimensions() - 1;
  std::vector<RVar> reduced;
  for (int j = 0; j < cs.r.dimensions(); ++j) reduced.push_back(cs.r[j]);
  Var u("u");
  f.compute_root();
  if (g_threads) {
    RVar in_part("in_part");
    sums = sum_in_parts(f, reduced[outer], in_part, u, lanes, true);
    reduced[outer] = in_part;
  }
  sums.vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  std::vector<Halide::VarOrRVar> order{var(sums, 0)};
  for (const RVar& r : reduced) order.push_back(r);
  for (int d = 1; d < f.dimensions(); ++d) order.push_back(var(sums, d));
  if (sums.name() != f.name()) order.push_back(u);
  sums.update().reorder(order).vectorize(var(sums, 0), lanes, TailStrategy::GuardWithIf);
}

}  // namespace

void schedule_cpu(LoweredKernel& k, const Halide::Target& target) {
  int lanes = vector_lanes(target);
  g_threads = !k.single_threaded;
  const bool step = k.step;
  const FuncsByName reached = reached_funcs(k);
  for (const FuncRoles::MatMul& mm : k.roles.matmuls) matmul_schedule(reached, mm, lanes, step);
  for (Func f : k.roles.reductions) reduction_schedule(f, lanes);
  for (const FuncRoles::ColumnSum& cs : k.roles.column_sums) column_sum_schedule(cs, lanes);
  for (Func f : k.roles.scatters) {
    f.compute_root();
    f.update().vectorize(var(f, 0), lanes, TailStrategy::GuardWithIf);
  }
  for (const FuncRoles::Concat& c : k.roles.concats) {
    Func f = c.func;
    f.compute_root();
    map_schedule(f, lanes, -1, step);
    for (size_t u = 0; u < c.parts.size(); ++u) {
      Halide::Stage copy = f.update(static_cast<int>(u));
      copy.vectorize(RVar(c.parts[u].x), lanes, TailStrategy::GuardWithIf);
      parallel_rows(copy, f, step);
    }
  }
  for (Func f : k.roles.roots) f.compute_root();
  for (Func f : k.roles.shared) {
    f.compute_root();
    map_schedule(f, lanes, -1, step);
  }
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    bool is_product = false;
    for (const FuncRoles::MatMul& mm : k.roles.matmuls) is_product |= mm.output.defined() && mm.output.name() == k.outputs[i].name();
    if (is_product) continue;
    map_schedule(k.outputs[i], lanes, k.static_width(i), step);
  }
}

}  // namespace rnnc::codegen
