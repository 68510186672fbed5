// A probe, not part of rnnc's code generation: one LSTM layer's recurrence (h·W_hh plus the gate math,
// all T steps) as ONE GPU kernel, a "persistent" scan. rnnc launches a kernel per time step; on the H200
// (2026-11-27) a step cost 15-17 us at workload S whatever its block count, against ~3 us for cuDNN's
// step, so the launch per step is the suspect. This measures, on the next device run, what a step costs
// without it. gpu_bench --persistent-probe checks and times it (persistent_probe.cpp).
//
// Why one kernel can run the whole sequence: an LSTM's batch rows never meet (a row's h_t depends only
// on its own h_{t-1}), so a block owns a few rows for all T steps, loops over time itself and needs only
// its own barrier between steps; no grid-wide synchronisation.
//
// How Halide 14 is made to express it (each point found by trying; the first two are compile errors):
//  - The state is one Func, state(row, b, t), and the scan one update: Halide forbids a Func reading
//    another Func that reads it back, so neither the gates nor their sums can be Funcs of their own.
//  - The column is a reduction variable, not a pure one: a pure var must appear unchanged in every
//    recursive reference, and h_t[j] reads h_{t-1}[k] for every k. Threads over it race only in Halide's
//    view: a step writes slice t and reads slice t-1 (allow_race_conditions).
//  - Halide puts a barrier after each iteration of a block-level serial loop only if its body holds more
//    than one thread loop; with one, the threads of a step read h_{t-1} unsynchronised. So the update's
//    domain has a phase, unrolled: each phase is a thread loop, and the time loop gets its bar.sync.
//    Nothing in the schedule asks for the barriers, so the generator counts them (3 a step) and fails
//    without them (checked: with the phase not unrolled it finds 0 and exits 1).
//  - Written out whole, the product's H terms a gate made ptxas hoist every load: 255 registers and
//    spills (H 128, 4 rows). So each (column, gate) thread sums its gate in chunks of 16 terms, a serial
//    loop, accumulating in the gate's row: 48 registers, no spills.
//
// The update's domain: (k chunk, column j, gate g, phase, step). Phase 0: thread (j, g) sums gate g of
// column j. Phase 1: c from the sums (threads g = 0 only; a `where`). Phase 2: h = o·tanh(c).
// state rows: [0, H) h, [H, 2H) c, [2H, 6H) the four gates' sums (scratch). state(·, ·, 0) is the zero
// initial state; step t (1..T) reads xp(·, b, t - 1), the input projection x·W_ih + b, gate-major (i, f,
// g, o). w(c, k) is W_hh with the gate column c contiguous, so a warp's loads of one k are coalesced.
// The pure definition zeroes every step's rows (one more kernel, 40 MB written at S, in the time).
//
//   persistent_lstm_generator OUT_DIR HIDDEN ROWS NAME TARGET [NAME TARGET]…
//
// writes OUT_DIR/NAME.a and NAME.h for each (kernels only; the Halide runtime comes from the models
// gpu_bench links). ROWS: batch rows a block, computed as vector lanes of one thread (CPU: a task's);
// the batch must be a multiple of it (an assertion of the pipeline otherwise).
#include <Halide.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace Halide;

