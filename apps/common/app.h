// What every rsd_* app shares: config flags, logging set-up and the mapping of failures to exit
// codes (0 success, 1 runtime error, 2 usage or config error).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/pipeline/process.h"

namespace rsd::app {

enum ExitCode : int { kSuccess = 0, kRuntimeError = 1, kUsageError = 2 };

/// Flags of the apps that read a config.
struct ConfigFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::string log_level;   // empty: run.log_level of the config
  bool print_config = false;
};

/// Adds --config FILE, --set key=value (repeatable), --log-level and --print-config.
void add_config_flags(CLI::App& app, ConfigFlags& flags, bool config_required = true);

struct LoadedConfig {
  Config config;
  pipeline::RunOptions run;
  int threads = 0;
};

/// Loads and checks the config, applies --log-level or run.log_level, then the run options
/// (threads, seed). Throws ConfigError naming the file or key at fault.
LoadedConfig load_config(const ConfigFlags& flags);

/// Adds --version and the exit-code footer to a new app.
void describe(CLI::App& app);

/// Parses argv, then runs `body`; returns the exit code. Failures print one line
/// "<app>: error: <what>" to stderr.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace rsd::app
