#include "rsd/util/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <mutex>

#include "rsd/util/error.h"

namespace rsd::logging {
namespace {

constexpr std::array<std::pair<const char*, Level>, 7> kLevels{{{"trace", Level::trace},
                                                                 {"debug", Level::debug},
                                                                 {"info", Level::info},
                                                                 {"warn", Level::warn},
                                                                 {"error", Level::error},
                                                                 {"critical", Level::critical},
                                                                 {"off", Level::off}}};

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
Options current_options;

}  // namespace

Level parse_level(const std::string& name) {
  std::string valid;
  for (const auto& [text, level] : kLevels) {
    if (name == text) return level;
    valid += valid.empty() ? text : std::string(", ") + text;
  }
  throw ConfigError("unknown log level '" + name + "' (valid: " + valid + ")");
}

std::string level_name(Level level) {
  for (const auto& [text, value] : kLevels) {
    if (value == level) return text;
  }
  return "?";
}

namespace {

void setup_locked(const Options& options) {
  std::vector<spdlog::sink_ptr> sinks;
  const std::string rank_tag = options.rank == 0 ? "" : "[rank " + std::to_string(options.rank) + "] ";
  if (options.console) {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[%H:%M:%S.%e] [%^%l%$] " + rank_tag + "%v");
    // Other ranks report only what needs attention.
    console->set_level(options.rank == 0 ? to_spdlog(options.level) : spdlog::level::warn);
    sinks.push_back(console);
  }
  if (!options.file.empty() && options.rank == 0) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
      file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
      file->set_level(to_spdlog(options.level));
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw Error("cannot open log file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("rsd", sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  current_options = options;
}

}  // namespace

void setup(const Options& options) {
  std::lock_guard<std::mutex> lock(setup_mutex);
  setup_locked(options);
}

void set_level(Level level) {
  std::lock_guard<std::mutex> lock(setup_mutex);
  Options options = current_options;
  options.level = level;
  setup_locked(options);
}

Level level() {
  std::lock_guard<std::mutex> lock(setup_mutex);
  return current_options.level;
}

void trace(const std::string& message) { spdlog::trace(message); }
void debug(const std::string& message) { spdlog::debug(message); }
void info(const std::string& message) { spdlog::info(message); }
void warn(const std::string& message) { spdlog::warn(message); }
void error(const std::string& message) { spdlog::error(message); }
void flush() { spdlog::default_logger()->flush(); }

}  // namespace rsd::logging
