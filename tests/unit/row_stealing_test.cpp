#include "runtime/row_stealing.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace rnnc::runtime {
namespace {

using Claim = RowStealing::Claim;

// Waits until `n` parts wait in next() without a grant (what keep() looks at). After 10 s it fails and
// stops `s`, which releases any part still in next(): the caller's join() then returns and the test
// fails, rather than hanging.
void until_waiting(RowStealing& s, int n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s.waiting() < n) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << n << " part(s) never waited for rows";
      s.stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Part `taker` waits in next() until part `giver`, about to run `chunk` on rows [first, first + rows),
// hands it some: the rows the giver keeps, and what the taker gets.
std::pair<int, Claim> hand_over(RowStealing& s, int taker, int giver, int chunk, int first, int rows) {
  Claim taken;
  std::thread waiting([&] { taken = s.next(taker); });
  until_waiting(s, 1);
  const int kept = s.keep(giver, chunk, first, rows);
  waiting.join();
  return {kept, taken};
}

// Nobody waits: a part keeps all its rows, and nothing is counted.
TEST(RowStealing, NobodyWaitingKeepsEveryRow) {
  RowStealing s({{0, 30}, {30, 34}}, 200, 6, true);
  EXPECT_EQ(s.keep(1, 0, 30, 34), 34);
  EXPECT_EQ(s.keep(1, 100, 30, 34), 34);
  EXPECT_EQ(s.steals(), 0);
}

// S's split: part 0 has run its 30 rows and waits; part 1, at chunk 170 of 200, hands over the last
// three of its six tiles (rows 48-63, the 4-row partial tile among them) from that chunk on, and keeps
// rows 30-47. Part 0 then takes nothing more once part 1 has finished too.
TEST(RowStealing, AWaitingPartTakesTheLastHalfOfTheTilesFromTheNextChunk) {
  RowStealing s({{0, 30}, {30, 34}}, 200, 6, true);
  EXPECT_EQ(s.start(0).rows, 30);
  EXPECT_EQ(s.start(1).first, 30);
  const auto [kept, taken] = hand_over(s, 0, 1, 170, 30, 34);
  EXPECT_EQ(kept, 18);
  EXPECT_EQ(taken.first, 48);
  EXPECT_EQ(taken.rows, 16);
  EXPECT_EQ(taken.chunk, 170);
  EXPECT_EQ(s.steals(), 1);
  // Both finish: the first to ask again gets nothing once the other has asked too.
  Claim last0, last1;
  std::thread a([&] { last0 = s.next(0); });
  std::thread b([&] { last1 = s.next(1); });
  a.join();
  b.join();
  EXPECT_EQ(last0.rows, 0);
  EXPECT_EQ(last1.rows, 0);
}

// No hand-over of a single tile, in the last chunk, where the ranges are not on tile boundaries, or
// when stealing is off.
TEST(RowStealing, NothingIsHandedOverWhereItCannotPay) {
  RowStealing s({{0, 30}, {30, 34}}, 200, 6, true);
  s.start(0);
  s.start(1);
  std::thread thief([&] { s.next(0); });
  until_waiting(s, 1);
  EXPECT_EQ(s.keep(1, 150, 30, 6), 6);    // one tile
  EXPECT_EQ(s.keep(1, 150, 30, 4), 4);    // one partial tile
  EXPECT_EQ(s.keep(1, 199, 30, 34), 34);  // the last chunk
  EXPECT_EQ(s.steals(), 0);
  s.next(1);  // part 1 finishes: the thief gets nothing
  thief.join();

  // Off, or ranges not on tile boundaries: a part that has run its rows takes nothing and does not wait.
  RowStealing unaligned({{0, 5}, {5, 5}}, 9, 12, true);
  RowStealing off({{0, 30}, {30, 34}}, 200, 6, false);
  for (RowStealing* r : {&unaligned, &off}) {
    r->start(0);
    r->start(1);
    EXPECT_EQ(r->next(0).rows, 0);
  }
  EXPECT_EQ(unaligned.keep(1, 0, 5, 5), 5);
  EXPECT_EQ(off.keep(1, 0, 30, 34), 34);
}

// A part that runs out of rows before another part has started runs that part's whole range (RowThreads
// may run it later on the same thread, or start its thread late); that part then gets nothing.
TEST(RowStealing, APartThatHasNotStartedLosesItsWholeRange) {
  RowStealing s({{0, 30}, {30, 34}}, 200, 6, true);
  EXPECT_EQ(s.start(0).rows, 30);
  const Claim taken = s.next(0);
  EXPECT_EQ(taken.first, 30);
  EXPECT_EQ(taken.rows, 34);
  EXPECT_EQ(taken.chunk, 0);
  EXPECT_EQ(s.ranges_taken(), 1);
  EXPECT_EQ(s.start(1).rows, 0);
  // Part 1 then waits for rows like any part that has run out: part 0 hands it half of the range.
  const auto [kept, handed] = hand_over(s, 1, 0, 10, 30, 34);
  EXPECT_EQ(kept, 18);
  EXPECT_EQ(handed.first, 48);
  EXPECT_EQ(handed.chunk, 10);
  std::thread a([&] { s.next(0); });
  s.next(1);
  a.join();
}

// A part that failed stops the hand-overs: a waiting part returns with nothing.
TEST(RowStealing, StopReleasesWaitingParts) {
  RowStealing s({{0, 6}, {6, 6}, {12, 24}}, 10, 6, true);
  for (int p = 0; p < 3; ++p) s.start(p);
  Claim taken{1, 1, 1};
  std::thread thief([&] { taken = s.next(0); });
  until_waiting(s, 1);
  s.stop();
  thief.join();
  EXPECT_EQ(taken.rows, 0);
  EXPECT_EQ(s.keep(2, 3, 12, 24), 24);
}

}  // namespace
}  // namespace rnnc::runtime
