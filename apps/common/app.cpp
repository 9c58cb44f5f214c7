#include "common/app.h"

#include <c10/util/Exception.h>

#include <iostream>

#include "rsd/util/error.h"
#include "rsd/util/log_setup.h"
#include "rsd/version.h"

namespace rsd::app {

void add_config_flags(CLI::App& app, ConfigFlags& flags, bool config_required) {
  auto* config = app.add_option("-c,--config", flags.config, "YAML config file (see configs/)");
  if (config_required) config->required();
  app.add_option("--set", flags.overrides,
                 "override a config key, typed by the value it replaces: --set train.lr=2e-4 "
                 "(repeatable)")
      ->take_all();
  app.add_option("--log-level", flags.log_level,
                 "trace, debug, info, warn, error, critical or off (default: run.log_level)");
  app.add_flag("--print-config", flags.print_config,
               "print the resolved config (defaults, _base_ chain, overrides) and exit");
}

LoadedConfig load_config(const ConfigFlags& flags) {
  LoadedConfig loaded;
  loaded.config = Config::load(flags.config, flags.overrides);
  loaded.run = pipeline::run_options_from(loaded.config);
  if (!flags.log_level.empty()) {
    loaded.run.log_level = logging::parse_level(flags.log_level);
    loaded.config.set("run.log_level", flags.log_level, "--log-level");
  }
  logging::set_level(loaded.run.log_level);
  loaded.threads = pipeline::apply_run_options(loaded.run);
  return loaded;
}

void describe(CLI::App& app) {
  app.set_version_flag("--version", build_summary());
  app.footer("Exit status: 0 success, 1 runtime error, 2 usage or config error.\n"
             "Documentation: docs/ in the librsd source tree.");
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  logging::setup({});
  const std::string name = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here with exit code 0.
    const int code = app.exit(e);
    return code == 0 ? kSuccess : kUsageError;
  }
  try {
    return body();
  } catch (const ConfigError& e) {
    std::cerr << name << ": error: " << e.what() << std::endl;
    return kUsageError;
  } catch (const Error& e) {
    std::cerr << name << ": error: " << e.what() << std::endl;
  } catch (const c10::Error& e) {
    std::cerr << name << ": error: " << e.what_without_backtrace() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << name << ": error: " << e.what() << std::endl;
  }
  logging::flush();
  return kRuntimeError;
}

}  // namespace rsd::app
