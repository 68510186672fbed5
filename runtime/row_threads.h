// Threads for the row ranges of a scan (compiled_executor.cpp): parked between scans, woken per scan.
//
// Why not a std::thread per range, as before: on this 2-vCPU VM (Linux 6.18) a thread created while its
// parent goes straight on computing mostly starts on the parent's CPU and waits there, a median 2.1 ms
// (bench/thread_start_bench.cpp), and the scan waits for its late range; in rnnc-bench's scans the
// second range started 0.1-0.6 ms late. A parked thread woken through a condition variable starts in
// about 4 us.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rnnc::runtime {

class RowThreads {
 public:
  // The team shared by every executor of the process, with hardware_concurrency() - 1 helpers.
  static RowThreads& shared();

  explicit RowThreads(int helpers);
  ~RowThreads();
  RowThreads(const RowThreads&) = delete;
  RowThreads& operator=(const RowThreads&) = delete;

  // Runs work(0) … work(parts - 1), part 0 on the calling thread, and returns when all have finished;
  // rethrows the first part's exception, if any. Parts beyond the helpers, or a call while the team is
  // busy with another caller's parts (two executors on two threads), from inside a part, or in a forked
  // child, run on threads of their own (or on the caller, where no thread can be started).
  void run(int parts, const std::function<void(int)>& work);

  int helpers() const { return static_cast<int>(helpers_.size()); }

 private:
  struct Helper {
    std::thread thread;
    std::mutex mutex;
    std::condition_variable wake;
    const std::function<void(int)>* work = nullptr;  // set while a part is posted
    std::vector<std::exception_ptr>* errors = nullptr;  // the caller's, by part
    int part = 0;
    bool quit = false;
  };
  void loop(Helper& h);

  std::vector<std::unique_ptr<Helper>> helpers_;
  int owner_;        // the process whose threads the helpers are
  std::mutex busy_;  // held by the caller whose parts the helpers run
  // Parts still running on helpers; the caller waits on `done_` for zero.
  std::mutex done_mutex_;
  std::condition_variable done_;
  int pending_ = 0;
};

}  // namespace rnnc::runtime
