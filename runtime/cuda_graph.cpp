#include "runtime/cuda_graph.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "ir/error.h"

namespace rnnc::runtime::cuda {

namespace {

// Every runtime's streams, by context: the hook answers for the context it is asked about.
std::mutex g_streams_mutex;
std::vector<const Streams*>& all_streams() {
  static std::vector<const Streams*> list;
  return list;
}

using CUresult = int;
using Handle = void*;
using DevicePtr = unsigned long long;

struct Driver {
  CUresult (*ctx_push)(Handle) = nullptr;
  CUresult (*ctx_pop)(Handle*) = nullptr;
  CUresult (*stream_create)(Handle*, unsigned) = nullptr;
  CUresult (*stream_synchronize)(Handle) = nullptr;
  CUresult (*begin_capture)(Handle, int) = nullptr;
  CUresult (*end_capture)(Handle, Handle*) = nullptr;
  CUresult (*graph_get_nodes)(Handle, Handle*, size_t*) = nullptr;
  CUresult (*graph_instantiate)(Handle*, Handle, unsigned long long) = nullptr;
  CUresult (*graph_launch)(Handle, Handle) = nullptr;
  CUresult (*graph_exec_destroy)(Handle) = nullptr;
  CUresult (*graph_destroy)(Handle) = nullptr;
  CUresult (*copy_dtod_async)(DevicePtr, DevicePtr, size_t, Handle) = nullptr;
  CUresult (*copy_htod_async)(DevicePtr, const void*, size_t, Handle) = nullptr;
  CUresult (*error_name)(CUresult, const char**) = nullptr;
  CUresult (*debug_dot_print)(Handle, const char*, unsigned) = nullptr;  // optional
  CUresult (*pointer_attribute)(void*, int, DevicePtr) = nullptr;        // optional
  std::string missing;
};

template <typename F>
void find(F& f, const char* name, std::string& missing) {
  f = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
  if (!f && missing.empty()) missing = name;
}

const Driver& driver() {
  static const Driver d = [] {
    Driver d;
    find(d.ctx_push, "cuCtxPushCurrent_v2", d.missing);
    find(d.ctx_pop, "cuCtxPopCurrent_v2", d.missing);
    find(d.stream_create, "cuStreamCreate", d.missing);
    find(d.stream_synchronize, "cuStreamSynchronize", d.missing);
    find(d.begin_capture, "cuStreamBeginCapture_v2", d.missing);
    find(d.end_capture, "cuStreamEndCapture", d.missing);
    find(d.graph_get_nodes, "cuGraphGetNodes", d.missing);
    find(d.graph_instantiate, "cuGraphInstantiateWithFlags", d.missing);
    find(d.graph_launch, "cuGraphLaunch", d.missing);
    find(d.graph_exec_destroy, "cuGraphExecDestroy", d.missing);
    find(d.graph_destroy, "cuGraphDestroy", d.missing);
    find(d.copy_dtod_async, "cuMemcpyDtoDAsync_v2", d.missing);
    find(d.copy_htod_async, "cuMemcpyHtoDAsync_v2", d.missing);
    find(d.error_name, "cuGetErrorName", d.missing);
    d.debug_dot_print = reinterpret_cast<decltype(d.debug_dot_print)>(dlsym(RTLD_DEFAULT, "cuGraphDebugDotPrint"));
    d.pointer_attribute = reinterpret_cast<decltype(d.pointer_attribute)>(dlsym(RTLD_DEFAULT, "cuPointerGetAttribute"));
    return d;
  }();
  return d;
}

std::string error_text(CUresult rc) {
  const char* name = nullptr;
  if (driver().error_name) driver().error_name(rc, &name);
  return std::string(name ? name : "CUDA error") + " (" + std::to_string(rc) + ")";
}

void check(CUresult rc, const char* what) {
  RNNC_USER_CHECK(rc == 0) << "CUDA graphs: " << what << " failed: " << error_text(rc);
}

// Halide's context, current on this thread for the scope's life. Halide's own calls push and pop it
// themselves: none may run inside a scope.
class ContextScope {
 public:
  explicit ContextScope(const RuntimeHooks& hooks) : hooks_(hooks) {
    RNNC_USER_CHECK(hooks_.acquire && hooks_.acquire(nullptr, &ctx_, true) == 0 && ctx_)
        << "CUDA graphs: Halide's CUDA runtime has no context";
    int rc = driver().ctx_push(ctx_);
    if (rc != 0) {
      hooks_.release(nullptr);
      check(rc, "cuCtxPushCurrent");
    }
  }
  ~ContextScope() {
    void* popped = nullptr;
    driver().ctx_pop(&popped);
    hooks_.release(nullptr);
  }
  void* context() const { return ctx_; }

