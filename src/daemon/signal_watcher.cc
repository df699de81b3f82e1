#include "daemon/signal_watcher.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "base/logging.h"

namespace nydus::daemon {

Result<std::unique_ptr<SignalWatcher>> SignalWatcher::Start(const std::vector<int>& signals,
                                                            Callback callback) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  sigset_t old_mask;
  int err = ::pthread_sigmask(SIG_BLOCK, &mask, &old_mask);
  if (err != 0) return Status::FromErrno(err, "pthread_sigmask");
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC));
  UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
  if (!sfd.valid() || !efd.valid()) {
    Status st = Status::FromErrno(errno, "signalfd/eventfd");
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return st;
  }
  std::unique_ptr<SignalWatcher> w(
      new SignalWatcher(std::move(sfd), std::move(efd), old_mask, std::move(callback)));
  w->thread_ = std::thread([p = w.get()] { p->Loop(); });
  return w;
}

SignalWatcher::SignalWatcher(UniqueFd signal_fd, UniqueFd stop_fd, sigset_t old_mask,
                             Callback callback)
    : signal_fd_(std::move(signal_fd)),
      stop_fd_(std::move(stop_fd)),
      old_mask_(old_mask),
      callback_(std::move(callback)) {}

SignalWatcher::~SignalWatcher() {
  uint64_t one = 1;
  if (::write(stop_fd_.get(), &one, sizeof(one)) != sizeof(one)) {
    LOG_ERROR("signal watcher: cannot wake the watcher thread: {}", errno);
  }
  if (thread_.joinable()) thread_.join();
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void SignalWatcher::Loop() {
  for (;;) {
    struct pollfd fds[2] = {{signal_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("signal watcher: poll failed (errno {}); signals are no longer handled", errno);
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    struct signalfd_siginfo info;
    ssize_t n = ::read(signal_fd_.get(), &info, sizeof(info));
    if (n != static_cast<ssize_t>(sizeof(info))) continue;
    callback_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace nydus::daemon
