// Logging through spdlog (the only place that includes it). Messages go to stderr, or to
// the file given by InitLogging. Never log credentials.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "base/status.h"

namespace nydus {

// level: trace|debug|info|warn|error. log_file: empty for stderr.
Status InitLogging(const std::string& level, const std::string& log_file);

// stderr is a terminal (and TERM is not "dumb").
bool StderrIsTerminal();

// Shows `line` as a status line at the bottom of the terminal (log lines appear above it);
// "" erases it. Only when InitLogging logs to a terminal; returns false (and does nothing)
// otherwise. Thread-safe.
bool SetStatusLine(std::string line);

}  // namespace nydus

#define LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
