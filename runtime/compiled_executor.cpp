#include "runtime/compiled_executor.h"

#include <HalideBuffer.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "ir/error.h"
#include "ir/verifier.h"
#include "ir/scan_layout.h"
#include "runtime/buffer_pool.h"
#include "runtime/param_init.h"

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

std::string halide_error_suffix() { return g_halide_error.empty() ? "" : ": " + g_halide_error; }

// A handle whose host data is current (copied back from the device when the device has newer data).
Buffer host_view(const Buffer& b) {
  Buffer h = b;
  if (h.device_dirty()) {
    g_halide_error.clear();
    int rc = h.copy_to_host();
    RNNC_USER_CHECK(rc == 0) << "copying a result from the device failed (Halide error " << rc << ")" << halide_error_suffix();
  }
  return h;
}

// Puts a buffer's data on the device (allocating there first): after this, handles copied from it
// share the device allocation, and kernels reading it copy nothing.
void upload(Buffer& b, const halide_device_interface_t* device) {
  g_halide_error.clear();
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
    std::memcpy(b.data(), t->data.data(), t->data.size() * sizeof(float));
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
  Buffer b = host_view(device_or_host);
  Dims dims = dims_of(b);
  size_t count = b.number_of_elements();
  if (b.type() == buffer_type(ir::DType::F32)) {
    Tensor<float> t(dims);
    std::memcpy(t.data.data(), b.data(), count * sizeof(float));
    return t;
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

// GPU kernels: the device and the parameters' device copies kept across runs (if any).
struct DeviceContext {
  const halide_device_interface_t* interface = nullptr;
  bool keep_params = false;
  std::mutex* params_mutex = nullptr;
  std::map<std::string, Buffer>* params = nullptr;
};

class Run {
 public:
  Run(const ExecutionPlan& plan, const KernelTable& kernels, const std::map<std::string, Tensor<float>>& params,
      const Function& f, std::map<std::string, CompiledModule::KernelTime>* profile, const DeviceContext& device)
      : plan_(plan), kernels_(kernels), params_(params), f_(f), profile_(profile), device_(device),
        gpu_(device.interface) {}

  std::vector<Buffer> operator()(const std::vector<Buffer>& args) {
    RNNC_USER_CHECK(args.size() == f_.args().size())
        << "@" << f_.name() << " takes " << f_.args().size() << " arguments, got " << args.size();
    for (size_t i = 0; i < args.size(); ++i) bind_arg(i, args[i]);
    check_indices();
    for (const PlanStep& step : plan_.function(f_.name()).steps) {
      const KernelSpec& spec = plan_.kernels()[step.kernel];
      if (step.kind == PlanStep::Kind::Kernel) {
        run_kernel(spec);
      } else {
        run_scan(step.node, spec);
      }
    }
    std::vector<Buffer> out;
    for (const IrValue& v : f_.results()) out.push_back(get(v));
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

  // The compiled kernels clamp ids and labels into range; out-of-range input is caught here instead,
  // with the message the reference executor gives.
  void check_indices() {
    for (NodeId n = 0; n < f_.num_nodes(); ++n) {
      OpKind op = f_.op(n);
      std::vector<IrValue> in = f_.operands(n);
      int64_t limit = -1;
      IrValue ids;
      const char* what = "";
      if (op == OpKind::Embedding) {
        ids = in[1];
        limit = f_.type(in[0]).shape[0].size;
        what = "embedding: id";
      } else if (op == OpKind::CrossEntropy || op == OpKind::CrossEntropyGrad) {
        size_t lo = op == OpKind::CrossEntropy ? 0 : 1;
        ids = in[lo + 1];
        const ir::Dim& classes = f_.type(in[lo]).shape.back();
        limit = classes.is_symbolic() ? -1 : classes.size;
        what = "cross_entropy: label";
      }
      if (limit < 0 || f_.op(ids.node) != OpKind::Arg || !buffers_.count(ids)) continue;
      const Buffer b = host_view(buffers_.at(ids));
      for (size_t k = 0; k < b.number_of_elements(); ++k) {
        int64_t id = f_.type(ids).dtype == ir::DType::I32 ? static_cast<const int32_t*>(b.data())[k]
                                                         : static_cast<const int64_t*>(b.data())[k];
        RNNC_USER_CHECK(id >= 0 && id < limit) << what << " " << id << " at flat position " << k << " is outside [0, "
                                               << limit << ")";
      }
    }
  }

  Buffer& get(IrValue v) {
    if (auto it = buffers_.find(v); it != buffers_.end()) return it->second;
    const ir::NodeData& d = f_.node(v.node);
    if (d.op == OpKind::Param) {
      const std::string& name = d.attrs.get_word("name");
      auto p = params_.find(name);
      RNNC_USER_CHECK(p != params_.end()) << "parameter @" << name << " has no value";
      if (gpu_ && device_.keep_params) {
        std::lock_guard<std::mutex> lock(*device_.params_mutex);
        if (auto c = device_.params->find(name); c != device_.params->end()) return buffers_[v] = c->second;
      }
      // The parameter's storage, unchanged: kernels only read their inputs.
      Buffer b(buffer_type(ir::DType::F32), const_cast<float*>(p->second.data.data()), halide_sizes(p->second.shape));
      if (gpu_) {
        b.set_host_dirty(true);
        upload(b, gpu_);
        if (device_.keep_params) {
          std::lock_guard<std::mutex> lock(*device_.params_mutex);
          (*device_.params)[name] = b;
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

  void call(const KernelSpec& spec, std::vector<void*>& args) {
    auto it = kernels_.functions.find(spec.name);
    RNNC_INTERNAL_CHECK(it != kernels_.functions.end()) << "kernel " << spec.name << " was not compiled";
    auto start = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    g_halide_error.clear();
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
    RNNC_USER_CHECK(rc == 0) << "kernel " << spec.name << " failed (Halide error " << rc << ")" << halide_error_suffix();
  }

  void run_kernel(const KernelSpec& spec) {
    std::vector<void*> args;
    for (const IrValue& v : spec.inputs) args.push_back(get(v).raw_buffer());
    for (const IrValue& v : spec.outputs) {
      buffers_[v] = fresh(f_.type(v).dtype, concrete(f_.type(v), bindings_));
      args.push_back(buffers_[v].raw_buffer());
    }
    call(spec, args);
  }

  void run_scan(NodeId scan, const KernelSpec& spec) {
    ir::ScanLayout l = ir::ScanLayout::of(f_, scan);
    const Function& body = *f_.body(scan);
    std::vector<IrValue> operands = f_.operands(scan);
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
      Buffer init = host_view(get(operands[l.carry_operand(i)]));
      carry.push_back(copy_of(init));
      next.push_back(copy_of(init));
      resident(carry.back());
      resident(next.back());
    }
    std::vector<Buffer> sequences, zero_steps, invariants, stacked, scratch;
    for (int64_t j = 0; j < l.sequences; ++j) {
      sequences.push_back(resident(get(operands[l.sequence_operand(j)])));
      const ir::TensorType& t = body.type(body.arg(l.sequence_arg(j)));
      zero_steps.push_back(fresh(t.dtype, concrete(t, bindings_), /*zeroed=*/true));
    }
    for (int64_t k = 0; k < l.invariants; ++k) invariants.push_back(resident(get(operands[l.invariant_operand(k)])));
    for (int64_t o = 0; o < l.outputs; ++o) {
      IrValue result{scan, l.output_result(o)};
      stacked.push_back(fresh(f_.type(result).dtype, concrete(f_.type(result), bindings_)));
      const ir::TensorType& t = body.type(body.results()[l.body_output(o)]);
      scratch.push_back(fresh(t.dtype, concrete(t, bindings_)));
    }
    Buffer* lengths = l.lengths ? &get(operands[0]) : nullptr;
    if (lengths) {
      const Buffer host = host_view(*lengths);
      for (size_t r = 0; r < host.number_of_elements(); ++r) {
        int32_t len = static_cast<const int32_t*>(host.data())[r];
        RNNC_USER_CHECK(len >= 0 && len <= steps) << "scan: lengths[" << r << "] = " << len << " is outside [0, " << steps << "]";
      }
      resident(*lengths);
    }

    // One row range of the whole scan: every buffer cropped to rows [lo, lo + rows) of its batch dim.
    // Halide crops keep absolute coordinates, so the ranges' kernels agree on lengths[b] and all else.
    const bool reverse = spec_direction_reverse(scan);
    auto run_rows = [&](int lo, int rows) {
      auto crop = [&](const Buffer& b, int batch_dim) { return rows < 0 ? b : b.cropped(batch_dim, lo, rows); };
      std::vector<Buffer> cur, nxt, seqs, zeros, outs, scratches;
      for (int64_t i = 0; i < l.carries; ++i) {
        cur.push_back(crop(carry[i], carry[i].dimensions() - 1));
        nxt.push_back(crop(next[i], next[i].dimensions() - 1));
      }
      for (int64_t j = 0; j < l.sequences; ++j) {
        seqs.push_back(crop(sequences[j], sequences[j].dimensions() - 2));
        zeros.push_back(crop(zero_steps[j], zero_steps[j].dimensions() - 1));
      }
      for (int64_t o = 0; o < l.outputs; ++o) {
        outs.push_back(crop(stacked[o], stacked[o].dimensions() - 2));
        scratches.push_back(crop(scratch[o], scratch[o].dimensions() - 1));
      }
      Buffer lens = lengths ? crop(*lengths, 0) : Buffer();
      int32_t t_arg = 0;
      std::vector<Buffer> views;
      std::vector<void*> args;
      for (int chunk = 0; chunk * l.unroll < steps; ++chunk) {
        views.clear();
        args.clear();
        std::vector<int> times;
        for (int64_t u = 0; u < l.unroll; ++u) {
          int s = chunk * static_cast<int>(l.unroll) + static_cast<int>(u);
          times.push_back(s >= steps ? -1 : (reverse ? steps - 1 - s : s));
        }
        views.reserve(l.unroll * (l.sequences + l.outputs));
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
        if (spec.masked) {
          t_arg = times[0];
          args.push_back(lens.raw_buffer());
          args.push_back(&t_arg);
        }
        for (Buffer& n : nxt) args.push_back(n.raw_buffer());
        for (int t : times) {
          for (int64_t o = 0; o < l.outputs; ++o) {
            if (t < 0) {
              args.push_back(scratches[o].raw_buffer());
            } else {
              views.push_back(outs[o].sliced(outs[o].dimensions() - 1, t));
              args.push_back(views.back().raw_buffer());
            }
          }
        }
        call(spec, args);
        std::swap(cur, nxt);
      }
    };

    // Row-separable steps: each thread runs a contiguous range of rows through every step, no
    // synchronisation between steps. At least 8 rows a range: smaller ones do not pay for a thread.
    int batch = l.carries > 0 ? carry[0].dim(carry[0].dimensions() - 1).extent() : 0;
    int parts = 1;
    if (spec.row_separable && batch > 0 && !gpu_) {
      parts = std::max(1, std::min(static_cast<int>(std::thread::hardware_concurrency()), batch / 8));
    }
    if (parts == 1) {
      run_rows(0, -1);
    } else {
      std::vector<std::thread> threads;
      std::vector<std::exception_ptr> errors(parts);
      int lo = 0;
      for (int p = 0; p < parts; ++p) {
        int rows = batch / parts + (p < batch % parts ? 1 : 0);
        auto work = [&, p, lo, rows] {
          try {
            run_rows(lo, rows);
          } catch (...) {
            errors[p] = std::current_exception();
          }
        };
        if (p + 1 < parts) {
          threads.emplace_back(work);
        } else {
          work();
        }
        lo += rows;
      }
      for (std::thread& t : threads) t.join();
      for (const std::exception_ptr& e : errors) {
        if (e) std::rethrow_exception(e);
      }
    }
    // Every range swapped its carries once per iteration: after an odd count, the finals are in `next`.
    int iterations = (steps + static_cast<int>(l.unroll) - 1) / static_cast<int>(l.unroll);
    if (iterations % 2 == 1) std::swap(carry, next);
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
    }
    for (int64_t i = 0; i < l.carries; ++i) buffers_[IrValue{scan, l.carry_result(i)}] = carry[i];
    for (int64_t o = 0; o < l.outputs; ++o) buffers_[IrValue{scan, l.output_result(o)}] = stacked[o];
  }

  bool spec_direction_reverse(NodeId scan) const { return f_.node(scan).attrs.get_word("direction") == "reverse"; }

  const ExecutionPlan& plan_;
  const KernelTable& kernels_;
  const std::map<std::string, Tensor<float>>& params_;
  const Function& f_;
  std::map<std::string, CompiledModule::KernelTime>* profile_;
  const DeviceContext& device_;
  const halide_device_interface_t* gpu_;  // null: the kernels run on the CPU
  std::mutex profile_mutex_;
  Bindings bindings_;
  std::map<IrValue, Buffer> buffers_;
};

}  // namespace

CompiledModule::CompiledModule(ir::Module module) : module_(std::make_unique<ir::Module>(std::move(module))) {
  ir::verify_or_throw(*module_, "before compiling");
  plan_ = std::make_unique<ExecutionPlan>(*module_);
}

void CompiledModule::load(KernelTable kernels) {
  for (const KernelSpec& spec : plan_->kernels()) {
    RNNC_USER_CHECK(kernels.functions.count(spec.name)) << "the compiled kernels lack " << spec.name;
  }
  if (kernels.set_error_handler) kernels.set_error_handler(&capture_halide_error);
  const halide_device_interface_t* device = nullptr;
  if (kernels.device != Device::Cpu) {
    const char* api = device_name(kernels.device);
    RNNC_INTERNAL_CHECK(kernels.device_interface) << "GPU kernels without their runtime's device interface";
    load_gpu_driver(kernels.device);
    device = kernels.device_interface();
    // Opening the device: the first allocation initialises the driver and creates the context.
    Buffer probe(buffer_type(ir::DType::F32), nullptr, std::vector<int>{1});
    probe.allocate();
    g_halide_error.clear();
    int rc = probe.device_malloc(device);
    RNNC_USER_CHECK(rc == 0) << "--device " << api << ": no usable " << (kernels.device == Device::Cuda ? "CUDA" : "OpenCL")
                             << " device (Halide error " << rc << ")" << halide_error_suffix();
    probe.device_free();
    // Freed device buffers go back to the runtime's cache, not the driver: a run allocates the same
    // sizes every time, and freeing synchronises the device.
    if (kernels.reuse_device_allocations) kernels.reuse_device_allocations(nullptr, true);
  }
  drop_device_params();
  kernels_ = std::move(kernels);
  device_interface_ = device;
}

void CompiledModule::drop_device_params() const {
  std::lock_guard<std::mutex> lock(device_params_mutex_);
  device_params_.clear();
}

void CompiledModule::synchronize() const {
  if (!device_interface_) return;
  Buffer b(buffer_type(ir::DType::F32), nullptr, std::vector<int>{1});
  b.allocate();
  int rc = b.device_malloc(device_interface_);
  if (rc == 0) rc = b.device_sync();
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
  DeviceContext device{device_interface_, keep_params_on_device_, &device_params_mutex_, &device_params_};
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
