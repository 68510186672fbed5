#include "runtime/row_split.h"

#include <algorithm>
#include <numeric>

namespace rnnc::runtime {

double step_row_cost(int rows, int tile) {
  if (rows <= 0) return 0;
  return (rows + tile - 1) / tile + 0.25 * rows / tile;
}

std::vector<int> split_rows(int batch, const std::vector<double>& speeds, int tile) {
  const int parts = static_cast<int>(speeds.size());
  std::vector<int> rows(parts);
  for (int p = 0; p < parts; ++p) rows[p] = batch / parts + (p < batch % parts ? 1 : 0);
  if (parts < 2) return rows;
  const int lo = std::max(1, batch / parts / 2), hi = batch / parts * 3 / 2 + 1;
  auto time = [&](int p, int r) { return step_row_cost(r, tile) / std::max(speeds[p], 1e-6); };
  // Each move takes k rows (up to a tile's worth) from the slowest part and gives them to the fastest;
  // the best k, if it lowers the pair's maximum by more than 1 %. Bounded: each move lowers a maximum.
  for (int iteration = 0; iteration < batch; ++iteration) {
    int slow = 0;
    for (int p = 1; p < parts; ++p) {
      if (time(p, rows[p]) > time(slow, rows[slow])) slow = p;
    }
    int fast = slow == 0 ? 1 : 0;
    for (int p = 0; p < parts; ++p) {
      if (p != slow && time(p, rows[p]) < time(fast, rows[fast])) fast = p;
    }
    const double now = time(slow, rows[slow]);
    int best_k = 0;
    double best = now * 0.99;
    for (int k = 1; k <= tile; ++k) {
      if (rows[slow] - k < lo || rows[fast] + k > hi) break;
      const double t = std::max(time(slow, rows[slow] - k), time(fast, rows[fast] + k));
      if (t < best) {
        best = t;
        best_k = k;
      }
    }
    if (best_k == 0) break;
    rows[slow] -= best_k;
    rows[fast] += best_k;
  }
  return rows;
}

std::vector<int> RowSplit::rows(const std::string& scan, int batch, int parts) {
  std::vector<double> speeds(parts, 1.0);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = speeds_.find(scan);
    if (it != speeds_.end() && static_cast<int>(it->second.size()) == parts) speeds = it->second;
  }
  return split_rows(batch, speeds);
}

void RowSplit::record(const std::string& scan, const std::vector<int>& rows, const std::vector<double>& times) {
  const size_t parts = rows.size();
  if (parts < 2 || times.size() != parts) return;
  std::vector<double> seen(parts);
  for (size_t p = 0; p < parts; ++p) {
    if (times[p] <= 0 || rows[p] <= 0) return;  // a clock that did not move: nothing learnt
    seen[p] = step_row_cost(rows[p]) / times[p];
  }
  const double mean = std::accumulate(seen.begin(), seen.end(), 0.0) / static_cast<double>(parts);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<double>& speeds = speeds_[scan];
  if (speeds.size() != parts) speeds.assign(parts, 1.0);
  // A moving average: one slow run (an interrupt, the VM's neighbour) moves the split by a little.
  constexpr double kWeight = 0.3;
  for (size_t p = 0; p < parts; ++p) speeds[p] = (1 - kWeight) * speeds[p] + kWeight * seen[p] / mean;
}

}  // namespace rnnc::runtime
