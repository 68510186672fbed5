#include "runtime/compiled_executor.h"

#include <HalideBuffer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <thread>
#include <variant>

#include "ir/error.h"
#include "ir/verifier.h"
#include "ir/scan_layout.h"
#include "runtime/buffer_pool.h"
#include "runtime/heap_policy.h"
#include "runtime/kernel_scratch.h"
#include "runtime/cuda_graph.h"
#include "runtime/cuda_shared_memory.h"
#include "runtime/param_derived_cache.h"
#include "runtime/param_init.h"
#include "runtime/row_split.h"
#include "runtime/row_stealing.h"
#include "runtime/row_threads.h"
#include "runtime/weight_panels.h"

namespace rnnc::runtime {

using Buffer = Halide::Runtime::Buffer<void>;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using IrValue = ir::Value;

namespace {

halide_type_t buffer_type(ir::DType dtype) {
  switch (dtype) {
    case ir::DType::F32: return halide_type_t(halide_type_float, 32);
    case ir::DType::F64: return halide_type_t(halide_type_float, 64);
    case ir::DType::I32: return halide_type_t(halide_type_int, 32);
    case ir::DType::I64: return halide_type_t(halide_type_int, 64);
  }
  return halide_type_t(halide_type_float, 32);
}

// IR shape [d0, …, dn-1] -> Halide extents (dn-1, …, d0): the same row-major memory.
std::vector<int> halide_sizes(const Dims& dims) {
  return std::vector<int>(dims.rbegin(), dims.rend());
}

// Kernels write every element of their outputs; `zeroed` is for buffers read before anything writes them.
Buffer make_buffer(ir::DType dtype, const Dims& dims, bool zeroed = false) {
  Buffer b(buffer_type(dtype), nullptr, halide_sizes(dims));
  b.allocate(pool_allocate, pool_free);
  if (zeroed && b.size_in_bytes()) std::memset(b.data(), 0, b.size_in_bytes());
  return b;
}

Buffer copy_of(const Buffer& b) {
  std::vector<halide_dimension_t> shape(b.raw_buffer()->dim, b.raw_buffer()->dim + b.dimensions());
  Buffer out(b.type(), nullptr, b.dimensions(), shape.data());
  out.allocate(pool_allocate, pool_free);
  out.copy_from(b);
  return out;
}

// `b`'s dims (extents and mins) with row-major strides: dim 0 dense, each next one's stride the product
// of the extents before it.
std::vector<halide_dimension_t> row_major_shape(const Buffer& b) {
  std::vector<halide_dimension_t> shape(b.raw_buffer()->dim, b.raw_buffer()->dim + b.dimensions());
  for (int d = 0, stride = 1; d < b.dimensions(); stride *= shape[d].extent, ++d) shape[d].stride = stride;
  return shape;
}

// A buffer shaped like `b` (its extents and mins), dense but for its outermost dim (a sequence's time),
// whose stride is rounded up to a multiple of `align` bytes.
Buffer make_outer_padded(const Buffer& b, size_t align) {
  std::vector<halide_dimension_t> shape = row_major_shape(b);
  const int outer = b.dimensions() - 1;
  int64_t stride = shape[outer].stride;
  const int64_t bytes = b.type().bytes();
  const int64_t multiple = static_cast<int64_t>(std::lcm(align, static_cast<size_t>(bytes))) / bytes;  // elements
  stride = (stride + multiple - 1) / multiple * multiple;
  RNNC_USER_CHECK(stride * shape[outer].extent <= std::numeric_limits<int32_t>::max())
      << "a sequence of " << shape[outer].extent << " steps of " << stride << " elements, each step padded to a multiple of "
      << align << " bytes for the device's views, has more elements than a buffer may address (2^31 - 1)";
  shape[outer].stride = static_cast<int32_t>(stride);
  Buffer out(b.type(), nullptr, b.dimensions(), shape.data());
  out.allocate(pool_allocate, pool_free);
  return out;
}

// `b` in row-major order: itself where it already is, else a copy (a scan's batch-major output).
Buffer row_major(const Buffer& b) {
  const std::vector<halide_dimension_t> shape = row_major_shape(b);
  bool already = true;
  for (int d = 0; d < b.dimensions(); ++d) already &= b.dim(d).stride() == shape[d].stride || shape[d].extent == 1;
  if (already) return b;
  Buffer out(b.type(), nullptr, b.dimensions(), shape.data());
  out.allocate();
  out.copy_from(b);
  return out;
}

Dims dims_of(const Buffer& b) {
  Dims out;
  for (int h = b.dimensions() - 1; h >= 0; --h) out.push_back(b.dim(h).extent());
  return out;
}

using Bindings = std::map<std::string, int64_t>;

// The last message Halide's runtime reported on this thread (KernelTable::set_error_handler).
thread_local std::string g_halide_error;

void capture_halide_error(void*, const char* message) {
  g_halide_error = message ? message : "";
  while (!g_halide_error.empty() && (g_halide_error.back() == '\n' || g_halide_error.back() == ' ')) g_halide_error.pop_back();
}

// Before a call whose failure halide_error_suffix reports.
void clear_halide_error() {
  g_halide_error.clear();
  cuda::take_launch_problem();
}

// With why a launch's opt-in to more shared memory failed, where one did (runtime/cuda_shared_memory.h).
std::string halide_error_suffix() {
  std::string suffix = g_halide_error.empty() ? "" : ": " + g_halide_error;
  if (std::string problem = cuda::take_launch_problem(); !problem.empty()) suffix += " (" + problem + ")";
  return suffix;
}

// Waits until everything queued on `interface`'s device has finished; its Halide error code.
int wait_for_device(const halide_device_interface_t* interface) {
  CompiledModule::Buffer b(halide_type_of<float>(), nullptr, std::vector<int>{1});
  b.allocate();
  int rc = b.device_malloc(interface);
  if (rc == 0) rc = b.device_sync();
  return rc;
}

// A handle whose host data is current (copied back from the device when the device has newer data).
Buffer host_view(const Buffer& b) {
  Buffer h = b;
  if (h.device_dirty()) {
    clear_halide_error();
    int rc = h.copy_to_host();
    RNNC_USER_CHECK(rc == 0) << "copying a result from the device failed (Halide error " << rc << ")" << halide_error_suffix();
  }
  return h;
}

// Puts a buffer's data on the device (allocating there first): after this, handles copied from it
// share the device allocation, and kernels reading it copy nothing.
void upload(Buffer& b, const halide_device_interface_t* device) {
  clear_halide_error();
  int rc = b.raw_buffer()->device ? 0 : b.device_malloc(device);
  if (rc == 0) rc = b.copy_to_device(device);
  RNNC_USER_CHECK(rc == 0) << "copying " << b.size_in_bytes() << " bytes to the device failed (Halide error " << rc
                           << ")" << halide_error_suffix();
}

}  // namespace

Buffer CompiledModule::to_buffer(const Value<float>& value, ir::DType dtype) {
  const Dims& dims = shape_of(value);
  if (const auto* t = std::get_if<Tensor<float>>(&value)) {
    RNNC_USER_CHECK(dtype == ir::DType::F32) << "a float tensor where " << ir::dtype_name(dtype)
                                             << " is expected (the compiled executor runs f32)";
    Buffer b = make_buffer(ir::DType::F32, dims);
    // An empty tensor (no time steps) has no data to copy, nor a pointer memcpy may be given.
    if (!t->data.empty()) std::memcpy(b.data(), t->data.data(), t->data.size() * sizeof(float));
    return b;
  }
  RNNC_USER_CHECK(ir::is_int(dtype)) << "an integer tensor where " << ir::dtype_name(dtype) << " is expected";
  const IntTensor& it = std::get<IntTensor>(value);
  Buffer b = make_buffer(dtype, dims);
  for (int64_t k = 0; k < it.size(); ++k) {
    if (dtype == ir::DType::I32) {
      static_cast<int32_t*>(b.data())[k] = static_cast<int32_t>(it[k]);
    } else {
      static_cast<int64_t*>(b.data())[k] = it[k];
    }
  }
  return b;
}

Value<float> CompiledModule::to_value(const Buffer& device_or_host) {
  Buffer b = row_major(host_view(device_or_host));
  Dims dims = dims_of(b);
  size_t count = b.number_of_elements();
  if (b.type() == buffer_type(ir::DType::F32)) {
    // Built from the data, not zero-filled and then overwritten: a result's pages are written once.
    const float* data = static_cast<const float*>(b.data());
    return Tensor<float>(dims, std::vector<float>(data, data + count));
  }
  IntTensor t(dims);
  bool i32 = b.type() == buffer_type(ir::DType::I32);
  for (size_t k = 0; k < count; ++k) {
    t[k] = i32 ? static_cast<const int32_t*>(b.data())[k] : static_cast<const int64_t*>(b.data())[k];
  }
  return t;
}

namespace {

Dims concrete(const ir::TensorType& t, const Bindings& b) {
  Dims out;
  for (const ir::Dim& d : t.shape) {
    if (!d.is_symbolic()) {
      out.push_back(d.size);
      continue;
    }
    auto it = b.find(d.symbol);
    RNNC_USER_CHECK(it != b.end()) << "dimension '" << d.symbol << "' is not bound by any argument";
    out.push_back(it->second);
  }
  return out;
}

// The arguments that must be in range, checked before kernels run: the compiled kernels clamp ids and
// labels into range, so out-of-range input is caught here, with the message the reference executor
// gives. `bound` holds the arguments whose host data is current (others are not checked).
void check_index_args(const Function& f, const std::map<IrValue, Buffer>& bound) {
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    OpKind op = f.op(n);
    std::vector<IrValue> in = f.operands(n);
    int64_t limit = -1;
    IrValue ids;
    const char* what = "";
    if (op == OpKind::Embedding) {
      ids = in[1];
      limit = f.type(in[0]).shape[0].size;
      what = "embedding: id";
    } else if (op == OpKind::CrossEntropy || op == OpKind::CrossEntropyGrad) {
      size_t lo = op == OpKind::CrossEntropy ? 0 : 1;
      ids = in[lo + 1];
      const ir::Dim& classes = f.type(in[lo]).shape.back();
      limit = classes.is_symbolic() ? -1 : classes.size;
      what = "cross_entropy: label";
    }
    if (limit < 0 || f.op(ids.node) != OpKind::Arg || !bound.count(ids)) continue;
    const Buffer b = host_view(bound.at(ids));
    for (size_t k = 0; k < b.number_of_elements(); ++k) {
      int64_t id = f.type(ids).dtype == ir::DType::I32 ? static_cast<const int32_t*>(b.data())[k]
                                                       : static_cast<const int64_t*>(b.data())[k];
      RNNC_USER_CHECK(id >= 0 && id < limit) << what << " " << id << " at flat position " << k << " is outside [0, "
                                             << limit << ")";
    }
  }
}

void check_lengths(const Buffer& lengths, int64_t steps) {
  const Buffer host = host_view(lengths);
  for (size_t r = 0; r < host.number_of_elements(); ++r) {
    int32_t len = static_cast<const int32_t*>(host.data())[r];
    RNNC_USER_CHECK(len >= 0 && len <= steps) << "scan: lengths[" << r << "] = " << len << " is outside [0, " << steps << "]";
  }
}

}  // namespace

