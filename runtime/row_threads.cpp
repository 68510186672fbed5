#include "runtime/row_threads.h"

#include <algorithm>
#include <memory>

namespace rnnc::runtime {

RowThreads& RowThreads::shared() {
  static RowThreads team(std::max(0, static_cast<int>(std::thread::hardware_concurrency()) - 1));
  return team;
}

RowThreads::RowThreads(int helpers) {
  for (int i = 0; i < helpers; ++i) {
    helpers_.push_back(std::make_unique<Helper>());
    Helper& h = *helpers_.back();
    h.thread = std::thread([this, &h] { loop(h); });
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
    int part = 0;
    {
      std::unique_lock<std::mutex> lock(h.mutex);
      h.wake.wait(lock, [&] { return h.quit || h.work != nullptr; });
      if (h.quit) return;
      work = h.work;
      part = h.part;
      h.work = nullptr;
    }
    std::exception_ptr error;
    try {
      (*work)(part);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(done_mutex_);
    if (error) errors_[part] = error;
    if (--pending_ == 0) done_.notify_one();
  }
}

void RowThreads::run(int parts, const std::function<void(int)>& work) {
  if (parts <= 1) {
    if (parts == 1) work(0);
    return;
  }
  std::unique_lock<std::mutex> team(busy_, std::try_to_lock);
  const int posted = team.owns_lock() ? std::min(parts - 1, helpers()) : 0;
  std::vector<std::exception_ptr> errors(parts);
  if (posted > 0) {
    std::lock_guard<std::mutex> lock(done_mutex_);
    pending_ = posted;
    errors_.assign(parts, nullptr);
  }
  for (int i = 0; i < posted; ++i) {
    Helper& h = *helpers_[i];
    {
      std::lock_guard<std::mutex> lock(h.mutex);
      h.work = &work;
      h.part = i + 1;
    }
    h.wake.notify_one();
  }
  // What the helpers do not take runs on threads of its own.
  std::vector<std::thread> extra;
  for (int p = posted + 1; p < parts; ++p) {
    extra.emplace_back([&, p] {
      try {
        work(p);
      } catch (...) {
        errors[p] = std::current_exception();
      }
    });
  }
  try {
    work(0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : extra) t.join();
  if (posted > 0) {
    std::unique_lock<std::mutex> lock(done_mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    for (int p = 1; p <= posted; ++p) errors[p] = errors_[p];
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace rnnc::runtime
