// Runs a compiled module: buffers for every value, the kernels of the execution plan in order, and for
// each scan the time loop on the host around its step kernel (carries double-buffered, sequences and
// stacked outputs passed as per-step slices without copies). Needs only Halide's runtime headers, not
// libHalide: AOT-compiled models link it as it is. Float data is f32 (as the IR's f32 values).
//
// GPU kernels (KernelTable::device): every buffer the run creates lives on the device from its
// creation; arguments and parameters go up once per run, a scan's carries, sequences and stacked
// outputs stay on the device for the whole time loop (per-step slices are device crops), and nothing
// comes back to the host between steps or kernels. Results come back at the end of a run unless
// set_results_on_host(false) (then they stay device-resident: pass them to another run as they are, or
// copy_to_host() before reading).
#pragma once

#include <HalideBuffer.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ir/function.h"
#include "runtime/device.h"
#include "runtime/execution_plan.h"
#include "runtime/kernel_table.h"
#include "runtime/param_derived_cache.h"
#include "runtime/row_split.h"
#include "runtime/tensor.h"

namespace rnnc::runtime {

struct GraphRecording;  // compiled_executor.cpp

class CompiledModule {
 public:
  // Plans the (optimised) module; kernels come with load().
  explicit CompiledModule(ir::Module module);
  ~CompiledModule();
  CompiledModule(const CompiledModule&) = delete;
  CompiledModule& operator=(const CompiledModule&) = delete;

  const ir::Module& module() const { return *module_; }
  const ExecutionPlan& plan() const { return *plan_; }
  // Takes the compiled kernels; every kernel of the plan must be in the table. GPU kernels: loads the
  // driver and opens the device first; no driver or no device is a UserError that says which.
  void load(KernelTable kernels);
  Device device() const { return kernels_.device; }

  void set_param(const std::string& name, Tensor<float> value);
  const Tensor<float>& param(const std::string& name) const;
  // The storage kernels read: an optimizer updates it in place between runs (the shape stays fixed).
  Tensor<float>& mutable_param(const std::string& name);
  std::map<std::string, Tensor<float>>& mutable_params() {
    drop_device_params();
    return params_;
  }
  const std::map<std::string, Tensor<float>>& params() const { return params_; }
  void init_params(uint64_t seed);

  // Runs a function. Errors (shapes, ids or labels out of range, a failing kernel) are UserErrors.
  std::vector<Value<float>> run(const std::string& function, const std::vector<Value<float>>& args) const;

  // The same on Halide buffers (IR shape [d0, …, dn-1] is a buffer with dn-1 innermost), without
  // copies: a training step hands @forward's saved activations to @backward as they are. Saved
  // activations may come back batch-major (ExecutionPlan::batch_major: other strides, not row-major
  // order): read them through their strides, or through to_value. Results of one run may share
  // storage: without lengths, a layer's y and its saved h_prev are one buffer (h_prev at t + 1 is y at
  // t), so a write into y changes what @backward gets; `run` returns copies.
  using Buffer = Halide::Runtime::Buffer<void>;
  std::vector<Buffer> run_buffers(const std::string& function, const std::vector<Buffer>& args) const;
  static Buffer to_buffer(const Value<float>& value, ir::DType dtype);
  static Value<float> to_value(const Buffer& buffer);
  // A buffer for a value of IR type `dtype` and shape `dims` (from the executor's pool).
  static Buffer new_buffer(ir::DType dtype, const Dims& dims, bool zeroed = false);

  // GPU kernels: copy every result to the host at the end of a run (default), or leave them on the
  // device (device-dirty Halide buffers) for a caller that passes them on or copies what it reads.
  void set_results_on_host(bool on) { results_on_host_ = on; }
  // GPU kernels: keep each parameter's device copy across runs (default: upload per run, since an
  // optimizer may change them in place). set_param, init_params and mutable_param(s) drop the copies;
  // a caller that keeps a reference from mutable_params() and writes later must not turn this on.
  void set_keep_params_on_device(bool on) {
    keep_params_on_device_ = on;
    drop_device_params();
  }
  // GPU kernels: puts `b`'s data on the device now (a no-op on the CPU), so that runs taking it copy
  // nothing from the host.
  void upload(Buffer& b) const;
  // A handle of `b` whose host data is current: a result left on the device (set_results_on_host(false))
  // is copied back; anything else is returned as it is.
  static Buffer on_host(const Buffer& b);
  // Waits for the device's queued work (a GPU's kernels run asynchronously): for timing.
  void synchronize() const;

