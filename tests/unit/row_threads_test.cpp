// The scans' thread team (runtime/row_threads.h): every part runs exactly once, on as many threads as
// it may, errors come back to the caller, and a second caller while the team is busy still finishes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/row_threads.h"

namespace rnnc::runtime {
namespace {

TEST(RowThreads, RunsEveryPartOnceAndPartZeroOnTheCaller) {
  RowThreads team(2);
  for (int parts : {1, 2, 3, 7}) {
    std::vector<std::atomic<int>> runs(parts);
    std::thread::id part0;
    team.run(parts, [&](int p) {
      runs[p]++;
      if (p == 0) part0 = std::this_thread::get_id();
    });
    for (int p = 0; p < parts; ++p) EXPECT_EQ(runs[p].load(), 1) << "part " << p << " of " << parts;
    EXPECT_EQ(part0, std::this_thread::get_id());
  }
}

TEST(RowThreads, PartsRunAtTheSameTime) {
  // Each part waits (up to 10 s) for all the others to start: parts run one after another would not see
  // the later ones start.
  RowThreads team(2);
  const int parts = 3;
  std::atomic<int> started{0}, saw_all{0};
  team.run(parts, [&](int) {
    started++;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < parts && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (started.load() == parts) saw_all++;
  });
  EXPECT_EQ(saw_all.load(), parts);
}

TEST(RowThreads, RethrowsAPartsErrorAfterAllPartsFinished) {
  RowThreads team(1);
  for (int failing : {0, 1, 2}) {
    std::atomic<int> finished{0};
    try {
      team.run(3, [&](int p) {
        if (p == failing) throw std::runtime_error("part " + std::to_string(p) + " failed");
        finished++;
      });
      FAIL() << "no error from part " << failing;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "part " + std::to_string(failing) + " failed");
    }
    EXPECT_EQ(finished.load(), 2);
  }
  // And the team still works afterwards.
  std::atomic<int> runs{0};
  team.run(2, [&](int) { runs++; });
  EXPECT_EQ(runs.load(), 2);
}

// A second caller while the first holds the helpers runs its parts on threads of its own: here the
// first caller's part 0 waits for the second caller to finish, which it could not if the second waited
// for the helpers.
TEST(RowThreads, ASecondCallerDoesNotWaitForTheFirstsHelpers) {
  RowThreads team(1);
  std::atomic<bool> second_done{false};
  std::atomic<int> second_runs{0};
  bool saw_second_done = false;
  team.run(2, [&](int p) {
    if (p != 0) return;
    std::thread second([&] {
      team.run(2, [&](int) { second_runs++; });
      second_done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!second_done && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    saw_second_done = second_done;
    second.join();
  });
  EXPECT_TRUE(saw_second_done);
  EXPECT_EQ(second_runs.load(), 2);
}

// A part that splits again (on the caller or on a helper) gets threads of its own.
TEST(RowThreads, APartMaySplitAgain) {
  RowThreads team(1);
  std::atomic<int> inner{0};
  team.run(2, [&](int) { team.run(3, [&](int) { inner++; }); });
  EXPECT_EQ(inner.load(), 2 * 3);
}

// In a forked child the parent's helper threads do not exist: the child's runs use threads of its own.
TEST(RowThreads, RunsInAForkedChild) {
  RowThreads& team = RowThreads::shared();
  std::atomic<int> runs{0};
  team.run(2, [&](int) { runs++; });  // the helpers exist (in this process)
  ASSERT_EQ(runs.load(), 2);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(10);  // a hang fails the test instead of blocking it
    std::atomic<int> child_runs{0};
    RowThreads::shared().run(2, [&](int) { child_runs++; });
    _exit(child_runs.load() == 2 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

TEST(RowThreads, CallersOnTwoThreadsBothFinish) {
  RowThreads team(1);
  std::atomic<int> runs{0};
  auto caller = [&] {
    for (int i = 0; i < 200; ++i) team.run(2, [&](int) { runs++; });
  };
  std::thread other(caller);
  caller();
  other.join();
  EXPECT_EQ(runs.load(), 2 * 200 * 2);
}

}  // namespace
}  // namespace rnnc::runtime