// A run recorded for CUDA graphs (CompiledModule::set_cuda_graphs): its operations in order, on the
// memory they ran on, which the recording keeps alive.
struct GraphRecording {
  struct Call {
    std::string kernel;
    KernelFunction fn = nullptr;
    std::vector<halide_buffer_t> buffers;  // the argument buffers' descriptors as they were passed
    std::vector<std::vector<halide_dimension_t>> dims;
    std::vector<int32_t> scalars;
    std::vector<int> slots;  // per argument: its buffer, or -1 - its scalar
  };
  struct Copy {
    uint64_t dst = 0, src = 0;
    size_t bytes = 0;
  };
  std::vector<std::variant<Call, Copy>> ops;
  // Per argument: the recording's own buffer, which each run fills from the caller's; or (own false)
  // another recording's result, passed on, used in place (it must be the same buffer every run).
  struct Arg {
    bool own = false;
    Buffer buffer;
  };
  std::vector<Arg> args;
  std::vector<std::pair<size_t, int64_t>> length_args;  // (argument, steps): checked every run
  std::vector<Buffer> keep;  // every buffer the run created
  std::vector<Buffer> results;
  std::unique_ptr<cuda::Graph> graph;

  void record_call(const std::string& kernel, KernelFunction fn, const std::vector<void*>& argv, int scalar_arg) {
    Call c{kernel, fn, {}, {}, {}, {}};
    c.buffers.reserve(argv.size());
    for (size_t i = 0; i < argv.size(); ++i) {
      if (static_cast<int>(i) == scalar_arg) {
        c.slots.push_back(-1 - static_cast<int>(c.scalars.size()));
        c.scalars.push_back(*static_cast<const int32_t*>(argv[i]));
        continue;
      }
      halide_buffer_t b = *static_cast<const halide_buffer_t*>(argv[i]);
      RNNC_INTERNAL_CHECK(b.device && b.device_interface)
          << "CUDA graphs: argument " << i << " of kernel " << kernel << " is not on the device";
      c.dims.emplace_back(b.dim, b.dim + b.dimensions);
      b.dim = c.dims.back().data();  // moving the vector of vectors keeps each one's storage
      b.flags = 0;                   // neither side dirty: the kernel copies nothing
      c.slots.push_back(static_cast<int>(c.buffers.size()));
      c.buffers.push_back(b);
    }
    ops.emplace_back(std::move(c));
  }

  // Before capturing: every pointer the operations use must still be allocated. A graph holding a
  // freed one crashes the driver at instantiation; this says which instead (UserError).
  void check_pointers(const cuda::Streams& streams) const {
    std::map<uint64_t, std::string> seen;
    for (size_t i = 0; i < ops.size(); ++i) {
      std::vector<std::pair<uint64_t, std::string>> used;
      if (const Copy* copy = std::get_if<Copy>(&ops[i])) {
        used = {{copy->src, "the source of a carry's initial copy"}, {copy->dst, "the target of a carry's initial copy"}};
      } else {
        const Call& c = std::get<Call>(ops[i]);
        for (size_t b = 0; b < c.buffers.size(); ++b) {
          used.push_back({c.buffers[b].device, "buffer argument " + std::to_string(b) + " of kernel " + c.kernel});
        }
      }
      for (const auto& [p, what] : used) {
        if (!seen.emplace(p, what).second) continue;
        std::string dead = streams.dead_pointer(p);
        RNNC_USER_CHECK(dead.empty()) << "CUDA graphs: operation " << i << " of the recorded run uses device memory "
                                      << "that is no longer allocated (" << what << ": " << dead
                                      << "); a known defect (docs/performance.md): run without graphs";
      }
    }
  }

  static void issue(Call& c) {
    std::vector<void*> argv;
    for (int slot : c.slots) {
      if (slot >= 0) {
        c.buffers[slot].flags = 0;
        argv.push_back(&c.buffers[slot]);
      } else {
        argv.push_back(&c.scalars[-1 - slot]);
      }
    }
    clear_halide_error();
    int rc = c.fn(argv.data());
    RNNC_USER_CHECK(rc == 0) << "kernel " << c.kernel << " failed while capturing a CUDA graph (Halide error " << rc
                             << ")" << halide_error_suffix();
  }

  // Issues the operations again, on the launch stream (the capture stream, while capturing).
  void replay(const cuda::Streams& streams) {
    for (auto& op : ops) {
      if (const Copy* copy = std::get_if<Copy>(&op)) {
        streams.copy_device_to_device(copy->dst, copy->src, copy->bytes, streams.launch_stream(),
                                      "replaying operation " + std::to_string(&op - ops.data()) + " of " +
                                          std::to_string(ops.size()) + ", a scan's carry initialisation");
      } else {
        issue(std::get<Call>(op));
      }
    }
  }

  // GPU time of each kernel: its first call captured `repeats` times in a row into a graph of its own,
  // launched and waited for; the time per call, times the kernel's calls in this recording, is added to
  // `out`. A step repeated out of order leaves its outputs (the last results) wrong until the next run.
  void kernel_times(const cuda::Streams& streams, int repeats, std::map<std::string, CompiledModule::KernelTime>& out) {
    std::map<std::string, int64_t> calls;
    std::map<std::string, Call*> first;
    for (auto& op : ops) {
      if (Call* c = std::get_if<Call>(&op)) {
        if (calls[c->kernel]++ == 0) first[c->kernel] = c;
      }
    }
    for (auto& [name, first_call] : first) {
      Call* c = first_call;  // clang 14 cannot capture a structured binding in a lambda
      auto g = cuda::Graph::capture(streams, [&] {
        for (int r = 0; r < repeats; ++r) issue(*c);
      });
      streams.synchronize(streams.exec());
      auto start = std::chrono::steady_clock::now();
      g->launch(streams.exec());
      streams.synchronize(streams.exec());
      double per_call = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
      CompiledModule::KernelTime& t = out[name];
      t.seconds += per_call * static_cast<double>(calls[name]);
      t.calls += calls[name];
    }
  }
};

