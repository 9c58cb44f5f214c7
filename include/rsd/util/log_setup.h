// The programs' logging: console and run-directory log file through spdlog, installed as the sink
// of rsd/util/logging.h. Rank 0 logs at the chosen level; other ranks only warnings and errors,
// prefixed with their rank, so that N processes do not print N copies of every line.
#pragma once

#include <string>

#include "rsd/util/logging.h"

namespace rsd::logging {

struct Options {
  Level level = Level::info;
  std::string file;   // also append to this file (rank 0 only); empty: console only
  int rank = 0;       // distributed rank; lines of other ranks are prefixed with it
  bool console = true;
};

/// (Re)configures the spdlog logger and makes it the library's sink. Safe to call more than once;
/// the last call wins.
void setup(const Options& options);

}  // namespace rsd::logging
