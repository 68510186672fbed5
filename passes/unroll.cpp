// unroll=K: each scan's body runs K consecutive steps per iteration (scan {unroll = K}), cutting the
// loop's per-iteration overhead and giving codegen K steps to schedule together.
//
// The remainder and the lengths become masks: a step_mask [time, batch] sequence says, per step and
// row, whether the step is inside that row's sequence (and inside the time dimension: the last chunk's
// missing steps read zeros and are masked off). After each sub-step, select_rows keeps the old carry in
// finished rows, and zeroes the step outputs there, as the lengths-aware scan did.
#include <charconv>

#include "ir/error.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "passes/scan_utils.h"

namespace rnnc::passes {
namespace {

using ir::Attrs;
using ir::Function;
using ir::NodeId;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

// Copies `body`'s ops into `out`, with its arguments bound to `args`; returns what it yields.
std::vector<Value> inline_body(const Function& body, Function& out, const std::vector<Value>& args) {
  std::map<Value, Value> map;
  for (size_t i = 0; i < args.size(); ++i) map[body.arg(i)] = args[i];
  for (NodeId n : body.topological_order()) {
    const ir::NodeData& d = body.node(n);
    if (d.op == OpKind::Arg || d.op == OpKind::Return) continue;
    std::vector<Value> in;
    for (const Value& v : body.operands(n)) in.push_back(map.at(v));
    std::unique_ptr<Function> nested = d.body ? std::make_unique<Function>(*d.body.get()) : nullptr;
    NodeId copy = out.add_node(d.op, in, d.attrs, ir::op_info(d.op).declares_type ? d.types : std::vector<TensorType>{},
                               std::move(nested));
    for (int r = 0; r < static_cast<int>(d.types.size()); ++r) {
      map[Value{n, r}] = Value{copy, r};
      out.set_value_name(Value{copy, r}, d.names[r]);
    }
  }
  std::vector<Value> results;
  for (const Value& v : body.results()) results.push_back(map.at(v));
  return results;
}

void unroll_scan(Function& f, NodeId scan, int64_t k) {
  ScanLayout l = ScanLayout::of(f, scan);
  const Function& step = *f.body(scan);
  std::vector<Value> operands = f.operands(scan);
  // The mask is per step and row: every carry (and, with lengths, every step output) must have the
  // sequences' batch dim first.
  Value first_seq = operands[l.sequence_operand(0)];
  const TensorType& seq_type = f.type(first_seq);
  RNNC_USER_CHECK(seq_type.rank() >= 2)
      << "unroll: " << describe_node(f, scan) << " scans " << seq_type << ", which has no batch dim to mask";
  const ir::Dim batch = seq_type.shape[1];
  auto check_rows = [&](const TensorType& t, const std::string& what) {
    RNNC_USER_CHECK(t.rank() >= 1 && t.shape[0] == batch)
        << "unroll: " << describe_node(f, scan) << ": " << what << " " << t << " does not lead with the batch dim "
        << batch << " of its sequences";
  };
  for (int64_t i = 0; i < l.carries; ++i) check_rows(f.type(operands[l.carry_operand(i)]), "carry");
  if (l.lengths) {
    for (int64_t o = 0; o < l.outputs; ++o) check_rows(step.type(step.results()[l.body_output(o)]), "step output");
  }
  Value mask;
  if (l.lengths) {
    mask = f.add(OpKind::StepMask, {first_seq, operands[0]});
  } else {
    mask = f.add(OpKind::StepMask, {first_seq});
  }

  auto body = std::make_unique<Function>("body");
  std::vector<Value> carries;
  for (int64_t i = 0; i < l.carries; ++i) carries.push_back(body->add_arg(step.value_name(step.arg(i)), step.type(step.arg(i))));
  // Sequences, sub-step major, each sub-step with its mask last.
  const int64_t sequences = l.sequences + 1;
  std::vector<std::vector<Value>> steps(k);
  for (int64_t u = 0; u < k; ++u) {
    for (int64_t j = 0; j < l.sequences; ++j) {
      Value a = step.arg(l.sequence_arg(j));
      std::string name = step.value_name(a);
      if (k > 1 && !name.empty()) name.append(".").append(std::to_string(u));
      steps[u].push_back(body->add_arg(name, step.type(a)));
    }
    steps[u].push_back(body->add_arg("mask." + std::to_string(u), TensorType{ir::DType::I32, {batch}}));
  }
  std::vector<Value> invariants;
  for (int64_t i = 0; i < l.invariants; ++i) {
    Value a = step.arg(l.invariant_arg(i));
    invariants.push_back(body->add_arg(step.value_name(a), step.type(a)));
  }
  std::vector<Value> outputs;
  for (int64_t u = 0; u < k; ++u) {
    std::vector<Value> args = carries;
    args.insert(args.end(), steps[u].begin(), steps[u].end() - 1);
    args.insert(args.end(), invariants.begin(), invariants.end());
    std::vector<Value> res = inline_body(step, *body, args);
    Value m = steps[u].back();
    for (int64_t i = 0; i < l.carries; ++i) carries[i] = body->add(OpKind::SelectRows, {m, res[i], carries[i]});
    for (int64_t o = 0; o < l.outputs; ++o) {
      Value out = res[l.body_output(o)];
      if (l.lengths) {
        Value zero = body->add(OpKind::Constant, {}, Attrs().set("value", 0.0), {body->type(out)});
        out = body->add(OpKind::SelectRows, {m, out, zero});
      }
      outputs.push_back(out);
    }
  }
  std::vector<Value> yields = carries;
  yields.insert(yields.end(), outputs.begin(), outputs.end());
  body->set_results(yields);

  std::vector<Value> new_operands;
  for (int64_t i = 0; i < l.carries; ++i) new_operands.push_back(operands[l.carry_operand(i)]);
  for (int64_t j = 0; j < l.sequences; ++j) new_operands.push_back(operands[l.sequence_operand(j)]);
  new_operands.push_back(mask);
  for (int64_t i = 0; i < l.invariants; ++i) new_operands.push_back(operands[l.invariant_operand(i)]);
  Attrs attrs = f.node(scan).attrs;
  attrs.erase("lengths");
  attrs.set("sequences", sequences);
  attrs.set("unroll", k);
  NodeId unrolled = f.add_node(OpKind::Scan, new_operands, attrs, {}, std::move(body));
  for (int r = 0; r < static_cast<int>(f.node(scan).types.size()); ++r) {
    f.set_value_name(Value{unrolled, r}, f.value_name(Value{scan, r}));
    f.replace_all_uses(Value{scan, r}, Value{unrolled, r});
  }
}

class Unroll : public Pass {
 public:
  explicit Unroll(int64_t k) : k_(k) {}
  std::string name() const override { return "unroll"; }
  void run(ir::Module& m) override {
    for (Function& f : m.functions()) {
      size_t count = f.num_nodes();
      bool changed = false;
      for (NodeId n = 0; n < count; ++n) {
        if (f.op(n) != OpKind::Scan) continue;
        if (ScanLayout::of(f, n).unroll != 1) continue;  // already unrolled
        unroll_scan(f, n, k_);
        changed = true;
      }
      if (changed) eliminate_dead_code(f);
    }
  }

 private:
  int64_t k_;
};

}  // namespace

PassPtr create_unroll(const std::string& argument) {
  constexpr int64_t kMaxUnroll = 32;
  int64_t k = 0;
  const std::string& s = argument;
  auto res = std::from_chars(s.data(), s.data() + s.size(), k);
  RNNC_USER_CHECK(!s.empty() && res.ec == std::errc() && res.ptr == s.data() + s.size() && k >= 2)
      << "unroll: needs a factor >= 2, as unroll=4 (got '" << argument << "')";
  // Each sub-step is a copy of the step, and the kernels' compile time grows faster than the copies (on
  // a GPU, 8 at workload S took Halide over 16 minutes): a larger factor is a mistake, not a request.
  RNNC_USER_CHECK(k <= kMaxUnroll) << "unroll: a factor of at most " << kMaxUnroll << " (got " << k
                                   << "): each unrolled step is a copy of the step's code";
  return std::make_unique<Unroll>(k);
}

}  // namespace rnnc::passes
