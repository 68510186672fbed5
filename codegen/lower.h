// Lowering: one KernelSpec of the execution plan -> one Halide pipeline, for any op mix the IR allows
// (the DSL's cells are not special: a kernel is built from its ops). Dimensions are reversed on the way:
// IR shape [d0, …, dn-1] (row-major) is a Halide buffer with dn-1 innermost, so the memory layout is the
// same and buffers pass between the two without copies.
#pragma once

#include <Halide.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/execution_plan.h"

namespace rnnc::codegen {

// What the schedule needs to know about the Funcs lowering made.
struct FuncRoles {
  struct MatMul {
    Halide::Func func;     // the accumulation
    Halide::Func tiles;    // what readers see: the product, computed tile by tile from `func`
    Halide::Func output;   // the kernel output that is the product itself, if any (then tiled instead)
    Halide::RDom k;        // the reduction (of `partial`, for a transpose_a product)
    Halide::Func partial;  // transpose_a: partial(n, m, chunk) sums one chunk of rows; func sums the chunks
    Halide::RDom chunks;
    int64_t output_bytes = -1;  // transpose_a: the size of the (static) [M, N] result, -1 if symbolic
    bool transposed_result = false;  // func holds the product transposed; tiles reads it back
    int rank = 2;          // Halide dims of the result (n innermost)
    int64_t n_extent = -1; // static extent of dim 0 (the outputs), -1 if symbolic
    int64_t k_extent = -1;
    bool b_transposed = false;  // b is read as b[N, K] (Halide (k, n)), not b[K, N]
    // Weights (k x n f32) over 8 MiB, an LSTM's from H 725, not read as panels: the CPU schedule blocks the product
    // (schedule_cpu.cpp). Static extents only.
    bool blocked = false;
    bool rows_clamped = false;  // a's rows are read clamped to its buffer: row tiles may round up
    // b is a kernel input read as column panels (LowerOptions::weight_panels): the schedule runs the
    // panels outside the row tiles, so that each stays in cache while every row tile reads it.
    bool b_panels = false;
    // Both operands are kernel inputs: nothing computed inside the kernel feeds the product, so a GPU
    // schedule may compute any tile of it where it is needed without recomputing a producer.
    bool operands_are_inputs = false;
    std::vector<Halide::Func> operands;  // the Funcs multiplied (kernel inputs are "input<i>" wrappers)
    // LowerOptions::slice_products: func is product(j, gate, rows…), column gate*width + j of the product,
    // for `gates` gates of width n_extent.
    bool gate_major = false;
    int64_t gates = 0;
  };
  std::vector<MatMul> matmuls;
  std::vector<Halide::Func> reductions;  // row statistics, sums: computed once, before their users
  // Sums over leading dims that keep the innermost (contiguous) one, as a bias gradient sums [T, B, H]
  // to [H]: vectorised along that dim, the reduction loops outside it.
  struct ColumnSum {
    Halide::Func func;
    Halide::RDom r;
  };
  std::vector<ColumnSum> column_sums;
  std::vector<Halide::Func> scatters;    // embedding gradients: serial over ids, vectorised over rows
  // Concats along the innermost dim built part by part (LowerOptions::concat_by_parts): a pure
  // definition, then update u copies part u over its RDom.
  struct Concat {
    Halide::Func func;
    std::vector<Halide::RDom> parts;
  };
  std::vector<Concat> concats;
  std::vector<Halide::Func> roots;       // layout changes (transposes) computed once
  // Values read more than once (or by a concat, which evaluates every part): computed once into a
  // buffer, instead of inlined into each reader, which duplicates work and code.
  std::vector<Halide::Func> shared;
};

struct LoweredKernel {
  std::string name;
  bool step = false;  // a scan's step: called once per time step on one step's rows
  bool single_threaded = false;  // the executor runs row ranges of it on threads of its own
  std::vector<Halide::Func> outputs;
  std::vector<Halide::Argument> arguments;  // the kernel's inputs in plan order (outputs follow them)
  std::vector<std::vector<int64_t>> output_static_extents;  // per output, per Halide dim; -1 symbolic
  // Output i's width, its Halide dim 0 (-1 if symbolic; 1 for a scalar).
  int64_t static_width(size_t i) const {
    return output_static_extents[i].empty() ? 1 : output_static_extents[i][0];
  }
  FuncRoles roles;
  // A step's Funcs whose outermost Halide dim is its rows (the batch): its values with the rows as
  // their first IR dim, those values' row statistics, a product's accumulation; a block computing one
  // row may then hold one (schedule_gpu's row mode).
  std::set<std::string> row_funcs;
  // The parameters behind `arguments`: one buffer per input; a masked step's lengths and step index.
  std::vector<Halide::ImageParam> input_params;
  std::optional<Halide::ImageParam> lengths_param;
  std::optional<Halide::Param<int32_t>> step_param;
};

struct LowerOptions {
  // A product read through equal slices of its last dim (the gates of a fused-gate matmul) is built
  // gate-major as well, product(j, gate, rows…), and the slices read that: a GPU thread that needs column
  // j of every gate then computes exactly those, not the span of columns between them.
  bool slice_products = false;
  // A concat along the innermost dim is one dense copy per part (CPU), not a select chain per element
  // (GPU: one thread per element, where the chain costs nothing like the CPU's gathers).
  bool concat_by_parts = true;
  // transpose_a products sum their rows in chunks (FuncRoles::MatMul::partial): this many time steps of
  // a time-stacked operand, or this many rows of a matrix. CPU: cache-sized; GPU: fewer, longer chunks.
  int transpose_a_chunk_steps = 4;
  int transpose_a_chunk_rows = 64;
  // A product that is a kernel output and is read inside the kernel too (a layer-norm LSTM's training
  // step saves h·W_hh and normalises it) is built in the output Func itself, which its readers then
  // read, instead of in a root buffer of its own that the output copies (CPU).
  bool products_into_outputs = true;
  // Reads of input buffers are clamped to the buffer: GPU thread blocks compute whole tiles (the
  // stores beyond the edge are guarded, the reads they need are not).
  bool clamp_inputs = false;
  // Inputs are dense as far out as their shape is static from the innermost dim (weights whole, a
  // sequence's inner dims): those strides are constants (asserted at each call), so that a load's
  // address inside an unrolled reduction is a constant offset (GPU).
  bool dense_static_inputs = false;
  // Sigmoid and tanh multiply by a reciprocal (Halide's fast_inverse; on CUDA rcp.rn.ftz, correctly
  // rounded, denormals flushed) instead of dividing (div.rn, which the driver expands into a longer
  // sequence with a slow path): a forward LSTM step thread at S had 8 divisions and 12 IEEE reciprocals.
  bool fast_reciprocals = false;
  // Inputs the plan marks as weight panels (KernelSpec::panel_inputs, runtime/weight_panels.h) are read
  // as panels, as the executor passes them on the CPU; off, as they are (GPU).
  bool weight_panels = true;
  // Several lowerings of one kernel in one pipeline (each output group of a GPU step its own copy of
  // what it computes): Func names get this suffix, and the kernel's arguments are those of an earlier
  // lowering of the same kernel.
  std::string name_suffix;
  const struct LoweredKernel* arguments_from = nullptr;
};

// Builds the Funcs of one kernel (unscheduled).
LoweredKernel lower_kernel(const runtime::KernelSpec& spec, const LowerOptions& options = {});

Halide::Type halide_type(ir::DType dtype);

}  // namespace rnnc::codegen
