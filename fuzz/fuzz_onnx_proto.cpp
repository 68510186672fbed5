// libFuzzer target: the ONNX protobuf readers (frontend/onnx/tensor_proto.h), read_tensor and read_model.
//
// Both take a path, so each input is written to one scratch file per process (in $TMPDIR, else /tmp)
// and read back as a TensorProto and as a ModelProto. Either may succeed or throw a UserError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "frontend/onnx/tensor_proto.h"
#include "fuzz/fuzz_common.h"

using namespace rnnc;

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/rnnc-fuzz-onnx-" + std::to_string(::getpid()) + ".pb";
    std::atexit([] { std::remove(scratch_path().c_str()); });
    return p;
  }();
  return path;
}

void write_scratch(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (!f) fuzz::finding("cannot write the scratch file " + scratch_path());
  if (size && std::fwrite(data, 1, size, f) != size) fuzz::finding("cannot write the scratch file " + scratch_path());
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_scratch(data, size);
  fuzz::expect_user_errors_only("read_tensor", [&] {
    onnx_io::TensorFile t = onnx_io::read_tensor(scratch_path());
    // The shape and the element count must agree for whatever was accepted.
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    size_t stored = t.is_float() ? std::get<runtime::Tensor<float>>(t.value).data.size()
                                 : std::get<runtime::IntTensor>(t.value).data.size();
    if (static_cast<size_t>(n) != stored) {
      fuzz::finding("read_tensor accepted a tensor whose dims do not match its data",
                    runtime::dims_str(t.dims()) + " vs " + std::to_string(stored) + " elements");
    }
  });
  fuzz::expect_user_errors_only("read_model", [&] {
    onnx_io::ModelInfo m = onnx_io::read_model(scratch_path());
    // Touch the typed accessors the conformance harness uses on whatever the node holds.
    for (const auto& [name, a] : m.node.attributes) {
      try {
        switch (a.kind) {
          case onnx_io::Attribute::Kind::Int: (void)m.node.get_int(name); break;
          case onnx_io::Attribute::Kind::Float: (void)m.node.get_float(name); break;
          case onnx_io::Attribute::Kind::String: (void)m.node.get_string(name); break;
          case onnx_io::Attribute::Kind::Ints: (void)m.node.get_ints(name); break;
          case onnx_io::Attribute::Kind::Floats: (void)m.node.get_floats(name); break;
          case onnx_io::Attribute::Kind::Strings: (void)m.node.get_strings(name); break;
          default: (void)m.node.get_int(name, 0); break;
        }
      } catch (const UserError&) {
      }
    }
  });
  return 0;
}
