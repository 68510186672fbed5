// How a compiled module runs: which ops form which kernel, in which order, and where the scans' time
// loops go. Both code generation (which turns each KernelSpec into one Halide pipeline) and the
// compiled executor (which calls those pipelines) read the same plan, so a kernel's argument list is
// defined in one place. Derived from an optimised module (see passes/pipeline.h); uses the `kernel`
// attributes of partition-kernels when present, one kernel per op otherwise.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/function.h"
#include "ir/scan_layout.h"

namespace rnnc::runtime {

// One kernel: a convex set of ops of one function, compiled into one pipeline.
//
// Arguments, in order: one buffer per input value; for a masked scan step, then the lengths buffer and
// the step index t (an int32 scalar); then one output buffer per output value. Constants used by the
// ops are folded into the kernel, not passed.
struct KernelSpec {
  std::string name;                 // a C identifier, unique in the module: forward_k3, backward_scan2_step
  const ir::Function* function;     // where the ops live: a module function or a scan body
  std::vector<ir::NodeId> nodes;    // in topological order
  std::vector<ir::Value> inputs;    // values of `function` read from outside the kernel
  std::vector<ir::Value> outputs;   // values written for the rest of the plan
  // A scan's step. Its inputs are the body's arguments, its outputs the body's results. When `masked`
  // (a lengths-aware scan), row b keeps its carry and gets zero outputs once t >= lengths[b].
  bool step = false;
  bool masked = false;
  int64_t carries = 0;
  // The step treats each row (batch entry) on its own: every carry, step input and output leads with
  // one batch dim, invariants do not have it, and no op mixes rows. The executor then runs disjoint
  // row ranges of the whole scan on separate threads, and the kernel itself stays single-threaded.
  bool row_separable = false;
  // Per carry of a step: is its next value the carry plus something, and the carry read nowhere else
  // (a gradient summed over time)? Then each element is read just before the same element is written,
  // and the executor passes one buffer as both the carry and its next value (in_place_carries).
  std::vector<bool> in_place_carries;
  // Inputs (indices into `inputs`) that are large weights read only as products' right operands
  // (runtime/weight_panels.h): the CPU kernel reads them as column panels, which the executor packs
  // (a step's once per scan run, a kernel's once per call).
  std::vector<int64_t> panel_inputs;
  bool panel_input(size_t i) const {
    return std::find(panel_inputs.begin(), panel_inputs.end(), static_cast<int64_t>(i)) != panel_inputs.end();
  }
  // Only ever called on the CPU (a feeder's single-threaded copy): GPU targets do not compile it.
  bool cpu_only = false;
};

// A kernel that computes one of a scan's sequences row by row from inputs ready before the scan (a
// hoisted input projection x · W_ih): it runs inside the scan, a few steps ahead of them, each call on
// the time steps and rows the thread is about to run, so the steps read that sequence from L2 instead of
// memory. `rows_kernel` is its single-threaded copy for those calls; `kernel` runs it whole, before the
// scan, where the scan does not split its rows over threads (GPUs, small batches) or the weights do not
// fit in L2 (compiled_executor.cpp).
struct Feeder {
  size_t kernel;
  size_t rows_kernel;
  int64_t sequence;  // which of the scan's sequences it computes
  // The sequence is also a result of the function (a layer-norm LSTM's training saves x·W_ih for its
  // backward): the pieces are written into the whole sequence, which outlives the scan, instead of
  // into a piece-sized buffer per thread.
  bool kept = false;
};

struct PlanStep {
  enum class Kind { Kernel, Scan };
  Kind kind;
  size_t kernel;          // the kernel, or the scan's step kernel
  ir::NodeId node = 0;    // the scan node (Kind::Scan)
  std::vector<Feeder> feeders;  // Kind::Scan: run by the scan itself, not as steps of their own
};

struct FunctionPlan {
  const ir::Function* function = nullptr;
  std::vector<PlanStep> steps;
};

class ExecutionPlan {
 public:
  // `module` must outlive the plan and stay unchanged.
  explicit ExecutionPlan(const ir::Module& module);
  // A temporary would not outlive it (a test once planned a temporary and read freed memory).
  explicit ExecutionPlan(ir::Module&& module) = delete;

  const ir::Module& module() const { return *module_; }
  const std::vector<KernelSpec>& kernels() const { return kernels_; }
  const FunctionPlan& function(const std::string& name) const;

  // A scan's time-stacked output [time, batch, …] that nothing reads but row-split scans, as a
  // sequence: in its own function, or as a saved activation (`saved.*`, ir/training_names.h) passed to
  // another function's argument of that name (an LSTM's gate activations, read by @backward's steps
  // alone). The CPU executor stores it batch-major, each row's steps one after another: a row range's
  // part of it is then one run of memory, where time-major every step's slice of it lies a whole batch
  // apart from the last.
  bool batch_major(const ir::Function& f, const ir::Value& v) const;

 private:
  void plan_function(const ir::Function& f);
  void attach_feeders(const ir::Function& f, FunctionPlan& plan);
  void choose_batch_major(const ir::Function& f);

  const ir::Module* module_;
  std::vector<KernelSpec> kernels_;
  std::map<std::string, FunctionPlan> functions_;
  std::map<const ir::Function*, std::set<ir::Value>> batch_major_;
};

// Which value of carry `carry` the scan's output `output` is: 0 its value before each step, 1 its value
// after, -1 neither. Without lengths, in a forward scan, such an output is a view of the carry's own
// time-stacked buffer (compiled_executor.cpp, stack_carries), and the plan keeps it time-major for that.
int carry_slot(const ir::Function& body, const ir::ScanLayout& l, int64_t output, int64_t carry);

// A name made of [A-Za-z0-9_], for C symbols: "imdb-classifier" -> "imdb_classifier".
std::string c_identifier(const std::string& name);

}  // namespace rnnc::runtime
