#include "daemon/signal_watcher.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

bool Blocked(int signo) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  return sigismember(&cur, signo) == 1;
}

TEST(SignalWatcherTest, DeliversProcessSignalsToTheCallback) {
  ASSERT_FALSE(Blocked(SIGUSR1));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> got;
  {
    ASSERT_OK_AND_ASSIGN(auto watcher, SignalWatcher::Start({SIGUSR1, SIGUSR2}, [&](int s) {
                           std::lock_guard<std::mutex> lock(mu);
                           got.push_back(s);
                           cv.notify_all();
                         }));
    EXPECT_TRUE(Blocked(SIGUSR1));
    EXPECT_TRUE(Blocked(SIGUSR2));
    // Process-directed, as kill(1) sends them; the default action (terminate) must not run.
    ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() == 1; }));
    }
    ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() == 2; }));
  }
  EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGUSR2}));
  // Destruction stopped the thread and restored the mask.
  EXPECT_FALSE(Blocked(SIGUSR1));
  EXPECT_FALSE(Blocked(SIGUSR2));
}

TEST(SignalWatcherTest, StopsWithoutSignals) {
  int calls = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto watcher, SignalWatcher::Start({SIGUSR1}, [&](int) { ++calls; }));
  }
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(Blocked(SIGUSR1));
}

}  // namespace
}  // namespace nydus::daemon
