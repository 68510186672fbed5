// The benchmark's side-by-side timer: who runs when, how often, and which runs its medians come from.
#include "bench/alternating_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

namespace rnnc::bench {
namespace {

TEST(AlternatingTimer, MedianOfOddAndEvenCountsAndNothing) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(AlternatingTimer, WarmsUpThenRunsPairsInAnOrderThatReversesEachRound) {
  std::string log;
  const auto ms = median_ms_alternating({[&] { log += 'a'; }, [&] { log += 'b'; }}, /*repeats=*/3, /*warmup=*/1,
                                        /*settle=*/std::chrono::milliseconds(0));
  // Warm-up a, b; then rounds: a a b b, b b a a, a a b b (each contender twice in a row, once timed).
  EXPECT_EQ(log, "ab" "aabb" "bbaa" "aabb");
  ASSERT_EQ(ms.size(), 2u);
}

TEST(AlternatingTimer, TimesOnlyTheSecondRunOfEachPair) {
  // The first run of each pair is slow, the second fast: the median must be the fast one's.
  int calls = 0;
  const auto ms = median_ms_alternating(
      {[&] { std::this_thread::sleep_for(std::chrono::milliseconds(++calls % 2 ? 30 : 0)); }}, /*repeats=*/3,
      /*warmup=*/0, /*settle=*/std::chrono::milliseconds(0));
  EXPECT_EQ(calls, 6);
  EXPECT_LT(ms[0], 15.0);
}

TEST(AlternatingTimer, SettlesForAtLeastTheGivenTimeBeforeEachTimedRun) {
  // A 1 ms contender, settle = 20 ms, 2 rounds: each round runs it for at least 20 ms untimed, so the
  // whole takes 40 ms or more (a single untimed run per round would take about 4 ms).
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  median_ms_alternating({[&] {
                          ++calls;
                          std::this_thread::sleep_for(std::chrono::milliseconds(1));
                        }},
                        /*repeats=*/2, /*warmup=*/0, /*settle=*/std::chrono::milliseconds(20));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  EXPECT_GE(calls, 4);
}

}  // namespace
}  // namespace rnnc::bench
