// `rnnc onnx-import MODEL.onnx` (print the imported IR, after any passes asked for) and
// `rnnc onnx-test DIR [--executor reference|compiled|both]` (run one ONNX backend test case directory:
// model.onnx + test_data_set_*/input_*.pb, output_*.pb, and compare every output).
#pragma once

#include <set>
#include <string>

#include "tools/cli.h"

namespace rnnc::cli {

extern const std::set<std::string> kOnnxValuedFlags;  // executor, rtol, atol
extern const char* kOnnxHelp;

int onnx_import_command(const Args& args);
int onnx_test_command(const Args& args);

}  // namespace rnnc::cli