namespace {

// The rows of the register tiles of a kernel's products on the CPU (runtime/row_split.h): their lcm.
int row_tile(const KernelSpec& spec) {
  int tile = kStepRowTile;
  for (ir::NodeId n : spec.nodes) {
    if (spec.function->op(n) != OpKind::MatMul) continue;
    const ir::Dim& columns = spec.function->type(ir::Value{n, 0}).shape.back();
    if (!columns.is_symbolic()) tile = std::lcm(tile, product_row_tile(columns.size));
  }
  return tile;
}

// How a run executes: on the CPU, or on a GPU with the parameters' device copies kept across runs (if
// any); how large the feeders' calls are.
struct RunContext {
  const halide_device_interface_t* interface = nullptr;
  bool keep_params = false;
  std::mutex* params_mutex = nullptr;
  std::map<std::string, Buffer>* params = nullptr;
  int64_t feed_chunk_bytes = CompiledModule::kDefaultFeedChunkBytes;
  ParamDerivedCache* param_cache = nullptr;  // CPU runs: results of parameter-only kernels across runs
  RowSplit* row_split = nullptr;             // CPU runs: which thread runs which rows, learnt across runs
  bool row_stealing = true;                  // threads take over rows of others (runtime/row_stealing.h)
  int row_threads = 0;                       // at most this many threads a scan (0: the hardware's)
  const std::function<void(int, int, int)>* chunk_hook = nullptr;  // tests: called by a part before each chunk
  std::atomic<int64_t>* rows_handed_over = nullptr;           // counts hand-overs
  size_t view_alignment = 1;  // GPU runs: where a view may start (runtime/device.h view_alignment_bytes)
};

class Run {
 public:
  Run(const ExecutionPlan& plan, const KernelTable& kernels, const std::map<std::string, Tensor<float>>& params,
      const Function& f, std::map<std::string, CompiledModule::KernelTime>* profile, const RunContext& context,
      const cuda::Streams* streams = nullptr, GraphRecording* recording = nullptr)
      : plan_(plan), kernels_(kernels), params_(params), f_(f), profile_(profile), context_(context),
        gpu_(context.interface), streams_(streams), rec_(recording) {}

  // Every buffer this run holds (a recording keeps them).
  std::vector<Buffer> take_buffers() {
    std::vector<Buffer> out;
    for (auto& [v, b] : buffers_) out.push_back(b);
    buffers_.clear();
    return out;
  }

  std::vector<Buffer> operator()(const std::vector<Buffer>& args) {
    RNNC_USER_CHECK(args.size() == f_.args().size())
        << "@" << f_.name() << " takes " << f_.args().size() << " arguments, got " << args.size();
    for (size_t i = 0; i < args.size(); ++i) bind_arg(i, args[i]);
    check_indices();
    for (const PlanStep& step : plan_.function(f_.name()).steps) {
      const KernelSpec& spec = plan_.kernels()[step.kernel];
      if (step.kind == PlanStep::Kind::Kernel) {
        if (!view_outer_slice(spec) && !run_parameter_kernel(spec)) run_kernel(spec);
      } else {
        run_scan(step, spec);
      }
    }
    std::vector<Buffer> out;
    for (const IrValue& v : f_.results()) {
      // A cached result, or a view of one or of a parameter, goes out as a copy: the caller owns what it
      // gets, and a write into it must not change later runs (or dangle after set_param).
      const bool shared = parameter_derived_.count(v) > 0 || shared_views_.count(v) > 0;
      out.push_back(shared ? copy_of(get(v)) : get(v));
    }
    return out;
  }

 private:
  void bind_arg(size_t i, const Buffer& arg) {
    IrValue v = f_.arg(i);
    const ir::TensorType& t = f_.type(v);
    const std::string& name = f_.value_name(v);
    RNNC_USER_CHECK(arg.type() == buffer_type(t.dtype))
        << "@" << f_.name() << ": argument '" << name << "' must be " << t << " (element type differs)";
    Dims dims = dims_of(arg);
    RNNC_USER_CHECK(static_cast<int>(dims.size()) == t.rank())
        << "@" << f_.name() << ": argument '" << name << "' has shape " << dims_str(dims) << " but is declared " << t;
    for (int d = 0; d < t.rank(); ++d) {
      const ir::Dim& want = t.shape[d];
      if (!want.is_symbolic()) {
        RNNC_USER_CHECK(dims[d] == want.size)
            << "@" << f_.name() << ": argument '" << name << "' has shape " << dims_str(dims) << " but is declared " << t;
        continue;
      }
      auto [it, fresh] = bindings_.emplace(want.symbol, dims[d]);
      RNNC_USER_CHECK(fresh || it->second == dims[d])
          << "@" << f_.name() << ": dimension '" << want.symbol << "' is " << it->second << " elsewhere but argument '"
          << name << "' " << dims_str(dims) << " makes it " << dims[d];
    }
    buffers_[v] = arg;
    // A buffer without a device allocation holds its data on the host, whatever its flags say.
    if (gpu_ && !arg.raw_buffer()->device) buffers_[v].set_host_dirty(true);
  }

  // A buffer for a value this run creates: on the device too when the kernels run there.
  Buffer fresh(ir::DType dtype, const Dims& dims, bool zeroed = false) {
    Buffer b = make_buffer(dtype, dims, zeroed);
    if (gpu_) {
      if (zeroed) b.set_host_dirty(true);
      upload(b, gpu_);
    }
    return b;
  }

  void check_indices() {
    std::map<IrValue, Buffer> bound;
    for (size_t i = 0; i < f_.args().size(); ++i) {
      IrValue a = f_.arg(i);
      if (auto it = buffers_.find(a); it != buffers_.end()) bound[a] = it->second;
    }
    check_index_args(f_, bound);
  }

  // A device-to-device copy of a whole buffer, ordered with the kernels (and recorded). The two may
  // differ in strides (one padded for views: steps_viewable), except while recording.
  void copy_on_device(const Buffer& src, Buffer& dst) {
    RNNC_INTERNAL_CHECK(src.type() == dst.type() && dims_of(src) == dims_of(dst))
        << "device copy between buffers of different types or shapes";
    if (streams_) {
      RNNC_INTERNAL_CHECK(src.size_in_bytes() == dst.size_in_bytes()) << "recorded device copy between different layouts";
      GraphRecording::Copy c{dst.raw_buffer()->device, src.raw_buffer()->device, src.size_in_bytes()};
      streams_->copy_device_to_device(c.dst, c.src, c.bytes, streams_->launch_stream(),
                                      "a scan's carry initialisation, while recording");
      if (rec_) rec_->ops.emplace_back(c);
    } else {
      clear_halide_error();
      int rc = gpu_->buffer_copy(nullptr, const_cast<halide_buffer_t*>(src.raw_buffer()), gpu_, dst.raw_buffer());
      RNNC_USER_CHECK(rc == 0) << "a copy on the device failed (Halide error " << rc << ")" << halide_error_suffix();
    }
    dst.set_host_dirty(false);
    dst.set_device_dirty(true);
  }

  Buffer& get(IrValue v) {
    if (auto it = buffers_.find(v); it != buffers_.end()) return it->second;
    const ir::NodeData& d = f_.node(v.node);
    if (d.op == OpKind::Param) {
      const std::string& name = d.attrs.get_word("name");
      auto p = params_.find(name);
      RNNC_USER_CHECK(p != params_.end()) << "parameter @" << name << " has no value";
      if (gpu_ && context_.keep_params) {
        std::lock_guard<std::mutex> lock(*context_.params_mutex);
        if (auto c = context_.params->find(name); c != context_.params->end()) return buffers_[v] = c->second;
      }
      // The parameter's storage, unchanged: kernels only read their inputs.
      Buffer b(buffer_type(ir::DType::F32), const_cast<float*>(p->second.data.data()), halide_sizes(p->second.shape));
      if (gpu_) {
        b.set_host_dirty(true);
        upload(b, gpu_);
        if (context_.keep_params) {
          std::lock_guard<std::mutex> lock(*context_.params_mutex);
          (*context_.params)[name] = b;
        }
      }
      return buffers_[v] = b;
    }
    if (d.op == OpKind::Constant) {
      Buffer b = make_buffer(d.types[0].dtype, concrete(d.types[0], bindings_));
      double value = d.attrs.get_float("value");
      size_t count = b.number_of_elements();
      if (d.types[0].dtype == ir::DType::F32) {
        std::fill_n(static_cast<float*>(b.data()), count, static_cast<float>(value));
      } else if (d.types[0].dtype == ir::DType::I32) {
        std::fill_n(static_cast<int32_t*>(b.data()), count, static_cast<int32_t>(value));
      } else {
        throw_user_error("compiled executor: constants of type " + d.types[0].str() + " are not supported");
      }
      if (gpu_) {
        b.set_host_dirty(true);
        upload(b, gpu_);
      }
      return buffers_[v] = b;
    }
    RNNC_INTERNAL_CHECK(false) << "compiled executor: no buffer for node " << v.node << " (" << ir::op_name(d.op) << ")";
    return buffers_.begin()->second;
  }

  // `scalar_arg`: the position of the one scalar argument (a step's time), or -1.
  void call(const KernelSpec& spec, std::vector<void*>& args, int scalar_arg = -1) {
    auto it = kernels_.functions.find(spec.name);
    RNNC_INTERNAL_CHECK(it != kernels_.functions.end()) << "kernel " << spec.name << " was not compiled";
    auto start = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    clear_halide_error();
    int rc = it->second(args.data());
    if (profile_ && gpu_ && rc == 0) {
      // GPU kernels run asynchronously: wait for this one, on its last output, to time it.
      rc = gpu_->device_sync(nullptr, static_cast<halide_buffer_t*>(args.back()));
    }
    if (profile_) {
      std::lock_guard<std::mutex> lock(profile_mutex_);  // scans run row ranges on several threads
      CompiledModule::KernelTime& t = (*profile_)[spec.name];
      t.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++t.calls;
    }
    if (rc != 0) {
      const std::string why = halide_error_suffix();
      // On a device, let what is still queued finish before the error unwinds: a process that then exits
      // while the driver works on (pocl compiling an earlier kernel in its own thread) crashed in its teardown.
      if (gpu_) wait_for_device(gpu_);
      throw_user_error("kernel " + spec.name + " failed (Halide error " + std::to_string(rc) + ")" + why);
    }
    // Recorded as the kernel left its arguments: on the device, every one.
    if (rec_) rec_->record_call(spec.name, it->second, args, scalar_arg);
  }

