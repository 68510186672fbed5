#include "passes/scan_utils.h"

#include "ir/error.h"

namespace rnnc::passes {

using ir::Function;
using ir::NodeId;
using ir::Value;

namespace {

void set_count(Function& f, NodeId scan, const char* key, int64_t value) {
  f.mutable_node(scan).attrs.set(key, value);
}

void erase_body_arg(Function& body, size_t arg) {
  NodeId n = body.args().at(arg);
  RNNC_INTERNAL_CHECK(body.users(Value{n, 0}).empty()) << "scan body argument " << arg << " is still used";
  body.erase_nodes({n});
}

}  // namespace

Value add_scan_invariant(Function& f, NodeId scan, Value outer, const std::string& name) {
  ScanLayout l = ScanLayout::of(f, scan);
  Function& body = *f.body(scan);
  Value arg = body.insert_arg(l.invariant_arg(l.invariants), name, f.type(outer));
  f.insert_operand(scan, l.invariant_operand(l.invariants), outer);
  set_count(f, scan, "invariants", l.invariants + 1);
  return arg;
}

Value add_scan_sequence(Function& f, NodeId scan, Value outer, const std::string& name) {
  ScanLayout l = ScanLayout::of(f, scan);
  RNNC_INTERNAL_CHECK(l.unroll == 1) << "add_scan_sequence on an unrolled scan";
  ir::TensorType step = f.type(outer);
  step.shape.erase(step.shape.begin());
  Value arg = f.body(scan)->insert_arg(l.sequence_arg(l.sequences), name, step);
  f.insert_operand(scan, l.sequence_operand(l.sequences), outer);
  set_count(f, scan, "sequences", l.sequences + 1);
  return arg;
}

Value add_scan_output(Function& f, NodeId scan, Value body_value, const std::string& name) {
  ScanLayout l = ScanLayout::of(f, scan);
  RNNC_INTERNAL_CHECK(l.unroll == 1) << "add_scan_output on an unrolled scan";
  Function& body = *f.body(scan);
  body.append_function_result(body_value);
  ir::TensorType stacked = body.type(body_value);
  stacked.shape.insert(stacked.shape.begin(), f.type(f.operands(scan)[l.sequence_operand(0)]).shape[0]);
  return Value{scan, f.append_result(scan, stacked, name)};
}

Value add_scan_carry(Function& f, NodeId scan, Value init, const std::function<Value(Function&, Value)>& next,
                     const std::string& name) {
  ScanLayout l = ScanLayout::of(f, scan);
  RNNC_INTERNAL_CHECK(l.unroll == 1) << "add_scan_carry on an unrolled scan";
  const int64_t i = l.carries;
  const ir::TensorType type = f.type(init);
  Function& body = *f.body(scan);
  Value arg = body.insert_arg(l.carry_arg(i), name, type);
  body.insert_function_result(static_cast<size_t>(i), next(body, arg));
  f.insert_operand(scan, l.carry_operand(i), init);
  f.insert_result(scan, l.carry_result(i), type, name);
  set_count(f, scan, "carries", l.carries + 1);
  return Value{scan, l.carry_result(i)};
}

void remove_scan_invariant(Function& f, NodeId scan, int64_t k) {
  ScanLayout l = ScanLayout::of(f, scan);
  erase_body_arg(*f.body(scan), l.invariant_arg(k));
  f.remove_operand(scan, l.invariant_operand(k));
  set_count(f, scan, "invariants", l.invariants - 1);
}

void remove_scan_sequence(Function& f, NodeId scan, int64_t j) {
  ScanLayout l = ScanLayout::of(f, scan);
  RNNC_INTERNAL_CHECK(l.sequences > 1) << "a scan keeps at least one sequence";
  Function& body = *f.body(scan);
  std::vector<NodeId> args;
  for (int64_t u = 0; u < l.unroll; ++u) args.push_back(body.args().at(l.sequence_arg(j, u)));
  for (NodeId a : args) {
    RNNC_INTERNAL_CHECK(body.users(Value{a, 0}).empty()) << "scan sequence argument is still used";
  }
  body.erase_nodes(args);
  f.remove_operand(scan, l.sequence_operand(j));
  set_count(f, scan, "sequences", l.sequences - 1);
}

void remove_scan_output(Function& f, NodeId scan, int64_t o) {
  ScanLayout l = ScanLayout::of(f, scan);
  Function& body = *f.body(scan);
  for (int64_t u = l.unroll - 1; u >= 0; --u) body.remove_function_result(l.body_output(o, u));
  f.remove_result(scan, l.output_result(o));
}

void remove_scan_carry(Function& f, NodeId scan, int64_t i) {
  ScanLayout l = ScanLayout::of(f, scan);
  Function& body = *f.body(scan);
  body.remove_function_result(i);
  erase_body_arg(body, l.carry_arg(i));
  f.remove_result(scan, l.carry_result(i));
  f.remove_operand(scan, l.carry_operand(i));
  set_count(f, scan, "carries", l.carries - 1);
}

std::vector<bool> live_nodes(const Function& f) {
  std::vector<bool> live(f.num_nodes(), false);
  std::vector<NodeId> work;
  auto mark = [&](NodeId n) {
    if (!live[n]) {
      live[n] = true;
      work.push_back(n);
    }
  };
  if (f.has_return()) mark(f.return_node());
  for (NodeId a : f.args()) mark(a);
  while (!work.empty()) {
    NodeId n = work.back();
    work.pop_back();
    for (const Value& v : f.operands(n)) mark(v.node);
  }
  return live;
}

}  // namespace rnnc::passes
