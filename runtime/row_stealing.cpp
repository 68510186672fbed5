#include "runtime/row_stealing.h"

#include <algorithm>

namespace rnnc::runtime {

RowStealing::RowStealing(const std::vector<RowRange>& ranges, int chunks, int granule, bool enabled)
    : chunks_(chunks), granule_(std::max(1, granule)), enabled_(enabled), ranges_(ranges), parts_(ranges.size()) {
  for (const RowRange& r : ranges) enabled_ = enabled_ && r.first % granule_ == 0;
}

RowStealing::Claim RowStealing::start(int p) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++running_;  // until its next(), even with nothing to run
  if (parts_[p].started) return {};
  parts_[p].started = true;
  return {ranges_[p].first, ranges_[p].rows, 0};
}

int RowStealing::keep(int p, int chunk, int first, int rows) {
  // Fast path, once per chunk: nobody is waiting.
  if (!enabled_ || waiting_.load(std::memory_order_acquire) == 0) return rows;
  // The last chunk is not worth a hand-over: the taker would compute its rows' inputs for one chunk.
  if (chunks_ - chunk < 2) return rows;
  const int tiles = (rows + granule_ - 1) / granule_;
  if (tiles < 2) return rows;
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return rows;
  for (size_t q = 0; q < parts_.size(); ++q) {
    Part& taker = parts_[q];
    if (static_cast<int>(q) == p || !taker.waiting || taker.granted) continue;
    const int kept = (tiles - tiles / 2) * granule_;
    taker.grant = {first + kept, rows - kept, chunk};
    taker.granted = true;
    taker.waiting = false;
    waiting_.fetch_sub(1, std::memory_order_acq_rel);
    ++running_;
    steals_.fetch_add(1, std::memory_order_relaxed);
    changed_.notify_all();
    return kept;
  }
  return rows;
}

RowStealing::Claim RowStealing::next(int p) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (--running_ <= 0) changed_.notify_all();
  if (!enabled_) return {};
  Part& part = parts_[p];
  for (;;) {
    if (part.granted) {
      part.granted = false;
      return part.grant;
    }
    if (stopped_) break;
    for (size_t q = 0; q < parts_.size(); ++q) {
      if (parts_[q].started) continue;
      parts_[q].started = true;
      ++running_;
      taken_.fetch_add(1, std::memory_order_relaxed);
      return {ranges_[q].first, ranges_[q].rows, 0};
    }
    if (running_ <= 0) break;  // nobody is left to hand rows over
    if (!part.waiting) {
      part.waiting = true;
      waiting_.fetch_add(1, std::memory_order_acq_rel);
    }
    changed_.wait(lock);
  }
  if (part.waiting) {
    part.waiting = false;
    waiting_.fetch_sub(1, std::memory_order_acq_rel);
  }
  return {};
}

void RowStealing::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  changed_.notify_all();
}

}  // namespace rnnc::runtime