  // A kernel that is one slice along the outermost dim (the gate gradients [dW_i; dW_f; dW_g; dW_o] cut
  // into each gate's parameter gradient): on the CPU its result is a view of the operand, a contiguous
  // block of it, and nothing is copied (sixteen copies of 64 KiB at S, ~0.4 ms a training step).
  bool view_outer_slice(const KernelSpec& spec) {
    if (gpu_ || rec_ || spec.step || spec.nodes.size() != 1 || spec.outputs.size() != 1) return false;
    const NodeId n = spec.nodes[0];
    if (f_.op(n) != OpKind::Slice || f_.operands(n).size() != 1) return false;
    const ir::Attrs& a = f_.node(n).attrs;
    if (a.get_int("axis") != 0 && a.get_int("axis") != -f_.type(f_.operands(n)[0]).rank()) return false;
    const Buffer& in = get(f_.operands(n)[0]);
    const int outer = in.dimensions() - 1;
    if (outer < 0) return false;
    const int start = in.dim(outer).min() + static_cast<int>(a.get_int("start"));
    const int size = static_cast<int>(a.get_int("size"));
    if (start + size > in.dim(outer).min() + in.dim(outer).extent()) return false;  // the verifier's to say
    buffers_[spec.outputs[0]] = in.cropped(outer, start, size).translated(outer, -start);
    const IrValue operand = f_.operands(n)[0];
    if (f_.op(operand.node) == OpKind::Param || parameter_derived_.count(operand) || shared_views_.count(operand)) {
      shared_views_.insert(spec.outputs[0]);
    }
    return true;
  }

  // A kernel that reads only parameters, constants and such kernels' results (weights concatenated,
  // transposed): its outputs come from the cache while the parameters are unchanged (ParamDerivedCache),
  // otherwise it runs and its outputs are cached. False for any other kernel, and on a GPU.
  bool run_parameter_kernel(const KernelSpec& spec) {
    if (!context_.param_cache || gpu_ || rec_) return false;
    auto is_static = [](const ir::TensorType& t) {
      for (const ir::Dim& d : t.shape) {
        if (d.is_symbolic()) return false;
      }
      return true;
    };
    for (const IrValue& v : spec.inputs) {
      const OpKind op = f_.op(v.node);
      const bool parameter = op == OpKind::Param || (op == OpKind::Constant && is_static(f_.type(v)));
      if (!parameter && !parameter_derived_.count(v)) return false;
    }
    for (const IrValue& v : spec.outputs) {
      if (!is_static(f_.type(v))) return false;
    }
    std::vector<ParamDerivedCache::Input> inputs;
    for (const IrValue& v : spec.inputs) {
      if (f_.op(v.node) == OpKind::Constant) continue;  // a value of the IR: the same in every run
      auto derived = parameter_derived_.find(v);
      if (derived != parameter_derived_.end()) {
        inputs.push_back({nullptr, 0, derived->second});
        continue;
      }
      const Buffer& b = get(v);
      inputs.push_back({b.data(), b.size_in_bytes(), 0});
    }
    if (std::optional<ParamDerivedCache::Hit> hit = context_.param_cache->find(spec.name, inputs)) {
      for (size_t i = 0; i < spec.outputs.size(); ++i) {
        buffers_[spec.outputs[i]] = hit->outputs[i];
        parameter_derived_[spec.outputs[i]] = hit->generation;
      }
      return true;
    }
    run_kernel(spec);
    std::vector<Buffer> outputs;
    for (const IrValue& v : spec.outputs) outputs.push_back(buffers_.at(v));
    const uint64_t generation = context_.param_cache->store(spec.name, inputs, outputs);
    for (const IrValue& v : spec.outputs) parameter_derived_[v] = generation;
    return true;
  }

  void run_kernel(const KernelSpec& spec) {
    std::vector<void*> args;
    std::vector<Buffer> panels;  // weights packed for this call (runtime/weight_panels.h)
    panels.reserve(spec.panel_inputs.size());
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      Buffer& b = get(spec.inputs[i]);
      if (!gpu_ && spec.panel_input(i)) {
        panels.push_back(panels_of(b, pool_allocate, pool_free));
        args.push_back(panels.back().raw_buffer());
      } else {
        args.push_back(b.raw_buffer());
      }
    }
    for (const IrValue& v : spec.outputs) {
      buffers_[v] = fresh(f_.type(v).dtype, concrete(f_.type(v), bindings_));
      args.push_back(buffers_[v].raw_buffer());
    }
    call(spec, args);
  }

  // A feeder's calls inside a scan: its inputs (cropped to a call's steps and rows where `chunked`,
  // i.e. they lead with [time, batch]) and its output's shape, the whole sequence's. The sequence is
  // never stored whole: each thread writes its pieces into one piece-sized buffer of its own, reused
  // from one piece to the next (S: 26 MB less per projection; measured no faster than fresh memory).
  struct FeedInput {
    Buffer buffer;
    bool chunked;
  };
  struct FeedCall {
    const KernelSpec* spec;   // the single-threaded copy, called per thread and piece
    const KernelSpec* whole;  // the kernel itself, run before the scan when it is not fed in pieces
    std::vector<FeedInput> inputs;
    Buffer output;            // the sequence's shape only (no storage), or the whole sequence if kept
    int64_t sequence = 0;     // which of the scan's sequences it computes
    bool kept = false;        // Feeder::kept: the pieces are written into `output`
  };

  // At most this many bytes of weights (step and feeders together) for feeding in chunks: about half of
  // a Zen 5 core's L2 (1 MiB), leaving room for the chunk, the carries and the step's outputs. Workload S
  // has 456-512 KiB; LSTM H 256, 1.4 MiB.
  static constexpr int64_t kFeedWeightBytes = 640 * 1024;

  static bool leads_with_time_and_batch(const ir::TensorType& t) {
    return t.rank() >= 2 && t.shape[0].is_symbolic() && t.shape[1].is_symbolic();
  }

  // Steps [t0, t0 + count) and rows [lo, lo + rows) of a [time, batch, …] buffer.
  static Buffer steps_and_rows(const Buffer& b, int t0, int count, int lo, int rows) {
    const int rank = b.dimensions();
    return b.cropped(rank - 1, t0, count).cropped(rank - 2, lo, rows);
  }

  // Steps [t0, t0 + count) of rows [lo, lo + rows) of every feeder, into `pieces` (one per feeder, each
  // with the coordinates of those steps and rows).
  void feed_rows(std::vector<FeedCall>& feeds, std::vector<Buffer>& pieces, int lo, int rows, int t0, int count) {
    for (size_t i = 0; i < feeds.size(); ++i) {
      FeedCall& feed = feeds[i];
      std::vector<Buffer> views;
      std::vector<void*> args;
      views.reserve(feed.inputs.size() + 1);
      for (FeedInput& in : feed.inputs) {
        if (!in.chunked) {
          args.push_back(in.buffer.raw_buffer());
          continue;
        }
        views.push_back(steps_and_rows(in.buffer, t0, count, lo, rows));
        args.push_back(views.back().raw_buffer());
      }
      args.push_back(pieces[i].raw_buffer());
      call(*feed.spec, args);
    }
  }

  // A scan's time-stacked output: batch-major where the plan says only row-split scans read it
  // (ExecutionPlan::batch_major), the same [time, batch, …] value with other strides. Two threads of
  // 32 rows writing eight 16 KiB slices a step (a microbenchmark of the training step's saved outputs):
  // 9.3-11.1 us a step time-major, 5.6-6.9 batch-major.
  Buffer stacked_output(const IrValue& v) {
    const ir::TensorType& t = f_.type(v);
    Dims dims = concrete(t, bindings_);
    if (gpu_ || !plan_.batch_major(f_, v)) return fresh(t.dtype, dims);
    std::swap(dims[0], dims[1]);
    Buffer b = fresh(t.dtype, dims);
    return b.transposed(b.dimensions() - 2, b.dimensions() - 1);
  }

  // Whether a kernel may be handed each step of `b` (a [time, …] buffer) as a view. On OpenCL a view is
  // a sub-buffer, which must start at a multiple of the device's base alignment (128 bytes on pocl):
  // the steps of a [T, 3, 5] float sequence (60 bytes each) are not, and the scan then reads and writes
  // a copy whose time stride is padded (viewable_steps_like).
  bool steps_viewable(const Buffer& b) const {
    const int time = b.dimensions() - 1;
    if (context_.view_alignment <= 1 || time < 0 || b.dim(time).extent() <= 1) return true;
    return static_cast<size_t>(b.dim(time).stride()) * b.type().bytes() % context_.view_alignment == 0;
  }