 private:
  const RuntimeHooks& hooks_;
  void* ctx_ = nullptr;
};

}  // namespace

std::string graph_api_missing() { return driver().missing; }

// Halide's stream hook: the launch stream of the runtime's streams for `ctx`; else the legacy default.
int stream_hook(void* /*user_context*/, void* ctx, void** stream) {
  *stream = nullptr;
  std::lock_guard<std::mutex> lock(g_streams_mutex);
  for (const Streams* s : all_streams()) {
    if (s->context() == ctx) {
      *stream = s->launch_stream();
      break;
    }
  }
  return 0;
}

Streams::Streams(const RuntimeHooks& hooks) : hooks_(hooks) {
  RNNC_USER_CHECK(graph_api_missing().empty())
      << "CUDA graphs: the CUDA driver lacks " << graph_api_missing() << " (a driver older than CUDA 11.4?)";
  RNNC_USER_CHECK(hooks_.acquire && hooks_.release && hooks_.set_get_stream)
      << "CUDA graphs: the kernels' Halide runtime lacks its CUDA context or stream hooks";
  ContextScope scope(hooks_);
  context_ = scope.context();
  const unsigned blocking = 0;  // CU_STREAM_DEFAULT
  check(driver().stream_create(&exec_, blocking), "cuStreamCreate");
  check(driver().stream_create(&capture_, blocking), "cuStreamCreate");
}

const Streams& Streams::of(const RuntimeHooks& hooks) {
  std::lock_guard<std::mutex> lock(g_streams_mutex);
  for (const Streams* s : all_streams()) {
    if (s->hooks_.acquire == hooks.acquire) return *s;
  }
  const Streams* s = new Streams(hooks);
  all_streams().push_back(s);
  hooks.set_get_stream(&stream_hook);
  return *s;
}

namespace {

// The start of the device allocation `p` lies in (CU_POINTER_ATTRIBUTE_RANGE_START_ADDR); the driver's
// error when `p` is in none. Needs the context current.
CUresult allocation_start(uint64_t p, DevicePtr* base) {
  const int range_start = 11;
  return driver().pointer_attribute(base, range_start, p);
}

// "0x… (an allocation of N bytes from 0x…)" or "(not a device allocation: …)": for error messages.
std::string describe_pointer(uint64_t p) {
  char text[64];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(p));
  if (!driver().pointer_attribute) return text;
  DevicePtr base = 0;
  size_t size = 0;
  CUresult rc = allocation_start(p, &base);
  if (rc != 0) return std::string(text) + " (not a device allocation: " + error_text(rc) + ")";
  const int range_size = 12;  // CU_POINTER_ATTRIBUTE_RANGE_SIZE
  driver().pointer_attribute(&size, range_size, p);
  char range[96];
  std::snprintf(range, sizeof range, " (in an allocation of %zu bytes from 0x%llx)", size, base);
  return std::string(text) + range;
}

}  // namespace

