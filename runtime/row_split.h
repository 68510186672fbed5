// How many of a scan's rows each of its threads runs (compiled_executor.cpp, run_scan).
//
// Equal shares are not equal times here: on this 2-vCPU VM one vCPU runs 8-15 % slower than the other
// for the life of a process (which one changes from process to process), and the scan waits for its
// slower range: 0.4-2.4 ms a scan at S, 4 scans a training step (docs/performance.md). Rows are also
// not worth the same everywhere: a step's product runs tiles of 6 rows, and a partial tile costs
// about a whole one, so 34 rows cost what 36 do and 30 rows a sixth less. RowSplit learns each part's
// speed from the part's own times in earlier runs (compared within one run, so the VM's drift
// cancels) and gives the slower part the rows that end on a tile.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rnnc::runtime {

// Rows per register tile of the CPU step products (codegen/schedule_cpu.cpp, register_tile).
constexpr int kStepRowTile = 6;

// What `rows` rows cost a step, in tiles: whole row tiles, plus a quarter for the per-row (elementwise)
// work, which a partial tile does not round up.
double step_row_cost(int rows, int tile = kStepRowTile);

// Rows per part, summing to `batch`, that minimise the slowest part's cost / speed. Starts from equal
// shares and moves rows from the slowest part to the fastest while that lowers the maximum by more than
// 1 %; every part keeps at least half and at most one and a half equal shares.
std::vector<int> split_rows(int batch, const std::vector<double>& speeds, int tile = kStepRowTile);

class RowSplit {
 public:
  // Rows per part for a scan (by its step kernel's name) of `batch` rows over `parts` threads.
  std::vector<int> rows(const std::string& scan, int batch, int parts);
  // How long each part took (any unit) for the rows it was given: updates the parts' speeds, a moving
  // average over runs.
  void record(const std::string& scan, const std::vector<int>& rows, const std::vector<double>& times);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<double>> speeds_;  // per scan, per part; mean 1
};

}  // namespace rnnc::runtime
