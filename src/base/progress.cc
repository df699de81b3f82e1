#include "base/progress.h"

#include <algorithm>
#include <cstdio>

#include "base/logging.h"

namespace nydus {

std::string RenderBar(double fraction, int width) {
  if (width < 1) width = 1;
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  const int full = static_cast<int>(fraction * width);
  std::string bar = "[";
  bar.append(static_cast<size_t>(full), '=');
  if (full < width) {
    bar += '>';
    bar.append(static_cast<size_t>(width - full - 1), ' ');
  }
  bar += ']';
  return bar;
}

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"kB", "MB", "GB", "TB", "PB"};
  if (n < 1000) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1000 && unit < 4) {
    v /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v,
                kUnits[unit]);
  return buf;
}

StatusTicker::StatusTicker(std::function<std::string()> render, std::chrono::milliseconds period)
    : render_(std::move(render)), period_(period) {
  if (!SetStatusLine(render_())) return;  // not a terminal: no status line at all
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
      lock.unlock();
      SetStatusLine(render_());
      lock.lock();
    }
  });
}

StatusTicker::~StatusTicker() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  SetStatusLine("");
}

}  // namespace nydus
