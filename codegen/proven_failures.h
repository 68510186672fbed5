// Halide warns, and goes on, when lowering proves that one of a pipeline's own assertions fails wherever
// it is reached ("This pipeline is guaranteed to fail an assertion at runtime"): a schedule that
// declares less storage than a stage needs, say. In a GPU kernel that assertion is a trap on CUDA and
// nothing at all on OpenCL (Halide drops it there), where the kernel would then compute garbage. So
// rnnc makes it an error when compiling: ProvenFailures collects those warnings on this thread while
// it lives (other warnings print as Halide prints them) and compile.cpp fails the kernel with them.
#pragma once

#include <string>
#include <vector>

namespace rnnc::codegen {

class ProvenFailures {
 public:
  ProvenFailures();
  ~ProvenFailures();
  ProvenFailures(const ProvenFailures&) = delete;
  ProvenFailures& operator=(const ProvenFailures&) = delete;

  // The assertions Halide proved would fail, one a line (Halide's own words); empty if none.
  std::string assertions() const;

 private:
  std::vector<std::string> found_;
  std::vector<std::string>* outer_;
};

}  // namespace rnnc::codegen
