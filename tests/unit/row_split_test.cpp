#include "runtime/row_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>

namespace rnnc::runtime {
namespace {

using Ranges = std::vector<RowRange>;

}  // namespace

void PrintTo(const RowRange& r, std::ostream* os) { *os << "[" << r.first << ", +" << r.rows << ")"; }

namespace {

// S: batch 64 over two threads ends its ranges on 6-row tiles, at 30 (nearer to 32 than 36 is):
// rows 0-29, five whole tiles, and 30-63, six tiles, as 32 rows are.
TEST(RowSplit, RangesEndOnWholeTilesNearestEqualShares) {
  EXPECT_EQ(split_rows(64, {1.0, 1.0}, 6), (Ranges{{30, 34}, {0, 30}}));
  EXPECT_EQ(split_rows(64, {1.0, 1.0}, 12), (Ranges{{0, 36}, {36, 28}}));
  EXPECT_EQ(split_rows(19, {1.0, 1.0}, 12), (Ranges{{0, 12}, {12, 7}}));
  EXPECT_EQ(split_rows(96, {1.0, 1.0, 1.0}, 6), (Ranges{{30, 36}, {0, 30}, {66, 30}}));
  EXPECT_EQ(split_rows(7, {2.0}, 6), (Ranges{{0, 7}}));
}

// Where no tile boundary falls strictly inside the batch for each part, equal shares.
TEST(RowSplit, SmallBatchesAreSplitEvenly) {
  EXPECT_EQ(split_rows(16, {1.0, 1.0}, 12), (Ranges{{0, 12}, {12, 4}}));
  EXPECT_EQ(split_rows(10, {1.0, 1.0}, 12), (Ranges{{0, 5}, {5, 5}}));
  EXPECT_EQ(split_rows(16, {1.0, 1.0, 1.0}, 12), (Ranges{{0, 6}, {6, 5}, {11, 5}}));
}

// The speeds decide only who runs what: the six-tile range goes to the faster part.
TEST(RowSplit, TheFasterPartRunsTheCostlierRange) {
  EXPECT_EQ(split_rows(64, {1.0, 0.88}, 6), (Ranges{{30, 34}, {0, 30}}));
  EXPECT_EQ(split_rows(64, {0.88, 1.0}, 6), (Ranges{{0, 30}, {30, 34}}));
  EXPECT_EQ(split_rows(96, {0.5, 2.0, 1.0}, 6), (Ranges{{66, 30}, {30, 36}, {0, 30}}));
  EXPECT_EQ(split_rows(96, {2.0, 0.5, 1.0}, 6), (Ranges{{30, 36}, {66, 30}, {0, 30}}));
}

TEST(RowSplit, EveryRowGoesToExactlyOnePartWhateverTheSpeeds) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> speed(0.3, 2.0);
  for (int trial = 0; trial < 500; ++trial) {
    const int parts = 1 + trial % 5;
    const int batch = parts + static_cast<int>(gen() % 300);
    const int granule = trial % 2 ? 6 : 12;
    std::vector<double> speeds(parts);
    for (double& s : speeds) s = speed(gen);
    Ranges ranges = split_rows(batch, speeds, granule);
    ASSERT_EQ(static_cast<int>(ranges.size()), parts);
    // The same ranges as at equal speeds, in another order.
    Ranges even = split_rows(batch, std::vector<double>(parts, 1.0), granule);
    auto by_first = [](const RowRange& a, const RowRange& b) { return a.first < b.first; };
    std::sort(ranges.begin(), ranges.end(), by_first);
    std::sort(even.begin(), even.end(), by_first);
    EXPECT_EQ(ranges, even);
    int next = 0;
    for (const RowRange& r : ranges) {
      EXPECT_EQ(r.first, next);
      EXPECT_GE(r.rows, 1);
      next += r.rows;
    }
    EXPECT_EQ(next, batch);
  }
}

TEST(RowSplit, LearnsEachScansSpeedsFromItsRuns) {
  RowSplit split;
  EXPECT_EQ(split.ranges("scan_a", 64, 2, 6), (Ranges{{30, 34}, {0, 30}}));
  // Part 0 took 15 % longer for its (costlier) range than its cost says: it is the slower one now.
  for (int run = 0; run < 10; ++run) {
    const Ranges r = split.ranges("scan_a", 64, 2, 6);
    split.record("scan_a", r, {step_row_cost(r[0].rows) * 1.15, step_row_cost(r[1].rows)});
  }
  EXPECT_EQ(split.ranges("scan_a", 64, 2, 6), (Ranges{{0, 30}, {30, 34}}));
  // Another scan, or the same one over another number of threads, starts from equal speeds.
  EXPECT_EQ(split.ranges("scan_b", 64, 2, 6), (Ranges{{30, 34}, {0, 30}}));
  EXPECT_EQ(split.ranges("scan_a", 96, 3, 6), (Ranges{{30, 36}, {0, 30}, {66, 30}}));
}

TEST(RowSplit, RunsWithoutATimeTeachNothing) {
  RowSplit split;
  split.record("s", {{30, 34}, {0, 30}}, {0.0, 5.0});
  split.record("s", {{30, 34}, {0, 30}}, {1.0});
  EXPECT_EQ(split.ranges("s", 64, 2, 6), (Ranges{{30, 34}, {0, 30}}));
}

TEST(RowSplit, ProductRowTiles) {
  EXPECT_EQ(product_row_tile(512), 6);
  EXPECT_EQ(product_row_tile(64), 6);
  EXPECT_EQ(product_row_tile(28), 12);
  EXPECT_EQ(product_row_tile(7), 6);
}

}  // namespace
}  // namespace rnnc::runtime