Func persistent_lstm(const ImageParam& xp, const ImageParam& w, int H, int rows, const Target& target) {
  constexpr int kChunk = 16;  // terms of the product a thread sums per iteration of its k loop
  Var r("r"), b("b"), t("t");
  Func state("state");
  state(r, b, t) = 0.0f;
  const Expr steps = xp.dim(2).extent();
  // kc: chunk of k (a thread's serial loop); j: column, g: gate (the threads); phase; step (time).
  RDom s({{0, H / kChunk}, {0, H}, {0, 4}, {0, 3}, {1, steps}}, "s");
  const Expr kc = s[0], j = s[1], g = s[2], phase = s[3], step = s[4];
  // Phase 0 (every gate, every chunk): the gate's sum, accumulated in its row. Phases 1 and 2 (one
  // thread a column): c, then h, from the sums.
  s.where(phase == 0 || (kc == 0 && g == 0));
  Expr chunk = select(kc == 0, xp(g * H + j, b, step - 1), state(2 * H + g * H + j, b, step));
  for (int u = 0; u < kChunk; ++u) {
    chunk += w(g * H + j, kc * kChunk + u) * state(kc * kChunk + u, b, step - 1);
  }
  auto sum = [&](int gate) { return state(2 * H + gate * H + j, b, step); };
  auto sigmoid = [](Expr x) { return 1.0f / (1.0f + exp(-x)); };
  const Expr c = sigmoid(sum(1)) * state(H + j, b, step - 1) + sigmoid(sum(0)) * tanh(sum(2));
  const Expr h = sigmoid(sum(3)) * tanh(state(H + j, b, step));
  state(select(phase == 0, 2 * H + g * H + j, phase == 1, H + j, j), b, step) =
      select(phase == 0, chunk, phase == 1, c, h);

  Var bo("bo"), bi("bi");
  if (target.has_gpu_feature()) {
    Var all("all"), ao("ao"), ai("ai");
    state.fuse(r, b, all).fuse(all, t, all).gpu_tile(all, ao, ai, 256, TailStrategy::GuardWithIf);
    state.update()
        .allow_race_conditions()
        .split(b, bo, bi, rows, TailStrategy::RoundUp)
        .reorder(bi, s[0], s[1], s[2], s[3], s[4], bo)
        .vectorize(bi)
        .unroll(s[3])
        .gpu_blocks(bo)
        .gpu_threads(s[1], s[2]);
  } else {
    state.parallel(t);
    state.update()
        .allow_race_conditions()
        .split(b, bo, bi, rows, TailStrategy::RoundUp)
        .reorder(bi, s[0], s[1], s[2], s[3], s[4], bo)
        .parallel(bo);
  }
  // The output is dense in rows: the caller allocates (6H, B, T + 1).
  state.output_buffer().dim(0).set_min(0).set_extent(6 * H).set_stride(1);
  return state;
}

// Counts the block barriers in the lowered code (run as Halide's last lowering pass, before the kernels
// are extracted). Without one the kernel would be wrong on a GPU, and nothing in the schedule asks for
// it: Halide inserts it (see above), so a Halide that stopped doing so must fail here, not on a device.
class CountBarriers : public Internal::IRMutator {
 public:
  explicit CountBarriers(int* count) : count_(count) {}
  using Internal::IRMutator::visit;
  Expr visit(const Internal::Call* op) override {
    if (op->is_intrinsic(Internal::Call::gpu_thread_barrier)) ++*count_;
    return Internal::IRMutator::visit(op);
  }

 private:
  int* count_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || (argc - 4) % 2 != 0) {
    std::fprintf(stderr, "usage: persistent_lstm_generator OUT_DIR HIDDEN ROWS NAME TARGET [NAME TARGET]...\n");
    return 2;
  }
  const std::string out = argv[1];
  const int H = std::atoi(argv[2]), rows = std::atoi(argv[3]);
  if (H < 16 || H % 16 != 0 || rows < 1) {
    std::fprintf(stderr, "persistent_lstm_generator: HIDDEN must be a positive multiple of 16 and ROWS positive, got '%s' and '%s'\n", argv[2],
                 argv[3]);
    return 2;
  }
  try {
    for (int i = 4; i + 1 < argc; i += 2) {
      const std::string name = argv[i];
      const Target target = Target(argv[i + 1]).with_feature(Target::NoRuntime);
      ImageParam xp(Float(32), 3, "xp"), w(Float(32), 2, "w");
      xp.dim(0).set_min(0).set_extent(4 * H).set_stride(1);
      w.dim(0).set_min(0).set_extent(4 * H).set_stride(1);
      w.dim(1).set_min(0).set_extent(H).set_stride(4 * H);
      Func state = persistent_lstm(xp, w, H, rows, target);
      int barriers = 0;
      state.add_custom_lowering_pass(new CountBarriers(&barriers));
      state.compile_to_static_library(out + "/" + name, {xp, w}, name, target);
      // Three a step: after the sums, after c, after h (the one the next step needs).
      if (target.has_gpu_feature() && barriers != 3) {
        std::fprintf(stderr, "persistent_lstm_generator: %s: the kernel has %d block barriers, not 3 (one after each "
                     "phase of a step): its threads would read h unsynchronised\n", name.c_str(), barriers);
        return 1;
      }
    }
  } catch (const Halide::Error& e) {
    std::fprintf(stderr, "persistent_lstm_generator: %s\n", e.what());
    return 1;
  }
  return 0;
}
