// CTest persistent_probe_test: the persistent-scan probe's CPU kernels against their f64 recurrences
// (persistent_probe.h: several shapes, forward and backward, 1, 2 and 4 rows a block), so that the probe
// gpu-check runs on a device is known to compute the right thing before it gets there. Timed at a tiny
// shape only to exercise the path; the times mean nothing here.
#include <cstdio>

#include "ir/error.h"
#include "persistent_probe.h"

int main() {
  try {
    return rnnc::bench::persistent_probe(rnnc::runtime::Device::Cpu, 3, 8, 1, 0) ? 0 : 1;
  } catch (const rnnc::Error& e) {
    std::fprintf(stderr, "persistent_probe_test: error: %s\n", e.what());
    return 1;
  }
}
