#include "runtime/row_threads.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <system_error>

namespace rnnc::runtime {

namespace {
// Set while this thread runs parts of a team's run(): a run() from inside one (a part that itself
// splits) uses threads of its own instead of waiting for helpers that are busy with its caller.
thread_local bool t_in_run = false;

// Runs part p of `work` on this thread, its exception (if any) into errors[p].
void run_part(const std::function<void(int)>& work, int p, std::vector<std::exception_ptr>& errors) {
  const bool was_in_run = t_in_run;
  t_in_run = true;
  try {
    work(p);
  } catch (...) {
    errors[p] = std::current_exception();
  }
  t_in_run = was_in_run;
}
}  // namespace

RowThreads& RowThreads::shared() {
  static RowThreads team(std::max(0, static_cast<int>(std::thread::hardware_concurrency()) - 1));
  return team;
}

RowThreads::RowThreads(int helpers) : owner_(getpid()) {
  for (int i = 0; i < helpers; ++i) {
    auto h = std::make_unique<Helper>();
    try {
      h->thread = std::thread([this, raw = h.get()] { loop(*raw); });
    } catch (const std::system_error&) {
      break;  // fewer helpers: run() starts threads of its own for the rest, or runs them inline
    }
    helpers_.push_back(std::move(h));
  }
}

RowThreads::~RowThreads() {
  for (auto& h : helpers_) {
    {
      std::lock_guard<std::mutex> lock(h->mutex);
      h->quit = true;
    }
    h->wake.notify_one();
  }
  for (auto& h : helpers_) h->thread.join();
}

void RowThreads::loop(Helper& h) {
  for (;;) {
    const std::function<void(int)>* work = nullptr;
    std::vector<std::exception_ptr>* errors = nullptr;
    int part = 0;
    {
      std::unique_lock<std::mutex> lock(h.mutex);
      h.wake.wait(lock, [&] { return h.quit || h.work != nullptr; });
      if (h.work == nullptr) return;  // quit, and nothing posted (a posted part runs first)
      work = h.work;
      errors = h.errors;
      part = h.part;
      h.work = nullptr;
    }
    run_part(*work, part, *errors);  // its own slot: the caller reads it after done_ says so
    std::lock_guard<std::mutex> lock(done_mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void RowThreads::run(int parts, const std::function<void(int)>& work) {
  if (parts <= 1) {
    if (parts == 1) work(0);
    return;
  }
  // The helpers, unless another caller has them, this thread is already inside a run(), or this is a
  // forked child (where the helper threads of the parent do not exist).
  std::unique_lock<std::mutex> team(busy_, std::defer_lock);
  if (!t_in_run && getpid() == owner_) team.try_lock();
  const int posted = team.owns_lock() ? std::min(parts - 1, helpers()) : 0;
  std::vector<std::exception_ptr> errors(parts);
  if (posted > 0) {
    std::lock_guard<std::mutex> lock(done_mutex_);
    pending_ = posted;
  }
  for (int i = 0; i < posted; ++i) {
    Helper& h = *helpers_[i];
    {
      std::lock_guard<std::mutex> lock(h.mutex);
      h.work = &work;
      h.errors = &errors;
      h.part = i + 1;
    }
    h.wake.notify_one();
  }
  // What the helpers do not take runs on threads of its own (or here, after part 0, if none starts).
  std::vector<std::thread> extra;
  std::vector<int> inline_parts;
  for (int p = posted + 1; p < parts; ++p) {
    try {
      extra.emplace_back([&, p] { run_part(work, p, errors); });
    } catch (const std::system_error&) {
      inline_parts.push_back(p);
    }
  }
  run_part(work, 0, errors);
  for (int p : inline_parts) run_part(work, p, errors);
  for (std::thread& t : extra) t.join();
  if (posted > 0) {
    std::unique_lock<std::mutex> lock(done_mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace rnnc::runtime