  Buffer viewable_steps_like(const Buffer& b) {
    Buffer padded = make_outer_padded(b, context_.view_alignment);
    upload(padded, gpu_);  // allocated there; the host's data is not current, so nothing is copied
    return padded;
  }

  void run_scan(const PlanStep& step, const KernelSpec& spec) {
    const NodeId scan = step.node;
    ir::ScanLayout l = ir::ScanLayout::of(f_, scan);
    const Function& body = *f_.body(scan);
    std::vector<IrValue> operands = f_.operands(scan);
    // Row-separable steps: each thread runs a contiguous range of rows through every step, no
    // synchronisation between steps. At least 8 rows a range: smaller ones do not pay for a thread.
    int batch = 0;
    if (l.carries > 0) {
      const Buffer& init = get(operands[l.carry_operand(0)]);
      batch = init.dim(init.dimensions() - 1).extent();
    }
    int parts = 1;
    if (spec.row_separable && batch > 0 && !gpu_) {
      const int threads = context_.row_threads > 0 ? context_.row_threads : static_cast<int>(std::thread::hardware_concurrency());
      parts = std::max(1, std::min(threads, batch / 8));
    }
    // Feeders (execution_plan.h) run whole, now, unless the rows are split over threads and the weights
    // of the step and of its feeders fit in L2 together: then each thread computes its rows of the next
    // few steps just before running them. (Beyond that the step's weights stream from L3 anyway, and
    // feeding measured no different: LSTM H 512, 216-243 against 224-260 ms training, within noise; so
    // the kernel runs whole there, as it did before feeders.)
    std::vector<FeedCall> feeds;
    int64_t weight_bytes = 0;
    for (int64_t k = 0; k < l.invariants && !step.feeders.empty(); ++k) {
      weight_bytes += get(operands[l.invariant_operand(k)]).size_in_bytes();
    }
    for (const Feeder& feeder : step.feeders) {
      FeedCall feed{&plan_.kernels()[feeder.rows_kernel], &plan_.kernels()[feeder.kernel], {}, {}, feeder.sequence, feeder.kept};
      for (const IrValue& v : feed.spec->inputs) {
        FeedInput in{get(v), leads_with_time_and_batch(f_.type(v))};
        if (!in.chunked) weight_bytes += in.buffer.size_in_bytes();
        feed.inputs.push_back(std::move(in));
      }
      feeds.push_back(std::move(feed));
    }
    if (parts > 1 && weight_bytes <= kFeedWeightBytes) {
      for (FeedCall& feed : feeds) {
        const IrValue out = feed.spec->outputs[0];
        feed.output = buffers_[out] = feed.kept ? fresh(f_.type(out).dtype, concrete(f_.type(out), bindings_))
                                                : Buffer(buffer_type(f_.type(out).dtype), nullptr, halide_sizes(concrete(f_.type(out), bindings_)));
      }
    } else {
      for (const FeedCall& feed : feeds) run_kernel(*feed.whole);
      feeds.clear();
    }
    Buffer& first_seq = get(operands[l.sequence_operand(0)]);
    const int steps = first_seq.dim(first_seq.dimensions() - 1).extent();

    // On a GPU, everything the time loop touches is put on the device first, once: the per-step
    // slices are then device crops of it, and steps move no data between host and device.
    auto resident = [&](Buffer& b) -> Buffer& {
      if (gpu_) upload(b, gpu_);
      return b;
    };
    std::vector<Buffer> carry, next;
    for (int64_t i = 0; i < l.carries; ++i) {
      IrValue operand = operands[l.carry_operand(i)];
      if (gpu_) {
        // Copied on the device: no round trip through the host, and a recording replays the copy.
        Buffer& init = resident(get(operand));
        carry.push_back(fresh(f_.type(operand).dtype, dims_of(init)));
        next.push_back(fresh(f_.type(operand).dtype, dims_of(init)));
        copy_on_device(init, carry.back());
        continue;
      }
      Buffer init = host_view(get(operand));
      carry.push_back(copy_of(init));
      // A sum carried over time is updated in place (KernelSpec::in_place_carries): one buffer, not two
      // that the steps alternate between. A layer-norm LSTM's backward carries five such sums of
      // [batch, 4H] or [batch, H]; in place they keep half the cache (ab-bench: training 0.964-0.983).
      // (Such a carry is never also a stacked output, so stack_carries leaves it alone.)
      next.push_back(spec.in_place_carries[i] ? carry.back() : copy_of(init));
    }
    std::vector<Buffer> sequences, zero_steps, invariants, stacked, scratch;
    for (int64_t j = 0; j < l.sequences; ++j) {
      sequences.push_back(resident(get(operands[l.sequence_operand(j)])));
      if (!steps_viewable(sequences.back())) {
        Buffer padded = viewable_steps_like(sequences.back());
        copy_on_device(sequences.back(), padded);
        sequences.back() = padded;
      }
      const ir::TensorType& t = body.type(body.arg(l.sequence_arg(j)));
      zero_steps.push_back(fresh(t.dtype, concrete(t, bindings_), /*zeroed=*/true));
    }
    for (int64_t k = 0; k < l.invariants; ++k) {
      Buffer& w = get(operands[l.invariant_operand(k)]);
      // Large weights go to a CPU step as column panels (runtime/weight_panels.h), packed once a run.
      const bool panels = !gpu_ && spec.panel_input(l.invariant_arg(k));
      invariants.push_back(panels ? panels_of(w, pool_allocate, pool_free) : resident(w));
    }
    std::map<int64_t, Buffer> carry_views;  // stacked outputs that are views of a carry's history
    std::vector<std::pair<int64_t, Buffer>> unviewable_outputs;  // written through padded copies
    const std::vector<Buffer> carry_history = stack_carries(step, spec, steps, carry, carry_views);
    for (int64_t o = 0; o < l.outputs; ++o) {
      IrValue result{scan, l.output_result(o)};
      auto view = carry_views.find(o);
      stacked.push_back(view != carry_views.end() ? view->second : stacked_output(result));
      if (!steps_viewable(stacked.back())) {
        unviewable_outputs.push_back({o, stacked.back()});
        stacked.back() = viewable_steps_like(stacked.back());
      }
      const ir::TensorType& t = body.type(body.results()[l.body_output(o)]);
      scratch.push_back(fresh(t.dtype, concrete(t, bindings_)));
    }
    Buffer* lengths = l.lengths ? &get(operands[0]) : nullptr;
    if (lengths) {
      check_lengths(*lengths, steps);
      resident(*lengths);
      if (rec_) {
        // Replays skip this run's code: lengths that are an argument are checked there again.
        for (size_t a = 0; a < f_.args().size(); ++a) {
          if (f_.arg(a) == operands[0]) rec_->length_args.push_back({a, steps});
        }
      }
    }

    // Chunks of `unroll` steps, one kernel call each.
    const int iterations = (steps + static_cast<int>(l.unroll) - 1) / static_cast<int>(l.unroll);
    // One row range of the scan, from chunk `first_chunk` to the last: every buffer cropped to rows
    // [lo, lo + rows) of its batch dim. Halide crops keep absolute coordinates, so the ranges' kernels
    // agree on lengths[b] and all else. With `stealing`, part `part`'s range may lose its last rows to
    // another part before any chunk (runtime/row_stealing.h). Returns the work done, step_row_cost of
    // the rows run per chunk, averaged over the scan's chunks.
    const bool reverse = spec_direction_reverse(scan);
    auto run_rows = [&](int lo, int rows, int first_chunk, int part, RowStealing* stealing) -> double {
      auto crop = [&](const Buffer& b, int batch_dim) { return rows < 0 ? b : b.cropped(batch_dim, lo, rows); };
      std::vector<Buffer> cur, nxt, seqs, zeros, outs, scratches;
      for (int64_t i = 0; i < l.carries; ++i) {
        cur.push_back(crop(carry[i], carry[i].dimensions() - 1));
        nxt.push_back(crop(next[i], next[i].dimensions() - 1));
      }
      // The carries alternate between the two buffers chunk by chunk (the current ones are in `next`
      // after an odd number of chunks).
      if (first_chunk % 2 == 1) std::swap(cur, nxt);
      for (int64_t j = 0; j < l.sequences; ++j) {
        seqs.push_back(crop(sequences[j], sequences[j].dimensions() - 2));
        zeros.push_back(crop(zero_steps[j], zero_steps[j].dimensions() - 1));
      }
      // An output that is a view of a carry's history (stack_carries) already holds, at every step, what
      // the kernel would write there: the carry before or after the step, at the same address, which the
      // kernel computes as a copy of its carry input or output. The kernel gets it with no rows, and that
      // copy loop runs no iterations (four per LSTM training forward step: ab-bench training 0.982).
      std::vector<Buffer> skipped(l.outputs);
      for (int64_t o = 0; o < l.outputs; ++o) {
        outs.push_back(crop(stacked[o], stacked[o].dimensions() - 2));
        scratches.push_back(crop(scratch[o], scratch[o].dimensions() - 1));
        if (carry_views.count(o)) {
          const int batch_dim = scratch[o].dimensions() - 1;
          skipped[o] = scratches.back().cropped(batch_dim, scratches.back().dim(batch_dim).min(), 0);
        }
      }
      Buffer lens = lengths ? crop(*lengths, 0) : Buffer();
      int32_t t_arg = 0;
      std::vector<Buffer> views;
      std::vector<void*> args;
      // Feeders: this many steps per call, a multiple of the unroll factor, so that a call's output
      // (this thread's rows) stays well inside L2 until the steps read it.
      int feed_steps = steps;
      if (!feeds.empty() && steps > 0) {
        const Buffer& out = feeds[0].output;
        const int64_t row_bytes = static_cast<int64_t>(out.size_in_bytes()) / (static_cast<int64_t>(steps) * batch);
        const int64_t step_bytes = std::max<int64_t>(1, row_bytes * rows);
        feed_steps = static_cast<int>(std::max<int64_t>(1, context_.feed_chunk_bytes / step_bytes / l.unroll) * l.unroll);
      }
      // This thread's piece of each fed sequence, reused from one piece to the next.
      std::vector<Buffer> own, pieces;
      for (const FeedCall& feed : feeds) {
        if (feed.kept) {
          own.emplace_back();  // its pieces are crops of the whole sequence
          continue;
        }
        Dims dims = dims_of(feed.output);
        dims[0] = feed_steps;
        dims[1] = rows;
        own.push_back(make_buffer(f_.type(feed.spec->outputs[0]).dtype, dims));
      }
      double work = 0;
      int fed_until = first_chunk * static_cast<int>(l.unroll);  // the fed pieces hold the steps before this
      for (int chunk = first_chunk; chunk < iterations; ++chunk) {
        if (stealing) {
          if (context_.chunk_hook && *context_.chunk_hook) (*context_.chunk_hook)(part, chunk, lo);
          // The rows handed over are those from lo + kept on, to the end: every buffer is cropped again,
          // along the batch dim it was first cropped on, to the rows kept.
          const int kept = stealing->keep(part, chunk, lo, rows);
          if (kept < rows) {
            rows = kept;
            auto recrop = [&](std::vector<Buffer>& bs, int batch_from_last) {
              for (Buffer& b : bs) {
                if (b.data()) b = crop(b, b.dimensions() - batch_from_last);
              }
            };
            recrop(cur, 1);
            recrop(nxt, 1);
            recrop(seqs, 2);
            recrop(zeros, 1);
            recrop(outs, 2);
            recrop(scratches, 1);
            recrop(pieces, 2);
            for (size_t i = 0; i < feeds.size() && i < pieces.size(); ++i) seqs[feeds[i].sequence] = pieces[i];
            if (lens.data()) lens = crop(lens, 0);
          }
        }
        const int first_step = chunk * static_cast<int>(l.unroll);
        if (!feeds.empty() && first_step >= fed_until) {
          const int count = std::min(feed_steps, steps - first_step);
          const int t0 = reverse ? steps - first_step - count : first_step;
          pieces.clear();
          for (size_t i = 0; i < feeds.size(); ++i) {
            Buffer piece;
            if (feeds[i].kept) {
              piece = steps_and_rows(feeds[i].output, t0, count, lo, rows);
            } else {
              const int rank = own[i].dimensions();
              piece = own[i].cropped(rank - 1, 0, count).cropped(rank - 2, 0, rows);
              piece.translate(rank - 1, t0);
              piece.translate(rank - 2, lo);
            }
            pieces.push_back(piece);
            seqs[feeds[i].sequence] = piece;
          }
          feed_rows(feeds, pieces, lo, rows, t0, count);
          fed_until = first_step + count;
        }
        views.clear();
        args.clear();
        std::vector<int> times;
        for (int64_t u = 0; u < l.unroll; ++u) {
          int s = chunk * static_cast<int>(l.unroll) + static_cast<int>(u);
          times.push_back(s >= steps ? -1 : (reverse ? steps - 1 - s : s));
        }
        views.reserve(l.unroll * (l.sequences + l.outputs));
        for (size_t i = 0; i < carry_history.size(); ++i) {
          if (!carry_history[i].data()) continue;
          const int time_dim = carry_history[i].dimensions() - 1;
          cur[i] = crop(carry_history[i].sliced(time_dim, chunk), carry_history[i].dimensions() - 2);
          nxt[i] = crop(carry_history[i].sliced(time_dim, chunk + 1), carry_history[i].dimensions() - 2);
        }
        for (Buffer& c : cur) args.push_back(c.raw_buffer());
        for (int t : times) {
          for (int64_t j = 0; j < l.sequences; ++j) {
            if (t < 0) {
              args.push_back(zeros[j].raw_buffer());
            } else {
              views.push_back(seqs[j].sliced(seqs[j].dimensions() - 1, t));
              args.push_back(views.back().raw_buffer());
            }
          }
        }
        for (Buffer& inv : invariants) args.push_back(inv.raw_buffer());
        int scalar_arg = -1;
        if (spec.masked) {
          t_arg = times[0];
          args.push_back(lens.raw_buffer());
          scalar_arg = static_cast<int>(args.size());
          args.push_back(&t_arg);
        }
        for (Buffer& n : nxt) args.push_back(n.raw_buffer());
        for (int t : times) {
          for (int64_t o = 0; o < l.outputs; ++o) {
            if (t < 0) {
              args.push_back(scratches[o].raw_buffer());
            } else if (skipped[o].data()) {
              args.push_back(skipped[o].raw_buffer());
            } else {
              views.push_back(outs[o].sliced(outs[o].dimensions() - 1, t));
              args.push_back(views.back().raw_buffer());
            }
          }
        }
        call(spec, args, scalar_arg);
        std::swap(cur, nxt);
        work += step_row_cost(rows);
      }
      return iterations > 0 ? work / iterations : 0.0;
    };

    if (parts == 1) {
      run_rows(0, -1, 0, 0, nullptr);
    } else {
      // Ranges on whole register tiles, the costliest to the thread that was fastest in this scan's
      // earlier runs (runtime/row_split.h); a thread that has run all its rows takes over the last tiles
      // of another's (runtime/row_stealing.h). Each thread's work and time go into the next runs' split.
      int granule = row_tile(spec);
      for (const FeedCall& feed : feeds) granule = std::lcm(granule, row_tile(*feed.spec));
      const std::vector<RowRange> ranges = context_.row_split ? context_.row_split->ranges(spec.name, batch, parts, granule)
                                                              : split_rows(batch, std::vector<double>(parts, 1.0), granule);
      RowStealing stealing(ranges, iterations, granule, context_.row_stealing);
      std::vector<double> seconds(parts, 0.0), work(parts, 0.0);
      RowThreads::shared().run(parts, [&](int p) {
        // Timed from its start to the end of its last rows, waits for rows handed over included. (Timing
        // the rows alone, without the waits, measured no better: ab-bench S forward 1.021 and 0.993 in
        // two runs of 8 pairs.)
        const auto start = std::chrono::steady_clock::now();
        auto busy_until = start;
        try {
          // Its own rows (unless a part that ran out of rows before this one started took them), then
          // rows of others, until next() has none.
          RowStealing::Claim c = stealing.start(p);
          for (;;) {
            if (c.rows > 0) {
              work[p] += run_rows(c.first, c.rows, c.chunk, p, &stealing);
              busy_until = std::chrono::steady_clock::now();
            }
            c = stealing.next(p);
            if (c.rows == 0) break;
          }
        } catch (...) {
          stealing.stop();  // the other parts neither wait for this one's rows nor hand it theirs
          throw;
        }
        seconds[p] = std::chrono::duration<double>(busy_until - start).count();
      });
      if (context_.row_split) context_.row_split->record(spec.name, work, seconds);
      if (context_.rows_handed_over) *context_.rows_handed_over += stealing.steals();
    }
    // Every range swapped its carries once per iteration: after an odd count, the finals are in `next`.
    if (iterations % 2 == 1) std::swap(carry, next);
    // A final carry kept in a history is copied out of it: the caller may write into h_n (a next
    // run's initial state, say) without changing y's last step.
    for (size_t i = 0; i < carry_history.size(); ++i) {
      if (carry_history[i].data()) carry[i] = copy_of(carry_history[i].sliced(carry_history[i].dimensions() - 1, steps));
    }
    if (gpu_) {
      // The steps wrote through per-step handles (slices, copies): these handles learn it here.
      for (Buffer& b : carry) {
        b.set_host_dirty(false);
        b.set_device_dirty(true);
      }
      for (Buffer& b : stacked) {
        b.set_host_dirty(false);
        b.set_device_dirty(true);
      }
      for (auto& [o, dense] : unviewable_outputs) {
        copy_on_device(stacked[o], dense);
        stacked[o] = dense;
      }
    }
    if (rec_) {
      for (auto* group : {&carry, &next, &zero_steps, &stacked, &scratch}) {
        rec_->keep.insert(rec_->keep.end(), group->begin(), group->end());
      }
    }
    for (int64_t i = 0; i < l.carries; ++i) buffers_[IrValue{scan, l.carry_result(i)}] = carry[i];
    for (int64_t o = 0; o < l.outputs; ++o) buffers_[IrValue{scan, l.output_result(o)}] = stacked[o];
  }

