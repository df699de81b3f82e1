// A fixed-size thread pool running std::function tasks in FIFO order.
// Thread-safety: Submit and Wait may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nydus {

class ThreadPool {
 public:
  // `threads` == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads);
  ~ThreadPool();  // waits for queued tasks, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  // Blocks until every submitted task has finished.
  void Wait();
  size_t size() const { return workers_.size(); }

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  size_t active_ = 0;                        // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<std::thread> workers_;
};

// Runs fn(i) for i in [0, n) on `pool` and waits. Deterministic result placement is the
// caller's job (write to slot i).
void ParallelFor(ThreadPool& pool, size_t n, const std::function<void(size_t)>& fn);

}  // namespace nydus
