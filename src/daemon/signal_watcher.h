// SignalWatcher: delivers termination signals (SIGINT, SIGTERM) to a callback on a dedicated
// thread, so the daemon's shutdown runs as ordinary code instead of inside a signal handler.
//
// Start() blocks the signals in the calling thread; threads created afterwards inherit that
// mask, so construct the watcher on the main thread BEFORE starting any other thread (FUSE
// workers, thread pools), otherwise one of those threads may take the signal with its default
// action. A watcher thread reads the signals from a signalfd and calls `callback(signo)` once
// per signal received. Destruction stops and joins the thread and restores the previous mask.
// Thread-safety: the callback runs on the watcher thread; it must be thread-safe with respect
// to whatever it touches.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "base/result.h"

namespace nydus::daemon {

class SignalWatcher {
 public:
  using Callback = std::function<void(int signo)>;

  // IOError when the mask, signalfd or wake-up eventfd cannot be set up.
  static Result<std::unique_ptr<SignalWatcher>> Start(const std::vector<int>& signals,
                                                      Callback callback);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  SignalWatcher(UniqueFd signal_fd, UniqueFd stop_fd, sigset_t old_mask, Callback callback);
  void Loop();

  UniqueFd signal_fd_;
  UniqueFd stop_fd_;  // eventfd written by the destructor
  sigset_t old_mask_;
  Callback callback_;
  std::thread thread_;
};

}  // namespace nydus::daemon
