// Rows of a scan that its threads hand over to each other while it runs (compiled_executor.cpp,
// run_scan).
//
// The split (row_split.h) puts its boundaries on whole register tiles, so the ranges are seldom worth
// the same: at S, 30 rows (five 6-row tiles) and 34 (six), and a thread waited 1.0-1.7 ms for the other
// at the end of every scan (10-12 ms each) when the two ran at the same speed. The rows of a row-separable
// scan are independent of each other, so a thread that has run all the steps of its rows can take over
// the last tiles of another's from that thread's next chunk of steps on: their carries at that step are
// in the scan's shared carry buffers, where the other left them.
//
// Rows are handed over in whole tiles (`granule`) from the end of a range whose start is itself on a
// tile boundary, so every row is still computed in the same place of the same kind of tile as without
// handing over: the results are the same bits whoever runs them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "runtime/row_split.h"

namespace rnnc::runtime {

class RowStealing {
 public:
  // Rows [first, first + rows) of the scan, from chunk `chunk` of its steps on.
  struct Claim {
    int first = 0, rows = 0, chunk = 0;
  };

  // The parts' own ranges, over `chunks` chunks of steps. Nothing is handed over where `enabled` is
  // false, or where a range does not start on a multiple of `granule`.
  RowStealing(const std::vector<RowRange>& ranges, int chunks, int granule, bool enabled);

  // Part p starts: its own range from chunk 0, or nothing (rows 0) where another part that ran out of
  // rows before p started has taken the whole range.
  Claim start(int p);

  // Part p is about to run `chunk` for rows [first, first + rows): how many of them, the leading ones, it
  // keeps. The others go to a part that has run out of rows, if one waits in next(), at least two
  // chunks are left and the rows are two tiles or more: half the tiles, rounded down (a partial tile
  // at the batch's end counts as one: it costs about as much).
  int keep(int p, int chunk, int first, int rows);

  // Part p has run its rows to the last step: the rows it runs next, or none (rows 0) once no part is
  // left running. That is the whole range of a part that has not started yet (RowThreads may run it
  // after this one, on this thread, or start it late), else rows that a running part hands over at its
  // next chunk, which this waits for.
  Claim next(int p);

  // A part failed: from now on nothing is handed over and no part waits for more rows.
  void stop();

  // Rows handed over mid-scan, and whole ranges taken before their part started.
  int steals() const { return steals_.load(std::memory_order_relaxed); }
  int ranges_taken() const { return taken_.load(std::memory_order_relaxed); }
  // Parts waiting in next() for rows.
  int waiting() const { return waiting_.load(std::memory_order_acquire); }

 private:
  struct Part {
    bool started = false;  // its own range is being run (by it, or by the part that took it)
    bool waiting = false;
    bool granted = false;
    Claim grant;
  };
  const int chunks_;
  const int granule_;
  bool enabled_;
  std::vector<RowRange> ranges_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Part> parts_;
  int running_ = 0;                  // parts started and running rows (not waiting in next())
  bool stopped_ = false;
  std::atomic<int> waiting_{0};      // parts in next() without a grant: read without the lock, per chunk
  std::atomic<int> steals_{0};
  std::atomic<int> taken_{0};
};

}  // namespace rnnc::runtime
