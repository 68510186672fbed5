// How long a scan's second row range waits before it runs: a std::thread created while its parent goes
// straight on computing (the executor's old way, one thread per scan), against a parked thread woken
// through a condition variable (runtime/row_threads.h). Prints medians of 40 tries of each.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sched.h>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void busy_for(Clock::time_point start, std::chrono::milliseconds how_long) {
  while (Clock::now() < start + how_long) {
  }
}

void report(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%-44s median %8.1f us  p90 %8.1f us  max %8.1f us\n", what, v[v.size() / 2], v[v.size() * 9 / 10], v.back());
}

}  // namespace

int main() {
  constexpr int kTries = 40;
  std::vector<double> spawned, woken;
  int on_parent_cpu = 0;
  for (int i = 0; i < kTries; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const Clock::time_point start = Clock::now();
    std::atomic<double> started{-1};
    std::atomic<int> cpu{-1};
    std::thread t([&] {
      cpu = sched_getcpu();
      started = micros(Clock::now() - start);
    });
    const int parent_cpu = sched_getcpu();
    busy_for(start, std::chrono::milliseconds(5));  // the parent runs its own row range
    t.join();
    spawned.push_back(started);
    on_parent_cpu += cpu == parent_cpu;
  }

  std::mutex m;
  std::condition_variable cv;
  bool posted = false, quit = false;
  Clock::time_point start;
  std::atomic<double> started{-1};
  std::thread parked([&] {
    for (;;) {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return posted || quit; });
      if (quit) return;
      posted = false;
      started = micros(Clock::now() - start);
    }
  });
  for (int i = 0; i < kTries; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    started = -1;
    {
      std::lock_guard<std::mutex> lock(m);
      start = Clock::now();
      posted = true;
    }
    cv.notify_one();
    busy_for(start, std::chrono::milliseconds(5));
    while (started < 0) std::this_thread::yield();
    woken.push_back(started);
  }
  {
    std::lock_guard<std::mutex> lock(m);
    quit = true;
  }
  cv.notify_one();
  parked.join();

  report("new std::thread, parent busy: start after", spawned);
  std::printf("%-44s %d of %d\n", "  ... and started on the parent's CPU", on_parent_cpu, kTries);
  report("parked thread woken, caller busy: start after", woken);
}
