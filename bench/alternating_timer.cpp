#include "bench/alternating_timer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace rnnc::bench {

double median(std::vector<double> times) {
  if (times.empty()) return NAN;
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  return n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

std::vector<double> median_ms_alternating(const std::vector<std::function<void()>>& runs, int repeats, int warmup,
                                          std::chrono::milliseconds settle) {
  for (const auto& run : runs) {
    for (int i = 0; i < warmup; ++i) run();
  }
  std::vector<std::vector<double>> times(runs.size());
  for (int round = 0; round < std::max(1, repeats); ++round) {
    for (size_t k = 0; k < runs.size(); ++k) {
      const size_t i = round % 2 ? runs.size() - 1 - k : k;
      // Untimed: the previous contender's threads stop spinning here, not in the timed run.
      const auto settled = std::chrono::steady_clock::now() + settle;
      do {
        runs[i]();
      } while (std::chrono::steady_clock::now() < settled);
      const auto start = std::chrono::steady_clock::now();
      runs[i]();
      times[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  }
  std::vector<double> medians;
  for (auto& t : times) medians.push_back(median(std::move(t)));
  return medians;
}

}  // namespace rnnc::bench
