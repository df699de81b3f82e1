#include "base/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>

namespace nydus {

namespace {

// stderr with a status line (SetStatusLine): each log line first erases the status line,
// then prints, then draws it again below, so progress stays at the bottom of the terminal.
class StatusLineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StatusLineSink() : inner_(std::make_shared<spdlog::sinks::stderr_color_sink_st>()) {}

  void SetStatus(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (line == status_) return;
    status_ = std::move(line);
    std::fputs("\r\033[K", stderr);
    std::fputs(status_.c_str(), stderr);
    std::fflush(stderr);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!status_.empty()) std::fputs("\r\033[K", stderr);
    inner_->log(msg);
    inner_->flush();
    if (!status_.empty()) {
      std::fputs(status_.c_str(), stderr);
      std::fflush(stderr);
    }
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  std::shared_ptr<spdlog::sinks::stderr_color_sink_st> inner_;
  std::string status_;  // guarded by mutex_
};

std::mutex g_status_mu;
std::shared_ptr<StatusLineSink> g_status_sink;  // set when logging to a terminal

}  // namespace

Status InitLogging(const std::string& level, const std::string& log_file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + level +
                                   "' (use trace, debug, info, warn or error)");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (!log_file.empty()) {
      logger = spdlog::basic_logger_mt("nydus", log_file);
    } else if (StderrIsTerminal()) {
      auto sink = std::make_shared<StatusLineSink>();
      logger = std::make_shared<spdlog::logger>("nydus", sink);
      spdlog::register_logger(logger);
      std::lock_guard<std::mutex> lock(g_status_mu);
      g_status_sink = sink;
    } else {
      logger = spdlog::stderr_color_mt("nydus");
    }
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%f %z] %^%l%$ %v");
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError(std::string("cannot set up logging: ") + e.what());
  }
  return Status::OK();
}

bool StderrIsTerminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDERR_FILENO) == 1 && !(term && std::string(term) == "dumb");
}

bool SetStatusLine(std::string line) {
  std::shared_ptr<StatusLineSink> sink;
  {
    std::lock_guard<std::mutex> lock(g_status_mu);
    sink = g_status_sink;
  }
  if (!sink) return false;
  sink->SetStatus(std::move(line));
  return true;
}

}  // namespace nydus
