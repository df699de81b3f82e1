// Progress display helpers for long-running commands: a bar and byte counts rendered as
// text, and StatusTicker, which keeps a status line (base/logging.h SetStatusLine) fresh from
// a render callback while it lives. On a non-terminal stderr the ticker does nothing, so
// logs and CI output stay plain lines.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace nydus {

// "[=========>          ]" with `width` cells inside the brackets; fraction clamped to [0, 1].
std::string RenderBar(double fraction, int width);

// Decimal units as registries show them: "512 B", "17.2 MB", "1.05 GB".
std::string HumanBytes(uint64_t n);

class StatusTicker {
 public:
  // Calls render() every `period` on a background thread and shows its result; starts only
  // when SetStatusLine works (stderr is a terminal). REQUIRES: render is thread-safe.
  explicit StatusTicker(std::function<std::string()> render,
                        std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~StatusTicker();  // stops the thread and erases the line
  StatusTicker(const StatusTicker&) = delete;
  StatusTicker& operator=(const StatusTicker&) = delete;

  bool active() const { return thread_.joinable(); }

 private:
  std::function<std::string()> render_;
  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace nydus