  // CUDA, AOT-compiled kernels: runs become CUDA graphs (runtime/cuda_graph.h). The first run of a
  // function at given argument shapes runs as usual and records its kernel calls and copies, which are
  // then captured into a graph; later runs copy their arguments in and launch the graph, one call for
  // the whole run. Turns set_keep_params_on_device on. What changes for the caller: a run's results
  // are the recording's buffers, overwritten by the next run of that function at those shapes; a
  // result passed on to another function (@forward's to @backward) is used in place. Parameter
  // changes drop the graphs (the next run records again: an optimizer that changes them every step
  // gains nothing). Replays check only arguments whose host data is current (ids, labels, lengths).
  // One thread at a time. UserError when the kernels are not CUDA kernels, their runtime lacks the
  // context and stream hooks, or the driver lacks the graph API.
  void set_cuda_graphs(bool on);
  bool cuda_graphs() const { return cuda_graphs_; }

  // Scans whose rows run on several threads compute their feeders (execution_plan.h, Feeder) this many
  // bytes of output per thread and call: small enough to stay in L2 until the steps read it. Tests set
  // small values to cut a scan into many uneven pieces.
  static constexpr int64_t kDefaultFeedChunkBytes = 128 * 1024;
  void set_feed_chunk_bytes(int64_t bytes) { feed_chunk_bytes_ = std::max<int64_t>(1, bytes); }

  // Which thread runs which of a scan's row ranges, learnt from the threads' speeds in earlier runs
  // (runtime/row_split.h). Tests record made-up times into it.
  RowSplit& row_split() { return *row_split_; }
  // Whether a thread that has run all its rows of a scan takes over the last tiles of another's
  // (runtime/row_stealing.h; on by default). Results are the same bits either way.
  void set_row_stealing(bool on) { row_stealing_ = on; }
  // At most this many threads run a scan's rows (0, the default: one per hardware thread; a scan also
  // takes no more than one per 8 rows).
  void set_row_threads(int threads) { row_threads_ = std::max(0, threads); }
  // How many times a thread handed rows over to another in the middle of a scan, over all runs.
  int64_t rows_handed_over() const { return rows_handed_over_->load(); }
  // For tests: called by each row thread of a scan before each chunk of steps, with the first of the
  // rows it runs; a hook that sleeps for some rows makes other threads take them over. Not while a run
  // is in progress.
  void set_scan_chunk_hook(std::function<void(int part, int chunk, int first_row)> hook) { chunk_hook_ = std::move(hook); }

  // Time spent per kernel (seconds) and calls, summed over runs while profiling is on.
  struct KernelTime {
    double seconds = 0;
    int64_t calls = 0;
  };
  void set_profiling(bool on) { profiling_ = on; }
  const std::map<std::string, KernelTime>& profile() const { return profile_; }
  void clear_profile() { profile_.clear(); }
  // With CUDA graphs: the GPU time of every kernel of the recorded runs, each timed alone (a graph of
  // `repeats` calls of it), times its calls per run. Empty without graphs. Repeating a step out of
  // order overwrites the last results: run again before reading them.
  std::map<std::string, KernelTime> graph_kernel_times(int repeats = 20) const;

 private:
  std::unique_ptr<ir::Module> module_;  // stable address: the plan points into it
  std::unique_ptr<ExecutionPlan> plan_;
  void drop_device_params() const;

  KernelTable kernels_;
  const halide_device_interface_t* device_interface_ = nullptr;  // GPU kernels only
  size_t view_alignment_ = 1;  // where a view of a device buffer may start (view_alignment_bytes)
  std::map<std::string, Tensor<float>> params_;
  bool profiling_ = false;
  mutable std::map<std::string, KernelTime> profile_;
  bool results_on_host_ = true;
  bool keep_params_on_device_ = false;
  mutable std::mutex device_params_mutex_;
  mutable std::map<std::string, Buffer> device_params_;
  bool cuda_graphs_ = false;
  int64_t feed_chunk_bytes_ = kDefaultFeedChunkBytes;
  // Results of parameter-only kernels, kept while the parameters' bytes are unchanged (CPU runs).
  std::unique_ptr<ParamDerivedCache> param_cache_ = std::make_unique<ParamDerivedCache>();
  // Which thread runs which of each scan's row ranges, from the threads' speeds in earlier runs.
  std::unique_ptr<RowSplit> row_split_ = std::make_unique<RowSplit>();
  bool row_stealing_ = true;
  int row_threads_ = 0;
  std::function<void(int, int, int)> chunk_hook_;
  std::unique_ptr<std::atomic<int64_t>> rows_handed_over_ = std::make_unique<std::atomic<int64_t>>(0);
  // Recorded runs by function and argument shapes (set_cuda_graphs).
  mutable std::map<std::string, std::unique_ptr<GraphRecording>> recordings_;
  std::vector<Buffer> run_graph(const ir::Function& f, const std::vector<Buffer>& args) const;
};

}  // namespace rnnc::runtime
