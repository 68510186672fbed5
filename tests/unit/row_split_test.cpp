#include "runtime/row_split.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace rnnc::runtime {
namespace {

TEST(RowSplit, EqualSpeedsGetEqualShares) {
  EXPECT_EQ(split_rows(64, {1.0, 1.0}), (std::vector<int>{32, 32}));
  EXPECT_EQ(split_rows(19, {1.0, 1.0}), (std::vector<int>{10, 9}));
  EXPECT_EQ(split_rows(64, {1.0, 1.0, 1.0}), (std::vector<int>{22, 21, 21}));
  EXPECT_EQ(split_rows(7, {2.0}), (std::vector<int>{7}));
}

// One part 12 % slower (as one vCPU here): it gets 30 rows, five whole tiles, and the other 34 (six tiles,
// as 32 are). Moving fewer rows would leave both at six tiles; moving more would give the faster part a
// seventh.
TEST(RowSplit, TheSlowerPartGetsTheRowsThatEndOnATile) {
  EXPECT_EQ(split_rows(64, {1.0, 0.88}), (std::vector<int>{34, 30}));
  EXPECT_EQ(split_rows(64, {0.88, 1.0}), (std::vector<int>{30, 34}));
  // 2 % slower: a tile less would make it the faster one by far; the split stays even.
  EXPECT_EQ(split_rows(64, {1.0, 0.98}), (std::vector<int>{32, 32}));
}

TEST(RowSplit, SharesStayWithinHalfAndOneAndAHalfOfAnEqualOne) {
  const std::vector<int> rows = split_rows(64, {1.0, 0.05});
  EXPECT_EQ(rows[1], 16);
  EXPECT_EQ(rows[0], 48);
}

TEST(RowSplit, EveryRowGoesToExactlyOnePart) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> speed(0.3, 2.0);
  for (int trial = 0; trial < 500; ++trial) {
    const int parts = 1 + trial % 5;
    const int batch = parts + static_cast<int>(gen() % 300);
    std::vector<double> speeds(parts);
    for (double& s : speeds) s = speed(gen);
    const std::vector<int> rows = split_rows(batch, speeds);
    ASSERT_EQ(static_cast<int>(rows.size()), parts);
    EXPECT_EQ(std::accumulate(rows.begin(), rows.end(), 0), batch);
    for (int r : rows) EXPECT_GE(r, 1);
  }
}

// Speeds come from each part's time for its own rows' cost, so the split that made the times even is
// kept, not undone: after 34 / 30 rows in 1.0 / 1.0 ms (the 30 are the slower part's), the split stays.
TEST(RowSplit, LearnsEachScansSpeedsFromItsRuns) {
  RowSplit split;
  EXPECT_EQ(split.rows("scan_a", 64, 2), (std::vector<int>{32, 32}));
  for (int run = 0; run < 10; ++run) split.record("scan_a", {32, 32}, {1.0, 1.15});
  EXPECT_EQ(split.rows("scan_a", 64, 2), (std::vector<int>{34, 30}));
  for (int run = 0; run < 10; ++run) split.record("scan_a", {34, 30}, {1.0, 1.0});
  EXPECT_EQ(split.rows("scan_a", 64, 2), (std::vector<int>{34, 30}));
  // Another scan, or the same one over another number of threads, starts even.
  EXPECT_EQ(split.rows("scan_b", 64, 2), (std::vector<int>{32, 32}));
  EXPECT_EQ(split.rows("scan_a", 64, 3), (std::vector<int>{22, 21, 21}));
  // An outlier run (an interrupt) may move the split; a few ordinary runs move it back.
  RowSplit steady;
  for (int run = 0; run < 10; ++run) steady.record("s", {32, 32}, {1.0, 1.0});
  steady.record("s", {32, 32}, {1.0, 1.3});
  for (int run = 0; run < 4; ++run) {
    // Both parts equally fast again: each takes its rows' cost.
    const std::vector<int> rows = steady.rows("s", 64, 2);
    steady.record("s", rows, {step_row_cost(rows[0]), step_row_cost(rows[1])});
  }
  EXPECT_EQ(steady.rows("s", 64, 2), (std::vector<int>{32, 32}));
}

TEST(RowSplit, RunsWithoutATimeTeachNothing) {
  RowSplit split;
  split.record("s", {32, 32}, {0.0, 5.0});
  split.record("s", {32, 32}, {1.0});
  EXPECT_EQ(split.rows("s", 64, 2), (std::vector<int>{32, 32}));
}

}  // namespace
}  // namespace rnnc::runtime
