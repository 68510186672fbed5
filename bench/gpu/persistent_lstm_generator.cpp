// A probe, not part of rnnc's code generation: one LSTM layer's recurrence, forward (h·W_hh plus the gate
// math) and backward (the gates' gradients and da·W_hh^T), all T steps as ONE GPU kernel each, a
// "persistent" scan. rnnc launches a kernel per time step; on the H200 (2026-11-27) a step cost 15-17 us
// at workload S whatever its block count, against ~3 us for cuDNN's step, so the launch per step is the
// suspect. This measures, on the next device run, what a step costs without it. gpu_bench
// --persistent-probe checks and times it (persistent_probe.cpp).
//
// Why one kernel can run the whole sequence: an LSTM's batch rows never meet (a row's h_t depends only
// on its own h_{t-1}), so a block owns a few rows for all T steps, loops over time itself and needs only
// its own barrier between steps; no grid-wide synchronisation. (The backward's weight gradients do sum
// over rows: they stay outside, GEMMs over the saved da, as rnnc's hoisted ones are.)
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
// The update's domain: (chunk of a product, column j, gate g, phase, step); the directions' phases and
// state rows are described at persistent_lstm_forward and persistent_lstm_backward. state(·, ·, 0) is the
// zero initial carry. The pure definition zeroes every step's rows (one more kernel, 40 MB written by
// the forward at S, 66 MB by the backward, in the time).
//
//   persistent_lstm_generator OUT_DIR forward|backward HIDDEN ROWS NAME TARGET [NAME TARGET]…
//
//   persistent_lstm_generator OUT_DIR runtime TARGET
//
// writes OUT_DIR/NAME.a and NAME.h for each (kernels only; the Halide runtime comes from the models
// gpu_bench links, or from the second form, OUT_DIR/halide_runtime.o). ROWS: batch rows a block, computed as vector lanes of one thread (CPU: a task's);
// the batch must be a multiple of it (an assertion of the pipeline otherwise).
#include <Halide.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace Halide;

constexpr int kChunk = 16;  // terms of a product a thread sums per iteration of its serial loop

// The schedule both directions share: blocks over batch rows (`rows` a block, vector lanes of a thread),
// threads over (column, gate), the phase unrolled (one thread loop each: a barrier after each).
void schedule_scan(Func state, const RDom& s, int rows, int state_rows, const Target& target) {
  Var r = state.args()[0], b = state.args()[1], t = state.args()[2];
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
  // Dense in rows: the caller allocates (state_rows, B, T + 1).
  state.output_buffer().dim(0).set_min(0).set_extent(state_rows).set_stride(1);
}

Expr sigmoid(const Expr& x) { return 1.0f / (1.0f + exp(-x)); }

// Forward. xp (4H, B, T): the input projection x·W_ih + b, gate-major (i, f, g, o); w (4H, H): W_hh, the
// gate column contiguous (a warp's loads of one k coalesce). state rows: [0, H) h, [H, 2H) c, [2H, 6H)
// the gates' sums; step t (1..T) reads xp(·, ·, t - 1).
Func persistent_lstm_forward(const ImageParam& xp, const ImageParam& w, int H, int rows, const Target& target) {
  Var r("r"), b("b"), t("t");
  Func state("state");
  state(r, b, t) = 0.0f;
  // kc: chunk of k (a thread's serial loop); j: column, g: gate (the threads); phase; step (time).
  RDom s({{0, H / kChunk}, {0, H}, {0, 4}, {0, 3}, {1, xp.dim(2).extent()}}, "s");
  const Expr kc = s[0], j = s[1], g = s[2], phase = s[3], step = s[4];
  // Phase 0 (every gate, every chunk): the gate's sum, accumulated in its row. Phases 1 and 2 (one
  // thread a column): c, then h, from the sums.
  s.where(phase == 0 || (kc == 0 && g == 0));
  Expr chunk = select(kc == 0, xp(g * H + j, b, step - 1), state(2 * H + g * H + j, b, step));
  for (int u = 0; u < kChunk; ++u) {
    chunk += w(g * H + j, kc * kChunk + u) * state(kc * kChunk + u, b, step - 1);
  }
  auto sum = [&](int gate) { return state(2 * H + gate * H + j, b, step); };
  const Expr c = sigmoid(sum(1)) * state(H + j, b, step - 1) + sigmoid(sum(0)) * tanh(sum(2));
  const Expr h = sigmoid(sum(3)) * tanh(state(H + j, b, step));
  state(select(phase == 0, 2 * H + g * H + j, phase == 1, H + j, j), b, step) =
      select(phase == 0, chunk, phase == 1, c, h);
  schedule_scan(state, s, rows, 6 * H, target);
  return state;
}