  // A forward scan's carry whose value before or after each step is also a stacked output (an LSTM's
  // h, which is y, and whose previous value training saves; its c, saved before each step): the carry
  // lives in one time-stacked buffer, [steps + 1, batch, …], before step t at [t] and after it at
  // [t + 1], and those outputs are views of it. The step then reads its carry from there and writes
  // the next one where the output goes: the outputs' writes hit the same lines as the carries' in
  // cache, instead of copies of the carries into fresh memory (three such copies were 10 % of an LSTM
  // training forward step's samples). Only where the values agree at every step: no lengths (a
  // finished row's outputs are zeros, its carry stays), one step per call, on the CPU, and not for
  // outputs stored batch-major (the plan leaves these carry values time-major where this applies:
  // ExecutionPlan::choose_batch_major). Returns the buffer per carry, empty where it does not apply,
  // and the views by output index in `views`.
  std::vector<Buffer> stack_carries(const PlanStep& step, const KernelSpec& spec, int steps, const std::vector<Buffer>& carry,
                                    std::map<int64_t, Buffer>& views) {
    const ir::ScanLayout l = ir::ScanLayout::of(f_, step.node);
    std::vector<Buffer> history(l.carries);
    if (gpu_ || spec.masked || l.unroll != 1 || steps == 0 || spec_direction_reverse(step.node)) return history;
    const Function& body = *f_.body(step.node);
    for (int64_t i = 0; i < l.carries; ++i) {
      std::vector<std::pair<int64_t, int>> slots;  // (output, which slot of the history: 0 before, 1 after)
      for (int64_t o = 0; o < l.outputs; ++o) {
        const int slot = carry_slot(body, l, o, i);
        if (slot >= 0 && !plan_.batch_major(f_, IrValue{step.node, l.output_result(o)})) slots.push_back({o, slot});
      }
      if (slots.empty()) continue;
      const ir::TensorType& t = f_.type(IrValue{step.node, l.carry_result(i)});
      Dims dims = concrete(t, bindings_);
      dims.insert(dims.begin(), steps + 1);
      Buffer h = fresh(t.dtype, dims);
      const int time_dim = h.dimensions() - 1;
      h.sliced(time_dim, 0).copy_from(carry[i]);
      for (auto [o, slot] : slots) views[o] = h.cropped(time_dim, slot, steps).translated(time_dim, -slot);
      history[i] = h;
    }
    return history;
  }

