#include "runtime/execution_plan.h"

#include <algorithm>
#include <queue>
#include <set>

#include "ir/error.h"
#include "ir/scan_layout.h"
#include "ir/training_names.h"
#include "runtime/weight_panels.h"

namespace rnnc::runtime {

using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::Value;

int carry_slot(const Function& body, const ir::ScanLayout& l, int64_t output, int64_t carry) {
  const std::vector<Value> yields = body.results();
  const Value out = yields[l.body_output(output)];
  if (out == body.arg(l.carry_arg(carry))) return 0;
  return out == yields[l.carry_result(carry)] ? 1 : -1;
}

std::string c_identifier(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

namespace {

bool is_leaf(OpKind op) {
  return op == OpKind::Arg || op == OpKind::Return || op == OpKind::Param || op == OpKind::Constant;
}

// Inputs and outputs of a set of nodes of f.
void wire(const Function& f, KernelSpec& spec) {
  std::set<NodeId> inside(spec.nodes.begin(), spec.nodes.end());
  std::set<Value> seen;
  for (NodeId n : spec.nodes) {
    for (const Value& v : f.operands(n)) {
      if (inside.count(v.node) || f.op(v.node) == OpKind::Constant) continue;
      if (seen.insert(v).second) spec.inputs.push_back(v);
    }
  }
  for (NodeId n : spec.nodes) {
    for (int r = 0; r < static_cast<int>(f.node(n).types.size()); ++r) {
      for (const ir::Use& u : f.users(Value{n, r})) {
        if (!inside.count(u.user)) {
          spec.outputs.push_back(Value{n, r});
          break;
        }
      }
    }
  }
}

// Ops that compute each row of their result from the same row of their (row-led) operands.
bool row_local(const Function& f, NodeId n) {
  OpKind op = f.op(n);
  const ir::Attrs& a = f.node(n).attrs;
  if (ir::is_unary_elementwise(op) || ir::is_binary_elementwise(op)) return true;
  switch (op) {
    case OpKind::Arg:
    case OpKind::Return:
    case OpKind::Constant:
    case OpKind::Param:
    case OpKind::ReluMask:
    case OpKind::BroadcastLike:
    case OpKind::SelectRows:
    case OpKind::LayerNorm:
    case OpKind::LayerNormGrad:
    case OpKind::Softmax:
    case OpKind::SoftmaxGrad:
    case OpKind::Dropout:
      return op != OpKind::Dropout;  // dropout's mask hashes the absolute element index: rows would shift
    case OpKind::MatMul:
      return !a.has_flag("transpose_a");
    case OpKind::Concat:
    case OpKind::Slice: {
      int64_t axis = a.get_int("axis");
      return axis != 0 && axis != -f.type(ir::Value{n, 0}).rank();
    }
    case OpKind::Fused: {
      const Function& body = *f.body(n);
      for (NodeId m = 0; m < body.num_nodes(); ++m) {
        if (!row_local(body, m)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

bool row_separable(const Function& body, const ir::ScanLayout& l) {
  auto leads_with = [](const ir::TensorType& t, const ir::Dim& d) { return t.rank() >= 1 && t.shape[0] == d; };
  if (body.args().empty()) return false;
  const ir::TensorType& first = body.type(body.arg(0));
  if (first.rank() < 1 || !first.shape[0].is_symbolic()) return false;
  const ir::Dim batch = first.shape[0];
  for (size_t i = 0; i < l.invariant_arg(0); ++i) {
    if (!leads_with(body.type(body.arg(i)), batch)) return false;
  }
  for (size_t i = l.invariant_arg(0); i < body.args().size(); ++i) {
    for (const ir::Dim& d : body.type(body.arg(i)).shape) {
      if (d == batch) return false;
    }
  }
  for (const Value& v : body.results()) {
    if (!leads_with(body.type(v), batch)) return false;
  }
  for (NodeId n = 0; n < body.num_nodes(); ++n) {
    if (!row_local(body, n)) return false;
    // A matmul's right operand must not be row data: rows would meet other rows.
    if (body.op(n) == OpKind::MatMul && leads_with(body.type(body.operands(n)[1]), batch)) return false;
  }
  return true;
}

// The value `v` of `f` has exactly one use, and it is `user`.
bool only_use(const Function& f, const Value& v, NodeId user) {
  const std::vector<ir::Use> uses = f.users(v);
  return uses.size() == 1 && uses[0].user == user;
}

// KernelSpec::in_place_carries: carry i's next value is add(carry, x), directly or as a result of a
// fused group whose body adds, and neither the carry nor the sum is read by anything else.
std::vector<bool> in_place_carries(const Function& body, const ir::ScanLayout& l) {
  std::vector<bool> in_place(static_cast<size_t>(l.carries), false);
  for (int64_t i = 0; i < l.carries; ++i) {
    const Value carry = body.arg(l.carry_arg(i)), next = body.results()[l.carry_result(i)];
    if (!only_use(body, carry, next.node)) continue;
    // The sum goes nowhere but to the step's results, once.
    const std::vector<ir::Use> next_uses = body.users(next);
    if (next_uses.size() != 1 || body.op(next_uses[0].user) != OpKind::Return) continue;
    if (body.op(next.node) == OpKind::Add) {
      in_place[i] = true;
    } else if (body.op(next.node) == OpKind::Fused) {
      const Function& group = *body.body(next.node);
      const Value inner_carry = group.arg(static_cast<size_t>(body.users(carry)[0].operand));
      const Value inner_next = group.results()[static_cast<size_t>(next.result)];
      in_place[i] = group.op(inner_next.node) == OpKind::Add && only_use(group, inner_carry, inner_next.node) &&
                    group.users(inner_next).size() == 1;
    }
  }
  return in_place;
}

}  // namespace

ExecutionPlan::ExecutionPlan(const ir::Module& module) : module_(&module) {
  for (const Function& f : module.functions()) plan_function(f);
  for (const Function& f : module.functions()) choose_batch_major(f);
}

bool ExecutionPlan::batch_major(const ir::Function& f, const ir::Value& v) const {
  auto it = batch_major_.find(&f);
  return it != batch_major_.end() && it->second.count(v) > 0;
}

namespace {

// Is every read of `v` in `f` one of a row-split scan's sequences? (Returning it is not a read here.)
bool read_by_row_scans_only(const Function& f, const Value& v) {
  for (const ir::Use& u : f.users(v)) {
    if (f.op(u.user) == OpKind::Return) continue;
    if (f.op(u.user) != OpKind::Scan) return false;
    const ir::ScanLayout l = ir::ScanLayout::of(f, u.user);
    bool sequence = false;
    for (int64_t j = 0; j < l.sequences; ++j) sequence |= l.sequence_operand(j) == u.operand;
    if (!sequence || !row_separable(*f.body(u.user), l)) return false;
  }
  return true;
}

}  // namespace

void ExecutionPlan::choose_batch_major(const Function& f) {
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.op(n) != OpKind::Scan) continue;
    const ir::ScanLayout l = ir::ScanLayout::of(f, n);
    if (l.unroll != 1 || !row_separable(*f.body(n), l)) continue;
    const bool forward = f.node(n).attrs.get_word("direction") != "reverse";
    const Function& body = *f.body(n);
    for (int64_t o = 0; o < l.outputs; ++o) {
      const Value v{n, l.output_result(o)};
      const ir::TensorType& t = f.type(v);
      if (t.rank() < 3 || !t.shape[0].is_symbolic() || !t.shape[1].is_symbolic()) continue;
      // A carry's value before or after each step of a forward scan without lengths stays time-major:
      // the executor makes it a view of the carry's own time-stacked buffer, which costs no store
      // (compiled_executor.cpp, stack_carries). Batch-major, it would be a copy.
      bool carry_value = false;
      for (int64_t i = 0; i < l.carries; ++i) carry_value |= carry_slot(body, l, o, i) >= 0;
      if (forward && !l.lengths && carry_value) continue;
      if (!read_by_row_scans_only(f, v)) continue;
      bool only_row_scans = true, read = false;
      for (const ir::Use& u : f.users(v)) read |= f.op(u.user) != OpKind::Return;
      for (size_t r = 0; r < f.results().size(); ++r) {
        if (!(f.results()[r] == v)) continue;
        // A result: a saved activation (ir/training_names.h), which the caller only passes on to the
        // function taking it by name; any other result is the caller's to read, and stays row-major.
        const std::string& name = f.result_names()[r];
        only_row_scans &= name.rfind(ir::kSavedPrefix, 0) == 0;
        bool passed_on = false;
        for (const Function& g : module_->functions()) {
          for (size_t a = 0; &g != &f && a < g.args().size(); ++a) {
            if (g.value_name(g.arg(a)) != name) continue;
            passed_on = true;
            only_row_scans &= read_by_row_scans_only(g, g.arg(a));
          }
        }
        only_row_scans &= passed_on;
        read |= passed_on;
      }
      if (only_row_scans && read) batch_major_[&f].insert(v);
    }
  }
}

const FunctionPlan& ExecutionPlan::function(const std::string& name) const {
  auto it = functions_.find(name);
  RNNC_USER_CHECK(it != functions_.end()) << "module @" << module_->name() << " has no function @" << name;
  return it->second;
}

void ExecutionPlan::plan_function(const Function& f) {
  const std::string prefix = c_identifier(module_->name()) + "_" + c_identifier(f.name());
  // Group the ops: a scan alone; otherwise by `kernel` attribute, or one op per group.
  std::map<std::string, size_t> group_of_label;
  std::vector<std::vector<NodeId>> groups;
  std::vector<int> group(f.num_nodes(), -1);
  std::vector<NodeId> order = f.topological_order();
  for (NodeId n : order) {
    const ir::NodeData& d = f.node(n);
    if (is_leaf(d.op)) continue;
    std::string label = d.op == OpKind::Scan || !d.attrs.has("kernel") ? "#" + std::to_string(n) : d.attrs.get_word("kernel");
    auto [it, fresh] = group_of_label.emplace(label, groups.size());
    if (fresh) groups.push_back({});
    groups[it->second].push_back(n);
    group[n] = static_cast<int>(it->second);
  }
  // Order the groups so that each runs after the groups it reads from (Kahn, lowest first).
  size_t count = groups.size();
  std::vector<std::set<size_t>> succ(count);
  std::vector<size_t> pending(count, 0);
  for (NodeId n : order) {
    if (group[n] < 0) continue;
    for (const Value& v : f.operands(n)) {
      int g = group[v.node];
      if (g >= 0 && g != group[n] && succ[g].insert(group[n]).second) ++pending[group[n]];
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t g = 0; g < count; ++g) {
    if (pending[g] == 0) ready.push(g);
  }
  FunctionPlan& plan = functions_[f.name()];
  plan.function = &f;
  size_t done = 0;
  // Kernel names count scans and unlabelled ops in plan order, never node ids: the same module parsed
  // back from its text (as an AOT-compiled model's loader does) names its kernels the same.
  int scans = 0, ops = 0;
  while (!ready.empty()) {
    size_t g = ready.top();
    ready.pop();
    ++done;
    for (size_t s : succ[g]) {
      if (--pending[s] == 0) ready.push(s);
    }
    NodeId first = groups[g][0];
    KernelSpec spec;
    if (f.op(first) == OpKind::Scan) {
      const Function& body = *f.body(first);
      const ir::Attrs& a = f.node(first).attrs;
      spec.name = prefix + "_scan" + std::to_string(scans++) + "_step";
      spec.function = &body;
      for (NodeId m : body.topological_order()) {
        if (!is_leaf(body.op(m))) spec.nodes.push_back(m);
        RNNC_USER_CHECK(body.op(m) != OpKind::Scan) << "codegen: a scan inside a scan body is not supported";
      }
      for (size_t i = 0; i < body.args().size(); ++i) spec.inputs.push_back(body.arg(i));
      spec.outputs = body.results();
      spec.step = true;
      spec.masked = a.has_flag("lengths");
      spec.carries = a.get_int("carries");
      const ir::ScanLayout layout = ir::ScanLayout::of(f, first);
      spec.row_separable = row_separable(body, layout);
      spec.in_place_carries = in_place_carries(body, layout);
      spec.panel_inputs = panel_inputs(body, layout);
      plan.steps.push_back({PlanStep::Kind::Scan, kernels_.size(), first});
    } else {
      spec.name = prefix + "_" + c_identifier(f.node(first).attrs.has("kernel") ? f.node(first).attrs.get_word("kernel")
                                                                               : "op" + std::to_string(ops++));
      spec.function = &f;
      spec.nodes = groups[g];
      wire(f, spec);
      for (size_t i = 0; i < spec.inputs.size(); ++i) {
        if (panel_weights(f, spec.inputs[i], spec.nodes)) spec.panel_inputs.push_back(static_cast<int64_t>(i));
      }
      plan.steps.push_back({PlanStep::Kind::Kernel, kernels_.size(), 0});
    }
    kernels_.push_back(std::move(spec));
  }
  RNNC_USER_CHECK(done == count) << "codegen: the kernels of @" << f.name()
                                 << " depend on each other in a cycle (a kernel group that is not convex)";
  attach_feeders(f, plan);
}

namespace {

// Whether `spec` can feed sequence `seq` of `scan` chunk by chunk (runtime/execution_plan.h, Feeder):
// one matmul of a [time, batch, …] operand by weights (no batch or time dim), so that each (t, b) row
// of the result needs row (t, b) of the operand only, and the scan alone reads the result.
bool feeds_rows(const Function& f, const KernelSpec& spec, const Value& seq, NodeId scan) {
  if (spec.nodes.size() != 1 || spec.outputs.size() != 1 || !(spec.outputs[0] == seq)) return false;
  NodeId n = spec.nodes[0];
  if (f.op(n) != OpKind::MatMul || f.node(n).attrs.has_flag("transpose_a")) return false;
  std::vector<Value> operands = f.operands(n);
  const ir::TensorType& a = f.type(operands[0]);
  const ir::TensorType& out = f.type(seq);
  if (a.rank() < 3 || out.rank() != a.rank()) return false;
  for (int d = 0; d < 2; ++d) {
    if (!a.shape[d].is_symbolic() || !(a.shape[d] == out.shape[d])) return false;
  }
  for (const ir::Dim& d : f.type(operands[1]).shape) {
    if (d.is_symbolic()) return false;
  }
  // Read once, by the scan, as this one sequence, and otherwise only returned (Feeder::kept): no op
  // between reads it, so the pieces may be computed as the scan goes.
  int scan_reads = 0;
  for (const ir::Use& u : f.users(seq)) {
    if (u.user == scan) {
      ++scan_reads;
    } else if (f.op(u.user) != OpKind::Return) {
      return false;
    }
  }
  return scan_reads == 1;
}

}  // namespace

void ExecutionPlan::attach_feeders(const Function& f, FunctionPlan& plan) {
  std::vector<bool> absorbed(plan.steps.size(), false);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    PlanStep& scan_step = plan.steps[s];
    if (scan_step.kind != PlanStep::Kind::Scan || !kernels_[scan_step.kernel].row_separable) continue;
    ir::ScanLayout l = ir::ScanLayout::of(f, scan_step.node);
    std::vector<Value> operands = f.operands(scan_step.node);
    for (int64_t j = 0; j < l.sequences; ++j) {
      const Value seq = operands[l.sequence_operand(j)];
      for (size_t p = 0; p < s; ++p) {
        if (absorbed[p] || plan.steps[p].kind != PlanStep::Kind::Kernel) continue;
        const size_t k = plan.steps[p].kernel;
        if (!feeds_rows(f, kernels_[k], seq, scan_step.node)) continue;
        KernelSpec rows = kernels_[k];
        rows.name += "_rows";
        rows.row_separable = true;
        rows.cpu_only = true;
        // The row copies read their weights as they are (fed in pieces only where the weights are
        // small: compiled_executor.cpp, kFeedWeightBytes; where they are also panels, the scan's step
        // still reads them packed).
        rows.panel_inputs.clear();
        kernels_.push_back(std::move(rows));
        const std::vector<Value> results = f.results();
        const bool kept = std::find(results.begin(), results.end(), seq) != results.end();
        scan_step.feeders.push_back({k, kernels_.size() - 1, j, kept});
        absorbed[p] = true;
        break;
      }
    }
  }
  std::vector<PlanStep> kept;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    if (!absorbed[s]) kept.push_back(std::move(plan.steps[s]));
  }
  plan.steps = std::move(kept);
}

}  // namespace rnnc::runtime
