#include "base/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace nydus {

Status InitLogging(const std::string& level, const std::string& log_file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + level +
                                   "' (use trace, debug, info, warn or error)");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (log_file.empty()) {
      logger = spdlog::stderr_color_mt("nydus");
    } else {
      logger = spdlog::basic_logger_mt("nydus", log_file);
    }
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%f %z] %^%l%$ %v");
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError(std::string("cannot set up logging: ") + e.what());
  }
  return Status::OK();
}

}  // namespace nydus