  bool spec_direction_reverse(NodeId scan) const { return f_.node(scan).attrs.get_word("direction") == "reverse"; }

  const ExecutionPlan& plan_;
  const KernelTable& kernels_;
  const std::map<std::string, Tensor<float>>& params_;
  const Function& f_;
  std::map<std::string, CompiledModule::KernelTime>* profile_;
  const RunContext& context_;
  const halide_device_interface_t* gpu_;  // null: the kernels run on the CPU
  const cuda::Streams* streams_;         // CUDA graphs: copies go on the launch stream
  GraphRecording* rec_;                  // non-null: this run is being recorded
  std::mutex profile_mutex_;
  Bindings bindings_;
  std::map<IrValue, Buffer> buffers_;
  // Outputs of parameter-only kernels in this run, with the generation of their cache entry.
  std::map<IrValue, uint64_t> parameter_derived_;
  // Values whose buffer is a view of a parameter's storage or of a cached result (outer slices of them).
  std::set<IrValue> shared_views_;
};

}  // namespace

CompiledModule::CompiledModule(ir::Module module) : module_(std::make_unique<ir::Module>(std::move(module))) {
  ir::verify_or_throw(*module_, "before compiling");
  plan_ = std::make_unique<ExecutionPlan>(*module_);
  use_run_heap_policy();
}

CompiledModule::~CompiledModule() = default;

void CompiledModule::load(KernelTable kernels) {
  for (const KernelSpec& spec : plan_->kernels()) {
    if (spec.cpu_only && kernels.device != Device::Cpu) continue;  // GPU targets do not compile them
    RNNC_USER_CHECK(kernels.functions.count(spec.name)) << "the compiled kernels lack " << spec.name;
  }
  if (kernels.set_error_handler) kernels.set_error_handler(&capture_halide_error);
  use_kernel_scratch(kernels);
  const halide_device_interface_t* device = nullptr;
  if (kernels.device != Device::Cpu) {
    const char* api = device_name(kernels.device);
    RNNC_INTERNAL_CHECK(kernels.device_interface) << "GPU kernels without their runtime's device interface";
    load_gpu_driver(kernels.device);
    // Before the runtime's first CUDA call, which looks up the driver's entry points.
    if (kernels.device == Device::Cuda) cuda::allow_large_shared_memory(kernels.set_get_library_symbol);
    device = kernels.device_interface();
    // Opening the device: the first allocation initialises the driver and creates the context.
    Buffer probe(buffer_type(ir::DType::F32), nullptr, std::vector<int>{1});
    probe.allocate();
    clear_halide_error();
    int rc = probe.device_malloc(device);
    RNNC_USER_CHECK(rc == 0) << "--device " << api << ": no usable " << (kernels.device == Device::Cuda ? "CUDA" : "OpenCL")
                             << " device (Halide error " << rc << ")" << halide_error_suffix();
    probe.device_free();
    // Freed device buffers go back to the runtime's cache, not the driver: a run allocates the same
    // sizes every time, and freeing synchronises the device.
    if (kernels.reuse_device_allocations) kernels.reuse_device_allocations(nullptr, true);
  }
  drop_device_params();
  param_cache_->clear();  // results of the kernels loaded before
  kernels_ = std::move(kernels);
  device_interface_ = device;
  view_alignment_ = view_alignment_bytes(kernels_.device);
  cuda_graphs_ = false;
}

void CompiledModule::drop_device_params() const {
  recordings_.clear();  // they read the parameters' device copies in place
  std::lock_guard<std::mutex> lock(device_params_mutex_);
  device_params_.clear();
}

namespace {

cuda::RuntimeHooks runtime_hooks(const KernelTable& kernels) {
  return cuda::RuntimeHooks{kernels.cuda_acquire_context, kernels.cuda_release_context, kernels.set_cuda_get_stream};
}

// The same layout: element by element, the bytes of one can be copied onto the other.
bool same_layout(const Buffer& a, const Buffer& b) {
  if (a.type() != b.type() || a.dimensions() != b.dimensions()) return false;
  for (int d = 0; d < a.dimensions(); ++d) {
    if (a.dim(d).extent() != b.dim(d).extent() || a.dim(d).stride() != b.dim(d).stride()) return false;
  }
  return a.size_in_bytes() == b.size_in_bytes();
}

// Fills `dst` (on the device) from `src` (on the device, or on the host), on the exec stream.
void copy_argument(const cuda::Streams& streams, const Buffer& src, Buffer& dst, const std::string& what) {
  RNNC_USER_CHECK(same_layout(src, dst))
      << what << ": CUDA graph runs take buffers of the recorded shape, dense and in the executor's layout";
  const halide_buffer_t* s = src.raw_buffer();
  if (s->device && !src.host_dirty()) {
    if (s->device != dst.raw_buffer()->device) {
      streams.copy_device_to_device(dst.raw_buffer()->device, s->device, dst.size_in_bytes(), streams.exec(),
                                    what + ", copied in");
    }
  } else {
    RNNC_USER_CHECK(src.data()) << what << ": a buffer with neither host nor device data";
    streams.copy_host_to_device(dst.raw_buffer()->device, src.data(), dst.size_in_bytes(), streams.exec());
  }
  dst.set_host_dirty(false);
  dst.set_device_dirty(true);
}

// At most this many recordings per module (one per function and argument shapes): each holds a whole
// run's memory. Past it, all are dropped (a recording may read another's results in place).
constexpr size_t kMaxRecordings = 16;

}  // namespace

void CompiledModule::set_cuda_graphs(bool on) {
  recordings_.clear();
  cuda_graphs_ = false;
  if (!on) return;
  RNNC_USER_CHECK(kernels_.device == Device::Cuda)
      << "CUDA graphs need CUDA kernels (these run on " << device_name(kernels_.device) << ")";
  // The runtime's streams, made and hooked in on first use: from then on it launches on them. That
  // first time, Halide's cache of freed device memory (kept per stream) is emptied, so that its list
  // stays short: past 32 entries, Halide returns entries to the driver, and the scratch memory kernels
  // free during a capture (which the graph goes on using) sits in that list. Later, with graphs alive,
  // it is not emptied again. Not owned by rnnc, that scratch memory is the graphs' weak point:
  // out of device memory, Halide frees the whole cache.
  static std::mutex first_use;
  {
    std::lock_guard<std::mutex> lock(first_use);
    static std::set<const void*> emptied;
    if (emptied.insert(reinterpret_cast<const void*>(kernels_.cuda_acquire_context)).second &&
        kernels_.reuse_device_allocations) {
      kernels_.reuse_device_allocations(nullptr, false);
      kernels_.reuse_device_allocations(nullptr, true);
    }
  }
  cuda::Streams::of(runtime_hooks(kernels_));
  keep_params_on_device_ = true;
  drop_device_params();
  cuda_graphs_ = true;
}