// Backward, the time reversed: step s (1..T) takes time step T - s. acts (4H, B, T): the gates after
// their activations (i, f, g, o); cs (H, B, T + 1): c_0 (zero) … c_T; dh_out (H, B, T): the gradient
// reaching each h_t from above; wt (H, 4H): W_hh with k contiguous (a warp's loads of one gate column
// coalesce). state rows: [0, H) the gradient carried to h_{t-1}, [H, 2H) to c_{t-1}, [2H, 6H) da, the
// gates' gradients before their activations (what the weight gradients' GEMMs after the scan read),
// [6H, 10H) the four partial sums of da·W_hh.
Func persistent_lstm_backward(const ImageParam& acts, const ImageParam& cs, const ImageParam& dh_out,
                              const ImageParam& wt, int H, int rows, const Target& target) {
  Var r("r"), b("b"), t("t");
  Func state("state");
  state(r, b, t) = 0.0f;
  const Expr T = dh_out.dim(2).extent();
  RDom s({{0, H / kChunk}, {0, H}, {0, 4}, {0, 3}, {1, T}}, "s");
  const Expr kc = s[0], j = s[1], g = s[2], phase = s[3], step = s[4];
  const Expr time = T - step;
  // Phase 0 (thread (j, g)): da of gate g, column j. Phase 1 (thread (k, part), every chunk): part `part`
  // of sum_c W_hh(c, k) da(c), accumulated in its row. Phase 2: thread (j, 0) adds the parts into the h
  // carry, thread (j, 1) writes the c carry.
  s.where((phase == 0 && kc == 0) || phase == 1 || (phase == 2 && kc == 0 && g < 2));
  const Expr dh = dh_out(j, b, time) + state(j, b, step - 1);
  const Expr i = acts(j, b, time), f = acts(H + j, b, time), gg = acts(2 * H + j, b, time),
             o = acts(3 * H + j, b, time);
  const Expr tc = tanh(cs(j, b, time + 1));
  const Expr dc = state(H + j, b, step - 1) + dh * o * (1 - tc * tc);
  const Expr da = select(g == 0, dc * gg * i * (1 - i), g == 1, dc * cs(j, b, time) * f * (1 - f), g == 2,
                         dc * i * (1 - gg * gg), dh * tc * o * (1 - o));
  const Expr part = g, k = j;
  Expr chunk = select(kc == 0, 0.0f, state(6 * H + part * H + k, b, step));
  for (int u = 0; u < kChunk; ++u) {
    const Expr c = part * H + kc * kChunk + u;
    chunk += wt(k, c) * state(2 * H + c, b, step);
  }
  const Expr dh_carry = state(6 * H + j, b, step) + state(7 * H + j, b, step) + state(8 * H + j, b, step) +
                        state(9 * H + j, b, step);
  state(select(phase == 0, 2 * H + g * H + j, phase == 1, 6 * H + part * H + k, g == 0, j, H + j), b, step) =
      select(phase == 0, da, phase == 1, chunk, g == 0, dh_carry, dc * f);
  schedule_scan(state, s, rows, 10 * H, target);
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
  const std::string kind = argc > 2 ? argv[2] : "";
  if (kind == "runtime" && argc == 4) {  // OUT_DIR runtime TARGET: a Halide runtime for kernels without one
    try {
      compile_standalone_runtime(std::string(argv[1]) + "/halide_runtime.o", Target(argv[3]));
    } catch (const Halide::Error& e) {
      std::fprintf(stderr, "persistent_lstm_generator: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  if (argc < 7 || (argc - 5) % 2 != 0 || (kind != "forward" && kind != "backward")) {
    std::fprintf(stderr,
                 "usage: persistent_lstm_generator OUT_DIR forward|backward HIDDEN ROWS NAME TARGET [NAME TARGET]...\n");
    return 2;
  }
  const std::string out = argv[1];
  const int H = std::atoi(argv[3]), rows = std::atoi(argv[4]);
  if (H < 16 || H % 16 != 0 || rows < 1) {
    std::fprintf(stderr,
                 "persistent_lstm_generator: HIDDEN must be a positive multiple of 16 and ROWS positive, got '%s' and "
                 "'%s'\n",
                 argv[3], argv[4]);
    return 2;
  }
  try {
    for (int a = 5; a + 1 < argc; a += 2) {
      const std::string name = argv[a];
      const Target target = Target(argv[a + 1]).with_feature(Target::NoRuntime);
      // Every input dense, its innermost extent fixed: constant strides in the kernel.
      auto input = [&](const char* n, int dims, int inner) {
        ImageParam p(Float(32), dims, n);
        p.dim(0).set_min(0).set_extent(inner).set_stride(1);
        if (dims == 2) p.dim(1).set_min(0).set_stride(inner);
        return p;
      };
      Func state;
      std::vector<Argument> args;
      if (kind == "forward") {
        ImageParam xp = input("xp", 3, 4 * H), w = input("w", 2, 4 * H);
        w.dim(1).set_extent(H);
        state = persistent_lstm_forward(xp, w, H, rows, target);
        args = {xp, w};
      } else {
        ImageParam acts = input("acts", 3, 4 * H), cs = input("cs", 3, H), dh_out = input("dh_out", 3, H),
                   wt = input("wt", 2, H);
        wt.dim(1).set_extent(4 * H);
        state = persistent_lstm_backward(acts, cs, dh_out, wt, H, rows, target);
        args = {acts, cs, dh_out, wt};
      }
      int barriers = 0;
      state.add_custom_lowering_pass(new CountBarriers(&barriers));
      state.compile_to_static_library(out + "/" + name, args, name, target);
      // Three a step, one after each phase; the last is the one the next step needs.
      if (target.has_gpu_feature() && barriers != 3) {
        std::fprintf(stderr,
                     "persistent_lstm_generator: %s: the kernel has %d block barriers, not 3 (one after each phase "
                     "of a step): its threads would read the carries unsynchronised\n",
                     name.c_str(), barriers);
        return 1;
      }
    }
  } catch (const Halide::Error& e) {
    std::fprintf(stderr, "persistent_lstm_generator: %s\n", e.what());
    return 1;
  }
  return 0;
}
