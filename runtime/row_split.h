// Which rows of a scan each of its threads runs (compiled_executor.cpp, run_scan).
//
// Equal shares are not equal times here: on this 2-vCPU VM one vCPU runs 8-15 % slower than the other
// for the life of a process (which one changes from process to process), and the scan waits for its
// slower range: 0.4-2.4 ms a scan at S, 4 scans a training step (docs/performance.md). Rows are also
// not worth the same everywhere: a step's product runs register tiles of 6 rows, and a partial tile
// costs about a whole one, so 34 rows cost what 36 do and 30 rows a sixth less.
//
// So the ranges' boundaries are whole multiples of the products' row tile nearest equal shares (at S:
// rows 0-29, five tiles, and 30-63, six), and the threads' speeds, learnt from their own times in
// earlier runs, decide only which thread runs which range: the costliest to the fastest. The boundaries
// depend on the batch and the thread count alone, and every row runs in the same place of the same
// kind of tile in every run: a row's result is the same bits whatever the threads' speeds (a guarded
// partial tile is compiled apart from the whole ones and may round differently, so a boundary inside a
// tile would let the speeds change results).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rnnc::runtime {

// Rows of a CPU product's register tile (codegen/schedule_cpu.cpp, register_tile): 6, and 12 on
// AVX-512 for products of 16 to 63 columns; 6 here for those too narrow to tile.
constexpr int kStepRowTile = 6;
int product_row_tile(int64_t columns);

// What `rows` rows cost a step, in 6-row tiles: whole tiles, plus a quarter for the per-row
// (elementwise, fed projection) work, which a partial tile does not round up.
double step_row_cost(int rows);

struct RowRange {
  int first = 0, rows = 0;
  bool operator==(const RowRange& o) const { return first == o.first && rows == o.rows; }
};

// The ranges of `batch` rows for parts of these speeds, by part: boundaries at the multiples of
// `granule` nearest i * batch / parts (equal shares where the batch is too small for that), the
// costliest range to the fastest part (ties: the lower part, the lower rows).
std::vector<RowRange> split_rows(int batch, const std::vector<double>& speeds, int granule);

class RowSplit {
 public:
  // The ranges for a scan (by its step kernel's name) of `batch` rows over `parts` threads.
  std::vector<RowRange> ranges(const std::string& scan, int batch, int parts, int granule);
  // How long each part took (any unit) for the range it ran: updates the parts' speeds, a moving
  // average over runs.
  void record(const std::string& scan, const std::vector<RowRange>& ranges, const std::vector<double>& times);
  // The same for parts that did `work` (step_row_cost of their rows, averaged over the scan's chunks:
  // rows handed over while it ran move work from one part to another, runtime/row_stealing.h).
  void record(const std::string& scan, const std::vector<double>& work, const std::vector<double>& times);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<double>> speeds_;  // per scan, per part; mean 1
};

}  // namespace rnnc::runtime