std::vector<Buffer> CompiledModule::run_graph(const Function& f, const std::vector<Buffer>& args) const {
  RNNC_USER_CHECK(args.size() == f.args().size())
      << "@" << f.name() << " takes " << f.args().size() << " arguments, got " << args.size();
  const cuda::Streams& streams = cuda::Streams::of(runtime_hooks(kernels_));
  std::string key = f.name();
  for (const Buffer& a : args) {
    key += "|" + std::to_string(a.type().code) + "." + std::to_string(a.type().bits);
    for (int64_t e : dims_of(a)) key += "," + std::to_string(e);
  }
  // Whose result a buffer is, if another recording's: then it is read in place.
  auto recorded_result = [&](const Buffer& b) {
    if (!b.raw_buffer()->device || b.host_dirty()) return false;
    for (const auto& [k, r] : recordings_) {
      for (const Buffer& out : r->results) {
        if (out.raw_buffer()->device == b.raw_buffer()->device) return true;
      }
    }
    return false;
  };

  auto it = recordings_.find(key);
  if (it != recordings_.end()) {
    const GraphRecording& r = *it->second;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!r.args[i].own && (args[i].raw_buffer()->device != r.args[i].buffer.raw_buffer()->device || args[i].host_dirty())) {
        recordings_.clear();  // a result read in place moved: record again (and whatever read this one's)
        it = recordings_.end();
        break;
      }
    }
  }
  std::vector<Buffer> results;
  if (it == recordings_.end()) {
    if (recordings_.size() >= kMaxRecordings) recordings_.clear();
    auto rec = std::make_unique<GraphRecording>();
    std::vector<Buffer> bound;
    for (size_t i = 0; i < args.size(); ++i) {
      if (recorded_result(args[i])) {
        rec->args.push_back({false, args[i]});
      } else {
        Buffer own(args[i].type(), nullptr, halide_sizes(dims_of(args[i])));
        own.allocate(pool_allocate, pool_free);
        clear_halide_error();
        int rc = own.device_malloc(device_interface_);
        RNNC_USER_CHECK(rc == 0) << "allocating " << own.size_in_bytes() << " bytes on the device failed (Halide error "
                                 << rc << ")" << halide_error_suffix();
        copy_argument(streams, args[i], own, "@" + f.name() + " argument '" + f.value_name(f.arg(i)) + "'");
        rec->args.push_back({true, own});
      }
      bound.push_back(rec->args.back().buffer);
    }
    RunContext device{device_interface_, true, &device_params_mutex_, &device_params_};
    Run run(*plan_, kernels_, params_, f, nullptr, device, &streams, rec.get());
    rec->results = run(bound);
    // Added to what the scans kept (their double-buffered carries, zero steps, scratch outputs).
    for (Buffer& b : run.take_buffers()) rec->keep.push_back(b);
    GraphRecording* r = rec.get();
    r->check_pointers(streams);
    rec->graph = cuda::Graph::capture(streams, [&] { r->replay(streams); }, /*rehearse=*/true);
    RNNC_USER_CHECK(rec->graph->nodes() >= rec->ops.size())
        << "CUDA graphs: the capture holds " << rec->graph->nodes() << " operations of the run's " << rec->ops.size()
        << ": its kernels did not launch on rnnc's capture stream";
    results = rec->results;
    recordings_[key] = std::move(rec);
  } else {
    GraphRecording& r = *it->second;
    std::map<IrValue, Buffer> host_current;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].device_dirty() && args[i].data()) host_current[f.arg(i)] = args[i];
    }
    check_index_args(f, host_current);
    for (const auto& [a, steps] : r.length_args) {
      if (!args[a].device_dirty() && args[a].data()) check_lengths(args[a], steps);
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (r.args[i].own) copy_argument(streams, args[i], r.args[i].buffer, "@" + f.name() + " argument '" + f.value_name(f.arg(i)) + "'");
    }
    r.graph->launch(streams.exec());
    results = r.results;
    for (Buffer& b : results) {
      b.set_host_dirty(false);
      b.set_device_dirty(true);
    }
  }
  if (results_on_host_) {
    for (Buffer& b : results) b = host_view(b);
  }
  return results;
}

std::map<std::string, CompiledModule::KernelTime> CompiledModule::graph_kernel_times(int repeats) const {
  std::map<std::string, KernelTime> out;
  if (!cuda_graphs_) return out;
  const cuda::Streams& streams = cuda::Streams::of(runtime_hooks(kernels_));
  for (auto& [key, r] : recordings_) r->kernel_times(streams, std::max(1, repeats), out);
  return out;
}

CompiledModule::Buffer CompiledModule::on_host(const Buffer& b) { return host_view(b); }

void CompiledModule::upload(Buffer& b) const {
  if (!device_interface_) return;
  if (!b.raw_buffer()->device) b.set_host_dirty(true);
  runtime::upload(b, device_interface_);
}

void CompiledModule::synchronize() const {
  if (!device_interface_) return;
  const int rc = wait_for_device(device_interface_);
  RNNC_USER_CHECK(rc == 0) << "waiting for the device failed (Halide error " << rc << ")" << halide_error_suffix();
}

void CompiledModule::set_param(const std::string& name, Tensor<float> value) {
  drop_device_params();
  const ir::ParamDecl* decl = module_->find_param(name);
  RNNC_USER_CHECK(decl) << "module @" << module_->name() << " has no parameter @" << name;
  Dims want;
  for (const ir::Dim& d : decl->type.shape) want.push_back(d.size);
  RNNC_USER_CHECK(value.shape == want && value.size() == num_elements(want))
      << "parameter @" << name << " is declared " << decl->type << " but the value has shape " << dims_str(value.shape);
  params_[name] = std::move(value);
}

const Tensor<float>& CompiledModule::param(const std::string& name) const {
  auto it = params_.find(name);
  RNNC_USER_CHECK(it != params_.end()) << "parameter @" << name << " has no value";
  return it->second;
}

Tensor<float>& CompiledModule::mutable_param(const std::string& name) {
  drop_device_params();
  auto it = params_.find(name);
  RNNC_USER_CHECK(it != params_.end()) << "parameter @" << name << " has no value";
  return it->second;
}

Buffer CompiledModule::new_buffer(ir::DType dtype, const Dims& dims, bool zeroed) {
  return make_buffer(dtype, dims, zeroed);
}

void CompiledModule::init_params(uint64_t seed) {
  drop_device_params();
  params_ = draw_params<float>(*module_, seed);
}

std::vector<Buffer> CompiledModule::run_buffers(const std::string& function, const std::vector<Buffer>& args) const {
  const ir::Function* f = module_->find_function(function);
  RNNC_USER_CHECK(f) << "module @" << module_->name() << " has no function @" << function;
  RNNC_USER_CHECK(!kernels_.functions.empty() || plan_->kernels().empty()) << "the module's kernels are not loaded";
  if (cuda_graphs_) return run_graph(*f, args);
  RunContext device{device_interface_, keep_params_on_device_, &device_params_mutex_, &device_params_,
                       feed_chunk_bytes_, device_interface_ ? nullptr : param_cache_.get(), row_split_.get(),
                       row_stealing_, row_threads_, &chunk_hook_, rows_handed_over_.get()};
  device.view_alignment = view_alignment_;
  std::vector<Buffer> results = Run(*plan_, kernels_, params_, *f, profiling_ ? &profile_ : nullptr, device)(args);
  if (device_interface_ && results_on_host_) {
    for (Buffer& b : results) b = host_view(b);
  }
  return results;
}

std::vector<Value<float>> CompiledModule::run(const std::string& function, const std::vector<Value<float>>& args) const {
  const ir::Function* f = module_->find_function(function);
  RNNC_USER_CHECK(f) << "module @" << module_->name() << " has no function @" << function;
  RNNC_USER_CHECK(args.size() == f->args().size())
      << "@" << f->name() << " takes " << f->args().size() << " arguments, got " << args.size();
  std::vector<Buffer> in;
  for (size_t i = 0; i < args.size(); ++i) {
    const ir::TensorType& t = f->type(f->arg(i));
    bool is_int_arg = std::holds_alternative<IntTensor>(args[i]);
    RNNC_USER_CHECK(is_int_arg == ir::is_int(t.dtype))
        << "@" << f->name() << ": argument '" << f->value_name(f->arg(i)) << "' must be "
        << (is_int_arg ? "a float" : "an integer") << " tensor (" << t << ")";
    in.push_back(to_buffer(args[i], t.dtype));
  }
  std::vector<Value<float>> out;
  for (const Buffer& b : run_buffers(function, in)) out.push_back(to_value(b));
  return out;
}

}  // namespace rnnc::runtime
