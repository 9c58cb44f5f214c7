// The `run:` section: settings every app applies before it does its work.
#pragma once

#include <cstdint>
#include <string>

#include "rsd/util/logging.h"

namespace rsd {

class Config;

struct RunOptions {
  std::string name;              // empty: derived from the config file name and the time
  std::string root = "runs";
  uint64_t seed = 42;
  bool deterministic = false;
  int num_threads = 0;           // 0: all cores
  logging::Level log_level = logging::Level::info;
  bool progress = true;
};

/// Reads `run:` from a resolved config; throws ConfigError on bad values.
RunOptions run_options_from(const Config& config);

/// The thread count `requested` stands for (0 or less: every core the process may use).
int resolve_num_threads(int requested);

/// Applies the process-wide part of `options`: intra-op threads (at::set_num_threads; Debian's
/// libtorch otherwise starts with one), OpenCV's own threads (off: the loader has its workers), the
/// seed and determinism. Returns the thread count set.
int apply_run_options(const RunOptions& options, int64_t rank = 0);

}  // namespace rsd

namespace rsd {

class RunDirectory;

/// Starts a run that writes files: opens run.root/run.name (a name derived from `config_path` and
/// the time when run.name is null, and recorded into the config), writes the resolved config to
/// config.yaml and sends the log to log.txt as well. `resume` reuses an existing folder.
RunDirectory start_run_directory(Config& config, const RunOptions& options,
                                 const std::string& config_path, bool resume);

}  // namespace rsd