void Streams::copy_device_to_device(uint64_t dst, uint64_t src, size_t bytes, void* stream,
                                    const std::string& what) const {
  if (bytes == 0) return;
  ContextScope scope(hooks_);
  CUresult rc = driver().copy_dtod_async(dst, src, bytes, stream);
  RNNC_USER_CHECK(rc == 0) << "CUDA graphs: cuMemcpyDtoDAsync of " << bytes << " bytes from " << describe_pointer(src)
                           << " to " << describe_pointer(dst) << " failed: " << error_text(rc) << " (" << what << ")";
}

void Streams::copy_host_to_device(uint64_t dst, const void* src, size_t bytes, void* stream) const {
  if (bytes == 0) return;
  ContextScope scope(hooks_);
  check(driver().copy_htod_async(dst, src, bytes, stream), "cuMemcpyHtoDAsync");
}

std::string Streams::dead_pointer(uint64_t p) const {
  if (!driver().pointer_attribute) return "";
  ContextScope scope(hooks_);
  DevicePtr base = 0;
  CUresult rc = allocation_start(p, &base);
  return rc == 0 ? "" : error_text(rc);
}

void Streams::synchronize(void* stream) const {
  ContextScope scope(hooks_);
  check(driver().stream_synchronize(stream), "cuStreamSynchronize");
}

namespace {

// One capture of what `issue` launches: the graph (not instantiated), or a UserError.
void* capture_once(const Streams& streams, bool& capturing, const std::function<void()>& issue) {
  {
    ContextScope scope(streams.hooks());
    const int relaxed = 2;  // CU_STREAM_CAPTURE_MODE_RELAXED: Halide may allocate (cuMemAlloc) meanwhile
    check(driver().begin_capture(streams.capture(), relaxed), "cuStreamBeginCapture");
  }
  capturing = true;
  std::exception_ptr failed;
  try {
    issue();
  } catch (...) {
    failed = std::current_exception();
  }
  capturing = false;
  ContextScope scope(streams.hooks());
  void* graph = nullptr;
  CUresult rc = driver().end_capture(streams.capture(), &graph);
  if (failed) {
    if (graph) driver().graph_destroy(graph);
    std::rethrow_exception(failed);
  }
  check(rc, "cuStreamEndCapture");
  return graph;
}

}  // namespace

std::unique_ptr<Graph> Graph::capture(const Streams& streams, const std::function<void()>& issue, bool rehearse) {
  if (rehearse) {
    void* first = capture_once(streams, streams.capturing_, issue);
    ContextScope scope(streams.hooks());
    driver().graph_destroy(first);
  }
  std::unique_ptr<Graph> g(new Graph(streams));
  g->graph_ = capture_once(streams, streams.capturing_, issue);
  ContextScope scope(streams.hooks());
  check(driver().graph_get_nodes(g->graph_, nullptr, &g->nodes_), "cuGraphGetNodes");
  // RNNC_CUDA_GRAPH_DOT=DIR: every captured graph, as the driver describes it, into DIR/graph-N.dot.
  if (const char* dir = std::getenv("RNNC_CUDA_GRAPH_DOT"); dir && *dir && driver().debug_dot_print) {
    static std::atomic<int> count{0};
    const std::string path = std::string(dir) + "/graph-" + std::to_string(count++) + ".dot";
    const unsigned verbose = 1;  // CU_GRAPH_DEBUG_DOT_FLAGS_VERBOSE
    driver().debug_dot_print(g->graph_, path.c_str(), verbose);
  }
  check(driver().graph_instantiate(&g->exec_, g->graph_, 0), "cuGraphInstantiate");
  return g;
}

Graph::~Graph() {
  try {
    ContextScope scope(streams_.hooks());
    if (exec_) driver().graph_exec_destroy(exec_);
    if (graph_) driver().graph_destroy(graph_);
  } catch (...) {
    // No context any more (the process is ending): nothing left to free.
  }
}

void Graph::launch(void* stream) const {
  ContextScope scope(streams_.hooks());
  check(driver().graph_launch(exec_, stream), "cuGraphLaunch");
}

}  // namespace rnnc::runtime::cuda
