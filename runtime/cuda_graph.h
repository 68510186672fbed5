// CUDA graphs: a run's kernel launches and copies captured once and replayed as one submission.
//
// Why: a training step at workload S is some 830 small launches. Issued one by one, the host's cost per
// launch (Halide's runtime: context push/pop, module lookup, argument marshalling; then the driver) is
// ~20 us (on an H200 the host queued the step in 19.0 of 21.3 ms). A graph submits them all with one
// call: the host then queues a step in ~0.1 ms and the step takes what its kernels take on the GPU
// (S: 21.3 -> 16.7 ms; the kernels were nearly as slow as the host, docs/performance.md).
//
// How: Halide's CUDA runtime asks a hook where to launch (halide_set_cuda_get_stream); rnnc's hook
// answers with a stream of its own, or while capturing, the capture stream. The executor records a
// run's operations (runtime/compiled_executor.cpp), then replays them while that stream captures.
//
// The driver's entry points are looked up in the loaded driver (runtime/device.cpp loads it), so
// nothing here links against CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace rnnc::runtime::cuda {

// A Halide CUDA runtime's entry points (KernelTable): its context, and the setter of its stream hook.
struct RuntimeHooks {
  int (*acquire)(void* user_context, void** ctx, bool create) = nullptr;
  int (*release)(void* user_context) = nullptr;
  using GetStream = int (*)(void* user_context, void* ctx, void** stream);
  GetStream (*set_get_stream)(GetStream hook) = nullptr;
};

// Empty when the loaded driver has everything graphs need; else which entry point it lacks.
std::string graph_api_missing();

// Streams of a Halide runtime's context. One pair per runtime (AOT models share one); once made, the
// runtime puts everything it queues (kernels, its copies, device_sync's wait) on exec(), or on
// capture() while a capture runs, so modules whose work feeds each other stay ordered. Blocking streams
// (CU_STREAM_DEFAULT): anything still issued on the legacy default stream waits for them and they for
// it. Never destroyed (Halide's runtime may tear its context down first at exit). One thread at a time:
// while a capture runs, whatever any thread queues through this runtime goes to the capture stream.
class Streams {
 public:
  // The runtime's pair, made and hooked into it on first use. UserError when the driver lacks the
  // graph API.
  static const Streams& of(const RuntimeHooks& hooks);
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  void* exec() const { return exec_; }        // eager runs and graph launches
  void* capture() const { return capture_; }  // only ever captures (see CompiledModule::set_cuda_graphs)
  void* launch_stream() const { return capturing_ ? capture_ : exec_; }  // where kernels go now
  void* context() const { return context_; }

  // Stream-ordered copies on `stream` (their completion is ordered with the stream's kernels).
  // `what` names the copy in the UserError a failure gives.
  void copy_device_to_device(uint64_t dst, uint64_t src, size_t bytes, void* stream, const std::string& what) const;
  void copy_host_to_device(uint64_t dst, const void* src, size_t bytes, void* stream) const;
  void synchronize(void* stream) const;
  // Empty when `p` lies in a live device allocation; else what the driver says about it.
  std::string dead_pointer(uint64_t p) const;
  const RuntimeHooks& hooks() const { return hooks_; }

 private:
  friend class Graph;
  explicit Streams(const RuntimeHooks& hooks);
  RuntimeHooks hooks_;
  void* context_ = nullptr;
  void* exec_ = nullptr;
  void* capture_ = nullptr;
  mutable bool capturing_ = false;
};

// One captured, instantiated graph.
class Graph {
 public:
  // Captures what `issue` launches (on streams.capture() meanwhile; nothing runs) and instantiates it.
  // UserError naming the driver's error when capture fails, e.g. when `issue` did something a capture
  // cannot hold. `rehearse`: capture once first and drop that graph, so that the device memory kernels
  // allocate and free within a call (Halide's scratch buffers, cached per stream) is allocated then,
  // and the kept capture normally finds it in Halide's cache instead of calling cuMemAlloc.
  static std::unique_ptr<Graph> capture(const Streams& streams, const std::function<void()>& issue,
                                        bool rehearse = false);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  size_t nodes() const { return nodes_; }
  void launch(void* stream) const;

 private:
  explicit Graph(const Streams& streams) : streams_(streams) {}
  const Streams& streams_;
  void* graph_ = nullptr;
  void* exec_ = nullptr;
  size_t nodes_ = 0;
};

}  // namespace rnnc::runtime::cuda
