#include "rsd/util/log_setup.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "rsd/util/error.h"

namespace rsd::logging {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::critical: return spdlog::level::critical;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::mutex setup_mutex;

}  // namespace

void setup(const Options& options) {
  std::lock_guard<std::mutex> lock(setup_mutex);
  // The library filters by logging::level(), which set_level() may change later; the sinks pass
  // everything except where a sink has its own floor (other ranks' consoles).
  std::vector<spdlog::sink_ptr> sinks;
  const std::string rank_tag = options.rank == 0 ? "" : "[rank " + std::to_string(options.rank) + "] ";
  if (options.console) {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[%H:%M:%S.%e] [%^%l%$] " + rank_tag + "%v");
    console->set_level(options.rank == 0 ? spdlog::level::trace : spdlog::level::warn);
    sinks.push_back(console);
  }
  if (!options.file.empty() && options.rank == 0) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
      file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw Error("cannot open log file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("rsd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);

  Sink sink;
  sink.write = [logger](Level level, const std::string& message) {
    logger->log(to_spdlog(level), message);
  };
  sink.flush = [logger] { logger->flush(); };
  set_sink(std::move(sink));
  set_level(options.level);
}

}  // namespace rsd::logging
