// Logging of the library. Messages go through one process-wide sink (a callback, as in ggml's
// log callback), so that rsd::core needs no logging library: by default lines at warn and above go
// to stderr. The full library installs an spdlog-backed sink (rsd/util/log_setup.h); a program
// embedding rsd::core may install its own with set_sink().
#pragma once

#include <functional>
#include <string>

namespace rsd::logging {

enum class Level { trace, debug, info, warn, error, critical, off };

/// "info" -> Level::info. Throws rsd::ConfigError listing the valid names.
Level parse_level(const std::string& name);
std::string level_name(Level level);

/// Receives every message at or above level(); may be called from several threads at once.
struct Sink {
  std::function<void(Level level, const std::string& message)> write;
  std::function<void()> flush;  // may be empty
};

/// Replaces the sink (a sink without `write` restores the default stderr sink).
void set_sink(Sink sink);

/// Messages below `level` are dropped before they reach the sink. Default: info.
void set_level(Level level);
Level level();

void trace(const std::string& message);
void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

/// Writes buffered lines to the sink's outputs (called before a process exits abnormally).
void flush();

}  // namespace rsd::logging
