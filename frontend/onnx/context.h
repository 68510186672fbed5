// Private to the importer: what it knows about each ONNX tensor while it walks the graph, and the
// state it builds (the DSL model, the bindings).
//
// A tensor is one of
//   Const    known at import (initializer, Constant, folded shape arithmetic). Integer elements are
//            ir::Dims, so that Shape of a tensor with a symbolic batch folds too.
//   Fill     one value everywhere, of a possibly symbolic shape (ConstantOfShape, Expand of a scalar).
//   Input    a graph input seen through a view (TensorSource): transposes, slices and index selections
//            on it cost nothing; it becomes an IR argument, or parameters, where it is used.
//   Dynamic  computed in the IR: pieces concatenated along one ONNX axis, each an IR value plus the
//            map from ONNX axes to its axes. A Transpose permutes the map, an Unsqueeze inserts -1,
//            LSTM's Y [seq, dirs, batch, hidden] is one piece per direction; only what the IR can
//            express becomes ops, and the output bindings undo the rest on the host.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontend/model.h"
#include "frontend/onnx/binding.h"
#include "frontend/onnx/importer.h"

namespace rnnc::onnx_import::detail {

struct Piece {
  dsl::Expr expr;
  std::vector<int> axes;  // per ONNX axis: the IR axis, or -1 (size 1, not an axis of expr)
  int ir_rank() const { return expr.type().rank(); }
};

struct TValue {
  enum class Kind { Const, Fill, Input, Dynamic };
  Kind kind = Kind::Const;
  bool is_float = true;
  ir::DType int_dtype = ir::DType::I64;  // integers: the IR element type they get
  std::string name;                      // the ONNX name, for parameter names and messages
  std::string origin;                    // Const: "initializer 'W'" where it is one (for messages)
  // Const
  runtime::Dims dims;
  std::vector<double> f;
  std::vector<ir::Dim> i;
  // Fill
  ir::Shape fill_shape;
  double fill = 0;
  // Input
  TensorSource source;
  // Dynamic
  std::vector<Piece> pieces;
  int concat_axis = 0;

  ir::Shape shape() const;
  int rank() const { return static_cast<int>(shape().size()); }
  ir::DType dtype() const { return is_float ? ir::DType::F32 : int_dtype; }
  std::string describe() const;  // "computed f32[time, batch, 14]", "constant i64[3]", ...
  int64_t numel() const;         // Const only
};

TValue const_float(runtime::Dims dims, std::vector<double> data);
TValue const_int(runtime::Dims dims, std::vector<ir::Dim> data);
TValue fill_value(ir::Shape shape, double value, bool is_float);
// A Const whose elements are all equal, or a Fill: its value.
bool splat_value(const TValue& v, double* value);
// A Const integer's elements as numbers; a symbolic element is a UserError naming `what`.
std::vector<int64_t> static_ints(const TValue& v, const std::string& what);
int64_t normalize_axis(int64_t axis, int rank, const std::string& what);
// numpy broadcasting of two shapes; UserError when they do not broadcast.
ir::Shape broadcast_shapes(const ir::Shape& a, const ir::Shape& b);

class Context {
 public:
  Context(const onnx_io::GraphInfo& graph, const ImportOptions& options, const std::string& model_name);

  const onnx_io::GraphInfo& graph;
  const ImportOptions& options;
  dsl::Model model;
  Bindings bindings;
  const onnx_io::NodeInfo* node = nullptr;  // the node being lowered
  std::map<std::string, TValue> values;     // by ONNX name
  std::map<std::string, std::vector<int>> input_orders;  // graph input -> its axes in IR order (input_layouts.h)

  // An IR name made from `base` (sanitized) that no argument, parameter, layer or result uses yet.
  std::string fresh(const std::string& base);
  // The IR symbol for an ONNX dim_param (sanitized; one name, one symbol).
  static std::string symbol(const std::string& param);

  // One IR value whose axis i is ONNX axis order[i], every ONNX axis an IR axis (size-1 ones too):
  // what a recurrent node needs of X and of its initial states. `what` names the role in errors.
  dsl::Expr require(const TValue& v, const std::vector<int>& order, const std::string& what);
  // The value as IR pieces (Inputs become arguments in ONNX order, Consts parameters, Fills constants).
  TValue dynamic(const TValue& v);
  // One piece: pieces concatenated in the IR where the concat axis is an IR axis of each.
  TValue merged(const TValue& v, const std::string& what);
  // A Const or Input as a view for parameters; anything computed is a UserError naming `role`.
  TensorSource source_of(const TValue& v, const std::string& role) const;
  // Declares a parameter holding the view (static shape) and returns a reference to it.
  dsl::Expr param(const TensorSource& s, const std::string& name_hint);
  // An IR argument bound to the view (every view axis an IR axis).
  dsl::Expr arg(const TensorSource& s, ir::DType dtype, const std::string& name_hint);
  // The view of a Const's data.
  TensorSource const_source(const TValue& v) const;

 private:
  std::set<std::string> used_names_;
  std::map<std::string, dsl::Expr> arg_cache_, param_cache_;  // by view, so one view is one IR value
};

}  // namespace rnnc::onnx_import::detail
