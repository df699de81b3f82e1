// ThreadPool: workers pop tasks FIFO from one mutex-guarded deque.
#include "base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

namespace nydus {

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && active_ == 0; });
}

// Workers drain the queue even after stop_ is set: the destructor promises that queued
// tasks run before it returns.
void ThreadPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++active_;
    lock.unlock();
    task();
    task = nullptr;  // destroy captures outside the lock, before reporting idle
    lock.lock();
    --active_;
    if (queue_.empty() && active_ == 0) idle_cv_.notify_all();
  }
}

namespace {

// Shared by the caller and the helper tasks of one ParallelFor. Helpers that start after
// every index was claimed touch only this state, never `fn`, so the caller may return as
// soon as all indices are done even while such helpers are still queued.
struct ForState {
  ForState(size_t count, const std::function<void(size_t)>* f) : n(count), fn(f) {}
  const size_t n;
  const std::function<void(size_t)>* const fn;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;  // guarded by mu

  // Claims and runs indices until none is left.
  void Drain() {
    size_t ran = 0;
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      (*fn)(i);
      ++ran;
    }
    if (ran == 0) return;
    std::lock_guard<std::mutex> lock(mu);
    done += ran;
    if (done == n) cv.notify_all();
  }
};

}  // namespace

// The caller works too, so a ParallelFor issued from inside a pool task cannot deadlock
// waiting for workers that are all busy.
void ParallelFor(ThreadPool& pool, size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  auto state = std::make_shared<ForState>(n, &fn);
  const size_t helpers = std::min(pool.size(), n - 1);
  for (size_t i = 0; i < helpers; ++i) {
    pool.Submit([state] { state->Drain(); });
  }
  state->Drain();
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->done == n; });
}

}  // namespace nydus
