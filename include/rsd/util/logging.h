// Process-wide logging. The library logs through one logger (spdlog inside librsd); programs choose
// its level and sinks here. Rank 0 logs at the chosen level; other ranks only warnings and errors,
// so that N processes do not print N copies of every line.
#pragma once

#include <string>

namespace rsd::logging {

enum class Level { trace, debug, info, warn, error, critical, off };

/// "info" -> Level::info. Throws rsd::ConfigError listing the valid names.
Level parse_level(const std::string& name);
std::string level_name(Level level);

struct Options {
  Level level = Level::info;
  std::string file;   // also append to this file (rank 0 only); empty: console only
  int rank = 0;       // distributed rank; lines of other ranks are prefixed with it
  bool console = true;
};

/// (Re)configures the logger. Safe to call more than once; the last call wins.
void setup(const Options& options);
void set_level(Level level);
Level level();

void trace(const std::string& message);
void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

/// Writes buffered lines to the sinks (called before a process exits abnormally).
void flush();

}  // namespace rsd::logging
