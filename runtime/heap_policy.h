// glibc's heap, set for runs of compiled models: large blocks stay with the process between runs.
//
// A run allocates and frees the same large blocks every time (the results CompiledModule::run copies
// out, 6.5 MB for S's y; the executor's own vectors). With glibc's defaults, whether a freed block's
// pages go back to the kernel depends on the heap's history (the trim and mmap thresholds move only
// when the process frees a large mmapped block). In some processes they went back after every run and
// the next run faulted them in again: fwd_loop, the LSTM at S through `run`, 64-70 ms a forward with
// 4 thousand page faults a run, against 21-22 ms with these settings (docs/performance.md). Fixed
// thresholds make every process the fast one: blocks up to 32 MiB come from the heap (the buffer pool
// maps its large blocks itself), and the heap's top goes back to the kernel only beyond 256 MiB.
#pragma once

namespace rnnc::runtime {

// Sets the thresholds once per process. Left alone where the user chose malloc settings of their own
// (glibc's MALLOC_*_ variables or GLIBC_TUNABLES' glibc.malloc ones) or set RNNC_HEAP=default.
// Returns whether the thresholds are (now) rnnc's.
bool use_run_heap_policy();

}  // namespace rnnc::runtime
