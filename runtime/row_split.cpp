#include "runtime/row_split.h"

#include <algorithm>
#include <numeric>

namespace rnnc::runtime {

int product_row_tile(int64_t columns) { return columns >= 16 && columns < 64 ? 2 * kStepRowTile : kStepRowTile; }

double step_row_cost(int rows) {
  if (rows <= 0) return 0;
  return (rows + kStepRowTile - 1) / kStepRowTile + 0.25 * rows / kStepRowTile;
}

std::vector<RowRange> split_rows(int batch, const std::vector<double>& speeds, int granule) {
  const int parts = static_cast<int>(speeds.size());
  granule = std::max(1, granule);
  // Boundaries: the multiple of the granule nearest each equal share's end, if they stay increasing.
  std::vector<int> ends(parts + 1, 0);
  ends[parts] = batch;
  bool aligned = true;
  for (int i = 1; i < parts; ++i) {
    const double share = static_cast<double>(i) * batch / parts;
    const int lower = static_cast<int>(share) / granule * granule;
    ends[i] = share - lower <= lower + granule - share ? lower : lower + granule;
    aligned = aligned && ends[i] > ends[i - 1] && ends[i] < batch;
  }
  if (!aligned) {
    for (int i = 1; i < parts; ++i) ends[i] = i * (batch / parts) + std::min(i, batch % parts);
  }
  std::vector<RowRange> by_position(parts);
  for (int i = 0; i < parts; ++i) by_position[i] = {ends[i], ends[i + 1] - ends[i]};
  // The costliest range to the fastest part. Stable sorts: equal costs keep their order, equal speeds
  // theirs, so equal parts keep the ranges in row order.
  std::vector<int> ranges(parts), by_speed(parts);
  std::iota(ranges.begin(), ranges.end(), 0);
  std::iota(by_speed.begin(), by_speed.end(), 0);
  std::stable_sort(ranges.begin(), ranges.end(),
                   [&](int a, int b) { return step_row_cost(by_position[a].rows) > step_row_cost(by_position[b].rows); });
  std::stable_sort(by_speed.begin(), by_speed.end(), [&](int a, int b) { return speeds[a] > speeds[b]; });
  std::vector<RowRange> out(parts);
  for (int i = 0; i < parts; ++i) out[by_speed[i]] = by_position[ranges[i]];
  return out;
}

std::vector<RowRange> RowSplit::ranges(const std::string& scan, int batch, int parts, int granule) {
  std::vector<double> speeds(parts, 1.0);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = speeds_.find(scan);
    if (it != speeds_.end() && static_cast<int>(it->second.size()) == parts) speeds = it->second;
  }
  return split_rows(batch, speeds, granule);
}

void RowSplit::record(const std::string& scan, const std::vector<RowRange>& ranges, const std::vector<double>& times) {
  std::vector<double> work;
  for (const RowRange& r : ranges) work.push_back(step_row_cost(r.rows));
  record(scan, work, times);
}

void RowSplit::record(const std::string& scan, const std::vector<double>& work, const std::vector<double>& times) {
  const size_t parts = work.size();
  if (parts < 2 || times.size() != parts) return;
  // A part that ran no rows (another took its range before it started), or whose clock did not move,
  // says nothing about its speed: the others' are compared among themselves.
  std::vector<double> seen(parts, 0.0);
  double sum = 0;
  int measured = 0;
  for (size_t p = 0; p < parts; ++p) {
    if (times[p] <= 0 || work[p] <= 0) continue;
    seen[p] = work[p] / times[p];
    sum += seen[p];
    ++measured;
  }
  if (measured < 2) return;
  const double mean = sum / measured;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<double>& speeds = speeds_[scan];
  if (speeds.size() != parts) speeds.assign(parts, 1.0);
  // A moving average: one slow run (an interrupt, the VM's neighbour) moves the speeds by a little.
  // The measured parts' mean speed stays what it was, so that an unmeasured part keeps its place.
  constexpr double kWeight = 0.3;
  double old_mean = 0;
  for (size_t p = 0; p < parts; ++p) old_mean += seen[p] > 0 ? speeds[p] / measured : 0.0;
  for (size_t p = 0; p < parts; ++p) {
    if (seen[p] > 0) speeds[p] = (1 - kWeight) * speeds[p] + kWeight * old_mean * seen[p] / mean;
  }
}

}  // namespace rnnc::runtime
