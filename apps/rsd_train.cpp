// rsd_train: joint training of the E2E model with the risk distillation loss.
#include <iostream>

#include "common/app.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "rsd/util/run_directory.h"

int main(int argc, char** argv) {
  CLI::App app("Train an end-to-end driving model with risk semantic distillation.", "rsd_train");
  rsd::app::describe(app);
  rsd::app::ConfigFlags flags;
  bool resume = false;
  bool dry_run = false;
  rsd::app::add_config_flags(app, flags);
  app.add_flag("--resume", resume, "continue the run named by run.name from its last checkpoint");
  app.add_flag("--dry-run", dry_run,
               "check the config, create the run directory with its config.yaml, then stop");

  return rsd::app::run(app, argc, argv, [&] {
    auto loaded = rsd::app::load_config(flags);
    if (flags.print_config) {
      std::cout << loaded.config.to_yaml();
      return 0;
    }
    const auto directory =
        rsd::start_run_directory(loaded.config, loaded.run, flags.config, resume);
    rsd::logging::info("intra-op threads: " + std::to_string(loaded.threads));
    if (dry_run) return 0;
    throw rsd::Error("the trainer is not part of this build yet; rsd_train supports --dry-run and "
                     "--print-config (run directory " + directory.path() + ")");
  });
}
